// Package disclosure applies the rule of small counts to the statistics
// avenir gives (docs/adr/0061-counts-under-five.md): for every role but
// admin, a count of people from 1 to 4 is not given, so that no person can
// be picked out of a figure. A count travels as avenir.common.v1.Count;
// Withhold walks a whole response, so a service cannot forget a field.
//
// Who is shown exact counts is the services' decision (an access rule); the
// rule itself, and how a response is walked, are the scheme's, here once.
package disclosure

import (
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
)

// SmallestShown is the smallest count of people given to roles but admin;
// 0 is always given (nobody can be picked out of nobody).
const SmallestShown = 5

// Withheld reports whether a count of n people is withheld.
func Withheld(n int) bool { return n >= 1 && n < SmallestShown }

// Count is the count of n people, before Withhold.
func Count(n int) *commonv1.Count { return &commonv1.Count{Value: int32(n)} }

// Shown reports whether c is given: not withheld by Withhold.
func Shown(c *commonv1.Count) bool { return !c.GetFewerThanFive() }

var countName = (&commonv1.Count{}).ProtoReflect().Descriptor().FullName()

// Withhold applies the rule to every Count in m, wherever it is (in rows
// and in totals alike): a value from 1 to 4 becomes 0 with fewer_than_five
// set. Then, in every list whose elements hold one Count each (exits by
// reason, entries by age band…), a list with exactly one count withheld
// has its smallest count given above 0 withheld too: otherwise the row's
// total minus the others would give the withheld one back.
//
// It does not protect against every difference between rows and totals;
// see the ADR.
func Withhold(m proto.Message) {
	if m == nil {
		return
	}
	withhold(m.ProtoReflect())
}

func withhold(m protoreflect.Message) {
	if m.Descriptor().FullName() == countName {
		c := m.Interface().(*commonv1.Count)
		if Withheld(int(c.GetValue())) {
			c.Value, c.FewerThanFive = 0, true
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					withhold(mv.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() == nil {
				return true
			}
			l := v.List()
			for i := range l.Len() {
				withhold(l.Get(i).Message())
			}
			if one := onlyCount(fd.Message()); one != nil {
				group := make([]*commonv1.Count, 0, l.Len())
				for i := range l.Len() {
					if e := l.Get(i).Message(); e.Has(one) {
						group = append(group, e.Get(one).Message().Interface().(*commonv1.Count))
					}
				}
				complement(group)
			}
		case fd.Message() != nil:
			withhold(v.Message())
		}
		return true
	})
}

// onlyCount is the Count field of messages of type md when it is their only
// one, else nil.
func onlyCount(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	var found protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Message() == nil {
			continue
		}
		if fd.Message().FullName() != countName || fd.IsList() || fd.IsMap() || found != nil {
			return nil
		}
		found = fd
	}
	return found
}

// Complement applies complementary suppression to counts that add up to
// a count given beside them (completed, partially completed and not shown
// make the outcomes recorded): when exactly one of them is withheld, the
// smallest given above 0 is withheld too. Call it after Withhold; Withhold
// already does it for the lists whose elements hold one count each.
func Complement(group ...*commonv1.Count) { complement(group) }

// complement withholds the smallest count given above 0 of group when
// exactly one of group is withheld.
func complement(group []*commonv1.Count) {
	var smallest *commonv1.Count
	withheld := 0
	for _, c := range group {
		switch {
		case c.GetFewerThanFive():
			withheld++
		case c.GetValue() > 0 && (smallest == nil || c.GetValue() < smallest.GetValue()):
			smallest = c
		}
	}
	if withheld == 1 && smallest != nil {
		smallest.Value, smallest.FewerThanFive = 0, true
	}
}

// AnyWithheld reports whether any of counts is withheld: a figure computed
// from them (a median, a rate) would give them back and is not given.
func AnyWithheld(counts ...*commonv1.Count) bool {
	return slices.ContainsFunc(counts, func(c *commonv1.Count) bool { return c.GetFewerThanFive() })
}
