package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// territoryAnswer is one territory's answer ("" for the API's default
// scope), or why there is none.
type territoryAnswer[R proto.Message] struct {
	code    string
	several bool // several territories were asked
	resp    R
	err     error
}

// eachTerritory serves the commands whose API takes one territory: it
// calls call once per territory of codes, in the order given (once with ""
// when none is given: the API's default), and prints the answers together.
//
// With one call, the answer is printed as the API gives it (JSON), or by
// table. With several, the JSON is one document, {"territories":
// [{"territory_code": …, "answer": {…}} or {"territory_code": …,
// "error": {"code": …, "message": …}}]}, and the table is what table makes
// of the answers that came. A territory whose call failed leaves the
// others printed and makes the result incomplete (exit 1); a next page
// continues one territory, so --page-token with several is a usage error.
func eachTerritory[R proto.Message](ctx context.Context, w io.Writer, f *clientFlags, codes []string, pageToken string,
	call func(ctx context.Context, code string) (R, error), table func(w io.Writer, answers []territoryAnswer[R]) error) error {
	codes = territories(codes)
	if len(codes) > 1 && pageToken != "" {
		return usageError{errors.New("--page-token continues the list of one territory: give a single --territory with it")}
	}
	if len(codes) <= 1 {
		code := ""
		if len(codes) == 1 {
			code = codes[0]
		}
		resp, err := call(ctx, code)
		if err != nil {
			return err
		}
		if f.output == "json" {
			return printJSON(w, resp)
		}
		return table(w, []territoryAnswer[R]{{code: code, resp: resp}})
	}
	answers := make([]territoryAnswer[R], 0, len(codes))
	var came []territoryAnswer[R]
	var failed []string
	for _, code := range codes {
		resp, err := call(ctx, code)
		answers = append(answers, territoryAnswer[R]{code: code, several: true, resp: resp, err: err})
		if err != nil {
			failed = append(failed, code+": "+errorLine(err))
			continue
		}
		came = append(came, answers[len(answers)-1])
	}
	var err error
	if f.output == "json" {
		err = printTerritoryJSON(w, answers)
	} else {
		err = table(w, came)
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("incomplete: %d of %d territories not answered:\n  %s", len(failed), len(codes), strings.Join(failed, "\n  "))
	}
	return nil
}

// printTerritoryJSON writes the answers of several territories as one
// JSON document.
func printTerritoryJSON[R proto.Message](w io.Writer, answers []territoryAnswer[R]) error {
	type failure struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	type entry struct {
		TerritoryCode string          `json:"territory_code"`
		Answer        json.RawMessage `json:"answer,omitempty"`
		Error         *failure        `json:"error,omitempty"`
	}
	doc := struct {
		Territories []entry `json:"territories"`
	}{}
	for _, a := range answers {
		e := entry{TerritoryCode: a.code}
		if a.err != nil {
			st, _ := status.FromError(a.err)
			e.Error = &failure{Code: st.Code().String(), Message: st.Message()}
		} else {
			b, err := protoJSON(a.resp)
			if err != nil {
				return err
			}
			e.Answer = b
		}
		doc.Territories = append(doc.Territories, e)
	}
	return writeJSON(w, doc)
}

// listAnswers prints the items of the answers as one table, an item
// (named by its first column) listed by several territories once, then
// the next page tokens: with several territories, each says which one it
// continues.
func listAnswers[R proto.Message](w io.Writer, answers []territoryAnswer[R], header []string,
	rows func(R) [][]string, next func(R) string) error {
	all := [][]string{header}
	seen := map[string]bool{}
	var tokens []string
	for _, a := range answers {
		for _, r := range rows(a.resp) {
			if !seen[r[0]] {
				seen[r[0]] = true
				all = append(all, r)
			}
		}
		if t := next(a.resp); t != "" {
			if a.several {
				tokens = append(tokens, fmt.Sprintf("NEXT PAGE TOKEN (--territory %s): %s", a.code, t))
			} else {
				tokens = append(tokens, "NEXT PAGE TOKEN: "+t)
			}
		}
	}
	if err := listTable(w, all, ""); err != nil {
		return err
	}
	for _, t := range tokens {
		if _, err := fmt.Fprintln(w, t); err != nil {
			return err
		}
	}
	return nil
}
