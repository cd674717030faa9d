package domain_test

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// check runs CheckContent and returns the normalised content and the fields
// named.
func check(c domain.Content) (domain.Content, []string) {
	var v apperr.Violations
	out := domain.CheckContent(&v, "content", c, today)
	var fields []string
	if err := v.Err(); err != nil {
		var ae *apperr.Error
		errors.As(err, &ae)
		for _, f := range ae.Fields {
			fields = append(fields, f.Field)
		}
	}
	return out, fields
}

func TestContentNormalisation(t *testing.T) {
	got, fields := check(domain.Content{
		Skills:      []domain.Skill{{Domain: domain.SkillDigital, Level: domain.LevelAcquired}, {Domain: domain.SkillFrenchCommunication, Level: domain.LevelInProgress}},
		Diplomas:    []domain.Diploma{{Title: "  CAP Cuisine ", Level: 3, Year: 2019}},
		Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: " Commis ", ROMECode: " g1602 ", DurationMonths: 14}, {Kind: domain.ExperienceVolunteer, Role: "Bénévole", ROMECode: "  ", DurationMonths: 3}},
		Project:     domain.Project{TargetROMECodes: []string{"k2204"}, Maturity: domain.MaturityEmerging, MaxWeeklyHours: 35, MaxTravelKm: 30},
		Steps:       []domain.Step{{Kind: domain.StepTradeDiscovery, ROMECodes: []string{"h2909 "}}, {Kind: domain.StepOther, Description: " Permis B "}, {Kind: domain.StepOther, Description: "Code de la route\n\tpuis conduite\n"}},
	})
	if fields != nil {
		t.Fatalf("violations %v", fields)
	}
	skills := domain.EmptyContent().Skills
	skills[0].Level, skills[2].Level = domain.LevelInProgress, domain.LevelAcquired
	want := domain.Content{
		Skills:      skills,
		Diplomas:    []domain.Diploma{{Title: "CAP Cuisine", Level: 3, Year: 2019}},
		Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis", ROMECode: "G1602", DurationMonths: 14}, {Kind: domain.ExperienceVolunteer, Role: "Bénévole", DurationMonths: 3}},
		Project:     domain.Project{TargetROMECodes: []string{"K2204"}, Maturity: domain.MaturityEmerging, MaxWeeklyHours: 35, MaxTravelKm: 30},
		Steps:       []domain.Step{{Kind: domain.StepTradeDiscovery, ROMECodes: []string{"H2909"}}, {Kind: domain.StepOther, Description: "Permis B"}, {Kind: domain.StepOther, Description: "Code de la route\n\tpuis conduite"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Normalised content checks again to itself.
	if again, fields := check(got); fields != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("not stable: %+v %v", again, fields)
	}
}

// Every rule of the content, one field each; then all of them at once.
func TestContentValidation(t *testing.T) {
	long := strings.Repeat("é", 201)
	tests := []struct {
		name    string
		content domain.Content
		fields  []string
	}{
		{"an unknown skill domain", domain.Content{Skills: []domain.Skill{{Domain: "cooking", Level: domain.LevelAcquired}}}, []string{"content.skills[0].domain"}},
		{"a domain assessed twice", domain.Content{Skills: []domain.Skill{{domain.SkillDigital, domain.LevelAcquired}, {domain.SkillDigital, domain.LevelToAcquire}}}, []string{"content.skills[1].domain"}},
		{"a level out of range", domain.Content{Skills: []domain.Skill{{Domain: domain.SkillDigital, Level: "expert"}}}, []string{"content.skills[0].level"}},
		{"a level missing", domain.Content{Skills: []domain.Skill{{Domain: domain.SkillDigital}}}, []string{"content.skills[0].level"}},
		{"a diploma without title", domain.Content{Diplomas: []domain.Diploma{{Title: " ", Level: 3, Year: 2020}}}, []string{"content.diplomas[0].title"}},
		{"a diploma title too long", domain.Content{Diplomas: []domain.Diploma{{Title: long, Level: 3, Year: 2020}}}, []string{"content.diplomas[0].title"}},
		{"a diploma title on two lines", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP\nCuisine", Level: 3, Year: 2020}}}, []string{"content.diplomas[0].title"}},
		{"a diploma title reversed by a bidi override", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP \u202eeniusiC", Level: 3, Year: 2020}}}, []string{"content.diplomas[0].title"}},
		{"a diploma title with a control character", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP\x07Cuisine", Level: 3, Year: 2020}}}, []string{"content.diplomas[0].title"}},
		{"a diploma title with a zero-width joiner", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP\u200dCuisine", Level: 3, Year: 2020}}}, []string{"content.diplomas[0].title"}},
		{"a diploma level out of range", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP", Level: 9, Year: 2020}}}, []string{"content.diplomas[0].level"}},
		{"a negative diploma level", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP", Level: -1, Year: 2020}}}, []string{"content.diplomas[0].level"}},
		{"a diploma without year", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP", Level: 3}}}, []string{"content.diplomas[0].year"}},
		{"a diploma of next year", domain.Content{Diplomas: []domain.Diploma{{Title: "CAP", Level: 3, Year: 2027}}}, []string{"content.diplomas[0].year"}},
		{"too many diplomas", domain.Content{Diplomas: make21Diplomas()}, []string{"content.diplomas"}},
		{"an experience of no kind", domain.Content{Experiences: []domain.Experience{{Role: "Commis", DurationMonths: 2}}}, []string{"content.experiences[0].kind"}},
		{"an experience without role", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, DurationMonths: 2}}}, []string{"content.experiences[0].role"}},
		{"a role with a tab", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis\tde cuisine", DurationMonths: 2}}}, []string{"content.experiences[0].role"}},
		{"a role with an isolate", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis \u2067x\u2069", DurationMonths: 2}}}, []string{"content.experiences[0].role"}},
		{"a role too long", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: long, DurationMonths: 2}}}, []string{"content.experiences[0].role"}},
		{"an unknown ROME format", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis", ROMECode: "G16020", DurationMonths: 2}}}, []string{"content.experiences[0].rome_code"}},
		{"a ROME code of digits only", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis", ROMECode: "11602", DurationMonths: 2}}}, []string{"content.experiences[0].rome_code"}},
		{"no duration", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis"}}}, []string{"content.experiences[0].duration_months"}},
		{"a duration out of range", domain.Content{Experiences: []domain.Experience{{Kind: domain.ExperienceWork, Role: "Commis", DurationMonths: 601}}}, []string{"content.experiences[0].duration_months"}},
		{"a barrier of no kind", domain.Content{Barriers: []domain.Barrier{{Severity: domain.SeverityLow}}}, []string{"content.barriers[0].kind"}},
		{"a barrier twice", domain.Content{Barriers: []domain.Barrier{{domain.BarrierHealth, domain.SeverityLow, false}, {domain.BarrierHealth, domain.SeverityHigh, true}}}, []string{"content.barriers[1].kind"}},
		{"a barrier without severity", domain.Content{Barriers: []domain.Barrier{{Kind: domain.BarrierHousing}}}, []string{"content.barriers[0].severity"}},
		{"an unknown ROME format in the project", domain.Content{Project: domain.Project{TargetROMECodes: []string{"K2204", "cook"}}}, []string{"content.project.target_rome_codes[1]"}},
		{"a trade targeted twice", domain.Content{Project: domain.Project{TargetROMECodes: []string{"K2204", "k2204"}}}, []string{"content.project.target_rome_codes[1]"}},
		{"too many trades", domain.Content{Project: domain.Project{TargetROMECodes: strings.Fields("A1101 A1102 A1103 A1104 A1105 A1106 A1107 A1108 A1109 A1110 A1111")}}, []string{"content.project.target_rome_codes"}},
		{"an unknown maturity", domain.Content{Project: domain.Project{Maturity: "ripe"}}, []string{"content.project.maturity"}},
		{"hours out of range", domain.Content{Project: domain.Project{MaxWeeklyHours: 49}}, []string{"content.project.constraints.max_weekly_hours"}},
		{"negative distance", domain.Content{Project: domain.Project{MaxTravelKm: -1}}, []string{"content.project.constraints.max_travel_km"}},
		{"distance out of range", domain.Content{Project: domain.Project{MaxTravelKm: 501}}, []string{"content.project.constraints.max_travel_km"}},
		{"a step of no kind", domain.Content{Steps: []domain.Step{{}}}, []string{"content.recommended_steps[0]"}},
		{"no workshop", domain.Content{Steps: []domain.Step{{Kind: domain.StepProjectWorkshops}}}, []string{"content.recommended_steps[0].project_workshops.count"}},
		{"too many workshops", domain.Content{Steps: []domain.Step{{Kind: domain.StepProjectWorkshops, Workshops: 21}}}, []string{"content.recommended_steps[0].project_workshops.count"}},
		{"a discovery of no trade", domain.Content{Steps: []domain.Step{{Kind: domain.StepTradeDiscovery}}}, []string{"content.recommended_steps[0].trade_discovery.rome_codes"}},
		{"a discovery of a bad code", domain.Content{Steps: []domain.Step{{Kind: domain.StepTradeDiscovery, ROMECodes: []string{"K22O4"}}}}, []string{"content.recommended_steps[0].trade_discovery.rome_codes[0]"}},
		{"a discovery of too many trades", domain.Content{Steps: []domain.Step{{Kind: domain.StepTradeDiscovery, ROMECodes: strings.Fields("A1101 A1102 A1103 A1104 A1105 A1106")}}}, []string{"content.recommended_steps[0].trade_discovery.rome_codes"}},
		{"another step not said", domain.Content{Steps: []domain.Step{{Kind: domain.StepOther, Description: "  "}}}, []string{"content.recommended_steps[0].other.description"}},
		{"another step too long", domain.Content{Steps: []domain.Step{{Kind: domain.StepOther, Description: strings.Repeat("x", 501)}}}, []string{"content.recommended_steps[0].other.description"}},
		{"another step with a bidi override", domain.Content{Steps: []domain.Step{{Kind: domain.StepOther, Description: "Permis B\u202e"}}}, []string{"content.recommended_steps[0].other.description"}},
		{"another step with a control character", domain.Content{Steps: []domain.Step{{Kind: domain.StepOther, Description: "Permis\x1bB"}}}, []string{"content.recommended_steps[0].other.description"}},
		{"another step with a line separator", domain.Content{Steps: []domain.Step{{Kind: domain.StepOther, Description: "Permis\u2028B"}}}, []string{"content.recommended_steps[0].other.description"}},
		{"too many steps", domain.Content{Steps: make([]domain.Step, 21)}, append([]string{"content.recommended_steps"}, stepFields(21)...)},
		{
			"every problem at once",
			domain.Content{
				Skills:      []domain.Skill{{Domain: "x", Level: "y"}},
				Diplomas:    []domain.Diploma{{Level: 12}},
				Experiences: []domain.Experience{{ROMECode: "?"}},
				Barriers:    []domain.Barrier{{}},
				Project:     domain.Project{TargetROMECodes: []string{"?"}, Maturity: "?", MaxWeeklyHours: -1, MaxTravelKm: 1000},
				Steps:       []domain.Step{{Kind: domain.StepProjectWorkshops}, {Kind: "?"}},
			},
			[]string{
				"content.skills[0].domain", "content.skills[0].level",
				"content.diplomas[0].title", "content.diplomas[0].level", "content.diplomas[0].year",
				"content.experiences[0].kind", "content.experiences[0].role", "content.experiences[0].rome_code", "content.experiences[0].duration_months",
				"content.barriers[0].kind", "content.barriers[0].severity",
				"content.project.target_rome_codes[0]", "content.project.maturity",
				"content.project.constraints.max_weekly_hours", "content.project.constraints.max_travel_km",
				"content.recommended_steps[0].project_workshops.count", "content.recommended_steps[1]",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, fields := check(tc.content); !reflect.DeepEqual(fields, tc.fields) {
				t.Fatalf("violations on %v, want %v", fields, tc.fields)
			}
			// Decide refuses the draft the same way, whatever the state.
			evs, err := domain.Decide(domain.Analysis{}, domain.DraftAnalysis{AnalysisID: "a-1", Content: tc.content, Today: today})
			if apperr.KindOf(err) != apperr.KindInvalidArgument || evs != nil {
				t.Fatalf("Decide: %v (events %v)", err, evs)
			}
		})
	}
}

func make21Diplomas() []domain.Diploma {
	out := make([]domain.Diploma, 21)
	for i := range out {
		out[i] = domain.Diploma{Title: "CAP", Level: 3, Year: 2000 + i}
	}
	return out
}

func stepFields(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "content.recommended_steps[" + strconv.Itoa(i) + "]"
	}
	return out
}
