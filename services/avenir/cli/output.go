package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// field is one row of a two-column table.
type field struct{ name, value string }

// print writes msg as JSON (protobuf JSON mapping, field names as in the
// .proto files) or as a two-column table of rows.
func (f *clientFlags) print(w io.Writer, msg proto.Message, rows []field) error {
	if f.output == "json" {
		return printJSON(w, msg)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.name, r.value)
	}
	return tw.Flush()
}

// protoJSON is msg in the protobuf JSON mapping, field names as in the
// .proto files.
func protoJSON(msg proto.Message) (json.RawMessage, error) {
	return protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
}

// printJSON writes msg as indented JSON.
func printJSON(w io.Writer, msg proto.Message) error {
	b, err := protoJSON(msg)
	if err != nil {
		return err
	}
	return writeJSON(w, b)
}

// writeJSON writes v (a json.RawMessage or any value encoding/json takes)
// indented, then a newline.
func writeJSON(w io.Writer, v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

// listTable prints rows as aligned columns, the first being the header,
// then the next page token, if any.
func listTable(w io.Writer, rows [][]string, nextPageToken string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if nextPageToken != "" {
		_, err := fmt.Fprintf(w, "NEXT PAGE TOKEN: %s\n", nextPageToken)
		return err
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dateString is a date as YYYY-MM-DD, "" for none.
func dateString(d *commonv1.Date) string {
	if d == nil {
		return ""
	}
	return civilpb.Date(d).String()
}

// monthString is a month as YYYY-MM, "" for none.
func monthString(m *commonv1.Month) string {
	if m == nil {
		return ""
	}
	return civilpb.Month(m).String()
}

// parisTime is an instant in Paris, to the second.
func parisTime(ts *timestamppb.Timestamp) string {
	return ts.AsTime().In(civil.Paris).Format("2006-01-02 15:04:05")
}

// period is "from to to", or one day.
func period(from, to *commonv1.Date) string {
	if dateString(from) == dateString(to) {
		return dateString(from)
	}
	return dateString(from) + " to " + dateString(to)
}

// countString is a count of people: "<5" when it is withheld (the rule of
// small counts, for every role but admin).
func countString(c *commonv1.Count) string { return peopleString(c.GetValue(), c.GetFewerThanFive()) }

// peopleString is n people, "<5" when fewerThanFive (the count withheld).
func peopleString(n int32, fewerThanFive bool) string {
	if fewerThanFive {
		return "<5"
	}
	return fmt.Sprint(n)
}

// rateString is a rate per mille computed from counts: "-" when any of
// them is withheld, the rate would give it back (the server answers 0).
func rateString(n int32, from ...*commonv1.Count) string {
	for _, c := range from {
		if c.GetFewerThanFive() {
			return "-"
		}
	}
	return perMilleString(n)
}
