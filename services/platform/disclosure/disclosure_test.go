package disclosure_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/disclosure"
)

func TestWithheld(t *testing.T) {
	for n, want := range map[int]bool{0: false, 1: true, 4: true, 5: false, 120: false} {
		if got := disclosure.Withheld(n); got != want {
			t.Errorf("Withheld(%d) = %v, want %v", n, got, want)
		}
	}
}

// report builds, from a contract made for the test, a report shaped like
// the statistics of the services: rows of a territory with a total, counts
// by reason (one Count each) and months (two Counts each, not a group).
//
//	message Reason { int32 reason = 1; Count count = 2; }
//	message Month  { int32 month = 1; Count new = 2; Count cumulative = 3; }
//	message Row    { string territory = 1; Count total = 2; repeated Reason reasons = 3;
//	                 repeated Month months = 4; map<string, Count> by_code = 5; }
//	message Report { repeated Row rows = 1; Row total = 2; }
func report(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	count := ".avenir.common.v1.Count"
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string, repeated bool) *descriptorpb.FieldDescriptorProto {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(name)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	i32 := descriptorpb.FieldDescriptorProto_TYPE_INT32
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("disclosure_test.proto"),
		Package:    proto.String("disclosure.test"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"avenir/common/v1/common.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Reason"), Field: []*descriptorpb.FieldDescriptorProto{
				field("reason", 1, i32, "", false), field("count", 2, msg, count, false)}},
			{Name: proto.String("Month"), Field: []*descriptorpb.FieldDescriptorProto{
				field("month", 1, i32, "", false), field("new", 2, msg, count, false), field("cumulative", 3, msg, count, false)}},
			{Name: proto.String("Row"), Field: []*descriptorpb.FieldDescriptorProto{
				field("territory", 1, str, "", false), field("total", 2, msg, count, false),
				field("reasons", 3, msg, ".disclosure.test.Reason", true), field("months", 4, msg, ".disclosure.test.Month", true),
				field("by_code", 5, msg, ".disclosure.test.Row.ByCodeEntry", true)},
				NestedType: []*descriptorpb.DescriptorProto{{
					Name:    proto.String("ByCodeEntry"),
					Field:   []*descriptorpb.FieldDescriptorProto{field("key", 1, str, "", false), field("value", 2, msg, count, false)},
					Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				}}},
			{Name: proto.String("Report"), Field: []*descriptorpb.FieldDescriptorProto{
				field("rows", 1, msg, ".disclosure.test.Row", true), field("total", 2, msg, ".disclosure.test.Row", false)}},
		},
	}
	f, err := protodesc.NewFile(fd, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return f.Messages().ByName("Report")
}

type reportBuilder struct {
	t      *testing.T
	report protoreflect.MessageDescriptor
}

func (b reportBuilder) row(total int, reasons []int, months [][2]int, byCode map[string]int) protoreflect.Message {
	rowDesc := b.report.Fields().ByName("rows").Message()
	row := dynamicpb.NewMessage(rowDesc)
	set := func(m protoreflect.Message, name protoreflect.Name, n int) {
		m.Set(m.Descriptor().Fields().ByName(name), protoreflect.ValueOfMessage(disclosure.Count(n).ProtoReflect()))
	}
	set(row, "total", total)
	reasonList := row.Mutable(rowDesc.Fields().ByName("reasons")).List()
	for i, n := range reasons {
		r := reasonList.NewElement().Message()
		r.Set(r.Descriptor().Fields().ByName("reason"), protoreflect.ValueOfInt32(int32(i+1)))
		set(r, "count", n)
		reasonList.Append(protoreflect.ValueOfMessage(r))
	}
	monthList := row.Mutable(rowDesc.Fields().ByName("months")).List()
	for i, nc := range months {
		m := monthList.NewElement().Message()
		m.Set(m.Descriptor().Fields().ByName("month"), protoreflect.ValueOfInt32(int32(i+1)))
		set(m, "new", nc[0])
		set(m, "cumulative", nc[1])
		monthList.Append(protoreflect.ValueOfMessage(m))
	}
	codes := row.Mutable(rowDesc.Fields().ByName("by_code")).Map()
	for k, n := range byCode {
		codes.Set(protoreflect.ValueOfString(k).MapKey(), protoreflect.ValueOfMessage(disclosure.Count(n).ProtoReflect()))
	}
	return row
}

// counts reads the counts of a row: total, reasons, months (new,
// cumulative), by code; -1 stands for a count withheld.
func counts(t *testing.T, row protoreflect.Message) (total int, reasons []int, months [][2]int, byCode map[string]int) {
	t.Helper()
	read := func(v protoreflect.Value) int {
		c := v.Message().Interface().(*commonv1.Count)
		if c.GetFewerThanFive() {
			if c.GetValue() != 0 {
				t.Errorf("a withheld count keeps its value %d", c.GetValue())
			}
			return -1
		}
		return int(c.GetValue())
	}
	fields := row.Descriptor().Fields()
	total = read(row.Get(fields.ByName("total")))
	rl := row.Get(fields.ByName("reasons")).List()
	for i := range rl.Len() {
		r := rl.Get(i).Message()
		reasons = append(reasons, read(r.Get(r.Descriptor().Fields().ByName("count"))))
	}
	ml := row.Get(fields.ByName("months")).List()
	for i := range ml.Len() {
		m := ml.Get(i).Message()
		mf := m.Descriptor().Fields()
		months = append(months, [2]int{read(m.Get(mf.ByName("new"))), read(m.Get(mf.ByName("cumulative")))})
	}
	byCode = map[string]int{}
	row.Get(fields.ByName("by_code")).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		byCode[k.String()] = read(v)
		return true
	})
	return total, reasons, months, byCode
}

func TestWithholdWalksTheWholeReport(t *testing.T) {
	desc := report(t)
	b := reportBuilder{t, desc}
	rep := dynamicpb.NewMessage(desc)
	rows := rep.Mutable(desc.Fields().ByName("rows")).List()
	// T01: seven exits, one of them of reason 2: withheld, and with it the
	// smallest other given (6), or 7 - 6 would give it back.
	rows.Append(protoreflect.ValueOfMessage(b.row(7, []int{6, 1, 0}, [][2]int{{3, 3}, {5, 8}}, map[string]int{"a": 2, "b": 9})))
	// T02: 30 exits, two withheld reasons already hide each other.
	rows.Append(protoreflect.ValueOfMessage(b.row(30, []int{20, 4, 6, 0}, nil, nil)))
	rows.Append(protoreflect.ValueOfMessage(b.row(30, []int{21, 2, 3, 4}, nil, nil)))
	rep.Set(desc.Fields().ByName("total"), protoreflect.ValueOfMessage(b.row(3, []int{3}, nil, nil)))

	disclosure.Withhold(rep)

	type want struct {
		total   int
		reasons []int
	}
	for i, w := range []want{
		{7, []int{-1, -1, 0}},
		{30, []int{20, -1, -1, 0}}, // 4 withheld alone: 6 withheld with it
		{30, []int{21, -1, -1, -1}},
	} {
		total, reasons, _, _ := counts(t, rows.Get(i).Message())
		if total != w.total || !slices.Equal(reasons, w.reasons) {
			t.Errorf("row %d: total %d, reasons %v; want %d, %v", i, total, reasons, w.total, w.reasons)
		}
	}
	_, _, months, byCode := counts(t, rows.Get(0).Message())
	// Months hold two counts each: not a group, each count on its own.
	if want := [][2]int{{-1, -1}, {5, 8}}; len(months) != 2 || months[0] != want[0] || months[1] != want[1] {
		t.Errorf("months %v, want %v", months, want)
	}
	if byCode["a"] != -1 || byCode["b"] != 9 {
		t.Errorf("map counts %v, want a withheld and b 9", byCode)
	}
	total, reasons, _, _ := counts(t, rep.Get(desc.Fields().ByName("total")).Message())
	if total != -1 || !slices.Equal(reasons, []int{-1}) {
		t.Errorf("total row: %d, %v; want everything withheld", total, reasons)
	}
}

func TestWithholdLeavesZerosAndLargeCounts(t *testing.T) {
	for _, n := range []int{0, 5, 4500} {
		c := disclosure.Count(n)
		disclosure.Withhold(c)
		if !disclosure.Shown(c) || int(c.GetValue()) != n {
			t.Errorf("count %d became %v", n, c)
		}
	}
	disclosure.Withhold(nil) // nothing to do, no panic
}

func TestAnyWithheld(t *testing.T) {
	small, large := disclosure.Count(2), disclosure.Count(12)
	disclosure.Withhold(small)
	disclosure.Withhold(large)
	if !disclosure.AnyWithheld(large, small) || disclosure.AnyWithheld(large) || disclosure.AnyWithheld() {
		t.Error("AnyWithheld does not tell the counts withheld")
	}
}

func TestComplement(t *testing.T) {
	completed, partial, absent := disclosure.Count(6), disclosure.Count(0), disclosure.Count(3)
	for _, c := range []*commonv1.Count{completed, partial, absent} {
		disclosure.Withhold(c)
	}
	disclosure.Complement(completed, partial, absent)
	// 9 outcomes minus 6 completed and 0 partial would give the 3 back.
	if disclosure.Shown(completed) || !disclosure.Shown(partial) || disclosure.Shown(absent) {
		t.Errorf("after Complement: completed %v, partial %v, absent %v", completed, partial, absent)
	}
	two, seven, eight := disclosure.Count(2), disclosure.Count(7), disclosure.Count(8)
	disclosure.Withhold(two)
	disclosure.Complement(two, eight, seven)
	if disclosure.Shown(seven) || !disclosure.Shown(eight) {
		t.Errorf("the smallest given count is withheld with the other: 7 %v, 8 %v", seven, eight)
	}
}
