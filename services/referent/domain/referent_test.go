package domain_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/referent/domain"
)

// fields returns the fields of the violations of err.
func fields(err error) []string {
	e, ok := err.(*apperr.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCheckProfile(t *testing.T) {
	valid := ref("r-a", 10, 0).Profile
	valid.Languages = []string{"fr", "en"}
	change := func(f func(*domain.Profile)) domain.Profile {
		p := valid
		f(&p)
		return p
	}
	for _, tc := range []struct {
		name    string
		profile domain.Profile
		want    []string // fields refused
	}{
		{"valid", valid, nil},
		{"accented names", change(func(p *domain.Profile) { p.Name, p.Organisation = "Anaïs N'Diaye-Lefèvre", "Greta Rouen–Évreux" }), nil},
		{"right-to-left override in the name", change(func(p *domain.Profile) { p.Name = "Anne \u202Eyorel" }), []string{"profile.name"}},
		{"isolate in the organisation", change(func(p *domain.Profile) { p.Organisation = "\u2066AFPA\u2069" }), []string{"profile.organisation"}},
		{"control character in the name", change(func(p *domain.Profile) { p.Name = "Anne\x1b[31m" }), []string{"profile.name"}},
		{"new line in the organisation", change(func(p *domain.Profile) { p.Organisation = "AFPA\nRouen" }), []string{"profile.organisation"}},
		{"zero-width space in the name", change(func(p *domain.Profile) { p.Name = "An\u200Bne" }), []string{"profile.name"}},
		{"blank name", change(func(p *domain.Profile) { p.Name = "   " }), []string{"profile.name"}},
		{"name of 200 characters", change(func(p *domain.Profile) { p.Name = strings.Repeat("é", 200) }), nil},
		{"name of 201 characters", change(func(p *domain.Profile) { p.Name = strings.Repeat("é", 201) }), []string{"profile.name"}},
		{"territories T01 and T18", change(func(p *domain.Profile) { p.Territories = []string{"T01", "T18"} }), nil},
		{"territory without its T", change(func(p *domain.Profile) { p.Territories = []string{"05"} }), []string{"profile.territory_codes"}},
		{"territory in lower case", change(func(p *domain.Profile) { p.Territories = []string{"t05"} }), []string{"profile.territory_codes"}},
		{"territory of one digit", change(func(p *domain.Profile) { p.Territories = []string{"T5"} }), []string{"profile.territory_codes"}},
		{"territory with a dash", change(func(p *domain.Profile) { p.Territories = []string{"T05-north"} }), []string{"profile.territory_codes"}},
		{"territory given twice", change(func(p *domain.Profile) { p.Territories = []string{"T05", "T05"} }), []string{"profile.territory_codes"}},
		{"language not a code", change(func(p *domain.Profile) { p.Languages = []string{"FR"} }), []string{"profile.languages"}},
		{"unknown kind", change(func(p *domain.Profile) { p.Kind = "coach" }), []string{"profile.kind"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v apperr.Violations
			domain.CheckProfile(&v, "profile", tc.profile)
			if got := fields(v.Err()); !slices.Equal(got, tc.want) {
				t.Fatalf("violations on %v, want %v (%v)", got, tc.want, v.Err())
			}
		})
	}
}

func TestRegisterTrimsNames(t *testing.T) {
	p := ref("r-a", 10, 0).Profile
	p.Name, p.Organisation = "  Anne Leroy ", "\tAFPA "
	evs, err := domain.DecideReferent(domain.Referent{}, domain.RegisterReferent{ReferentID: "r-a", Profile: p})
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	if got := evs[0].(domain.ReferentRegistered).Profile; got.Name != "Anne Leroy" || got.Organisation != "AFPA" {
		t.Fatalf("registered %q of %q", got.Name, got.Organisation)
	}
}

func TestUpdateWithFields(t *testing.T) {
	current := ref("r-a", 10, 0, domain.SpecialtySeniors).Profile
	current.Languages = []string{"fr"}
	registered := domain.EvolveReferent(domain.Referent{}, domain.ReferentRegistered{ReferentID: "r-a", Profile: current})
	following := domain.EvolveReferent(registered, domain.LearnerTaken{ReferentID: "r-a", Slot: domain.Slot{LearnerID: "l-1", Territory: "T05"}})
	// Stored under the rule territory codes had before: still there, and
	// no obstacle to changing another field.
	legacy := domain.EvolveReferent(registered, domain.ReferentUpdated{ReferentID: "r-a", Profile: func() domain.Profile {
		p := current
		p.Territories = []string{"NORD-1"}
		return p
	}()})
	request := domain.Profile{Name: "Anne Leroy", Organisation: "Greta", Territories: []string{"T06"}, Capacity: 4, Languages: []string{"en"}}
	with := func(f func(*domain.Profile)) domain.Profile {
		p := current
		f(&p)
		return p
	}
	for _, tc := range []struct {
		name   string
		state  domain.Referent
		fields []domain.ProfileField
		req    func(*domain.Profile) // changes the request's profile
		want   *domain.Profile       // the profile of ReferentUpdated; nil for no event
		err    apperr.Kind
		field  string
	}{
		{"name only", registered, []domain.ProfileField{domain.FieldName}, nil, ptr(with(func(p *domain.Profile) { p.Name = "Anne Leroy" })), 0, ""},
		{"capacity and languages", registered, []domain.ProfileField{domain.FieldCapacity, domain.FieldLanguages}, nil,
			ptr(with(func(p *domain.Profile) { p.Capacity, p.Languages = 4, []string{"en"} })), 0, ""},
		{"every field", registered, domain.ProfileFields, nil, ptr(with(func(p *domain.Profile) {
			p.Name, p.Organisation, p.Territories, p.Capacity, p.Specialties, p.Languages = "Anne Leroy", "Greta", []string{"T06"}, 4, nil, []string{"en"}
		})), 0, ""},
		{"no field: nothing changes", registered, []domain.ProfileField{}, nil, nil, 0, ""},
		{"trimmed name", registered, []domain.ProfileField{domain.FieldName}, func(p *domain.Profile) { p.Name = " Anne Leroy  " },
			ptr(with(func(p *domain.Profile) { p.Name = "Anne Leroy" })), 0, ""},
		{"a legacy territory does not block a capacity change", legacy, []domain.ProfileField{domain.FieldCapacity}, nil,
			ptr(with(func(p *domain.Profile) { p.Territories, p.Capacity = []string{"NORD-1"}, 4 })), 0, ""},
		{"capacity 0 of a pedagogical referent", registered, []domain.ProfileField{domain.FieldCapacity}, func(p *domain.Profile) { p.Capacity = 0 },
			nil, apperr.KindInvalidArgument, "profile.capacity"},
		{"a bidirectional override in the name", registered, []domain.ProfileField{domain.FieldName}, func(p *domain.Profile) { p.Name = "‮enna" },
			nil, apperr.KindInvalidArgument, "profile.name"},
		{"leaving the territory of a learner followed", following, []domain.ProfileField{domain.FieldTerritories}, nil, nil, apperr.KindFailedPrecondition, ""},
		{"unknown referent", domain.Referent{}, []domain.ProfileField{domain.FieldName}, nil, nil, apperr.KindNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request
			if tc.req != nil {
				tc.req(&req)
			}
			evs, err := domain.DecideReferent(tc.state, domain.UpdateReferent{ReferentID: "r-a", Profile: req, Fields: tc.fields})
			if tc.err != 0 || err != nil {
				if apperr.KindOf(err) != tc.err || err == nil {
					t.Fatalf("error %v, want kind %v", err, tc.err)
				}
				if tc.field != "" && !slices.Equal(fields(err), []string{tc.field}) {
					t.Fatalf("violations on %v, want %s", fields(err), tc.field)
				}
				return
			}
			if tc.want == nil {
				if len(evs) != 0 {
					t.Fatalf("events %v, want none", evs)
				}
				return
			}
			want := []domain.Event{domain.ReferentUpdated{ReferentID: "r-a", Profile: *tc.want}}
			if !reflect.DeepEqual(evs, want) {
				t.Fatalf("events\n got %#v\nwant %#v", evs, want)
			}
		})
	}

	// Without fields, the whole profile is replaced, and the kind may not
	// change.
	economic := request
	economic.Kind, economic.Capacity = domain.KindEconomic, 0
	if _, err := domain.DecideReferent(registered, domain.UpdateReferent{ReferentID: "r-a", Profile: economic}); !slices.Equal(fields(err), []string{"profile.kind"}) {
		t.Fatalf("a change of kind: %v", err)
	}
	whole := request
	whole.Kind = domain.KindPedagogical
	evs, err := domain.DecideReferent(registered, domain.UpdateReferent{ReferentID: "r-a", Profile: whole})
	if err != nil || !reflect.DeepEqual(evs, []domain.Event{domain.ReferentUpdated{ReferentID: "r-a", Profile: whole}}) {
		t.Fatalf("a whole update: %v %v", evs, err)
	}
}

func TestAssignReasonIsAFreeText(t *testing.T) {
	for reason, want := range map[string][]string{
		"moves to Vernon":                             nil,
		"moves to Vernon\n\tcloser to home":           nil,
		"moves to \u202EnonreV":                       {"reason"},
		"moves\x00":                                   {"reason"},
		strings.Repeat("a", domain.MaxReasonLength):   nil,
		strings.Repeat("a", domain.MaxReasonLength+1): {"reason"},
		"   ": {"reason"}, // required for a handover
	} {
		var v apperr.Violations
		domain.Assign{LearnerID: "l-1", ReferentID: "r-b", Handover: true, From: "r-a", Reason: reason, Day: day, Today: day}.Check(&v)
		if got := fields(v.Err()); !slices.Equal(got, want) {
			t.Errorf("reason %q: violations on %v, want %v", reason, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
