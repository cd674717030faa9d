package civilpb_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

func TestDateRoundTrip(t *testing.T) {
	d := civil.Date{Year: 2026, Month: time.November, Day: 26}
	if got := civilpb.Date(civilpb.FromDate(d)); got != d {
		t.Fatalf("round trip gave %v", got)
	}
	if civilpb.FromDate(civil.Date{}) != nil || !civilpb.Date(nil).IsZero() {
		t.Fatal("the zero date must map to nil and back")
	}
}

func TestMonthRoundTrip(t *testing.T) {
	m := civil.Month{Year: 2026, Month: time.February}
	if got := civilpb.Month(civilpb.FromMonth(m)); got != m {
		t.Fatalf("round trip gave %v", got)
	}
	if civilpb.FromMonth(civil.Month{}) != nil || civilpb.Month(nil).Valid() {
		t.Fatal("the zero month must map to nil and back, and be invalid")
	}
}

// TestMonthReadsTheFormerMonthMessages pins the encodings of the three
// messages common.v1.Month replaced (needs.v1.Month, pathway.v1.Month and
// funding.v1.Period: year = 1, month = 2, both int32): events stored with
// them, and JSON written by older clients, read the same with Month.
func TestMonthReadsTheFormerMonthMessages(t *testing.T) {
	var stored []byte
	stored = protowire.AppendTag(stored, 1, protowire.VarintType)
	stored = protowire.AppendVarint(stored, 2025)
	stored = protowire.AppendTag(stored, 2, protowire.VarintType)
	stored = protowire.AppendVarint(stored, 12)
	var m commonv1.Month
	if err := proto.Unmarshal(stored, &m); err != nil {
		t.Fatal(err)
	}
	if got := civilpb.Month(&m); got != (civil.Month{Year: 2025, Month: time.December}) {
		t.Fatalf("stored month read as %v", got)
	}
	if again, _ := (proto.MarshalOptions{Deterministic: true}).Marshal(&m); string(again) != string(stored) {
		t.Fatalf("Month encodes as %x, the former messages as %x", again, stored)
	}
	var j commonv1.Month
	if err := protojson.Unmarshal([]byte(`{"year":2025,"month":12}`), &j); err != nil || j.GetYear() != 2025 || j.GetMonth() != 12 {
		t.Fatalf("JSON month read as %v (%v)", &j, err)
	}
}
