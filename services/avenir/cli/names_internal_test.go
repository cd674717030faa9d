package cli

import (
	"slices"
	"testing"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

// A learner reads "Family Given"; an erased one "personne effacée"; one
// the caller may not see has no name, in any table.
func TestLearnerNames(t *testing.T) {
	if got := learnerName(&intakev1.Learner{LearnerId: "a", FamilyName: "Morel", GivenName: "Jade"}); got != "Morel Jade" {
		t.Errorf("named %q", got)
	}
	if got := learnerName(&intakev1.Learner{LearnerId: "a", Erased: true}); got != "personne effacée" {
		t.Errorf("erased named %q", got)
	}
	names := map[string]string{"a": "Morel Jade"}
	for id, want := range map[string]string{"a": "Morel Jade, a", "b": "b", "": "(not in your scope)"} {
		if got := learnerNamed(id, names); got != want {
			t.Errorf("learnerNamed(%q) = %q, want %q", id, got, want)
		}
	}
	// A statement names the learner of a learner's line, none for a group.
	rows := statementLineRows([]*fundingv1.StatementLine{
		{OperatorLineId: "L-1", LearnerId: "a"},
		{OperatorLineId: "G-1", GroupSessionId: "grp-1", AttendeeLearnerIds: []string{"a", "b"}},
		{OperatorLineId: "L-2", LearnerId: "b"},
	}, names)
	var got []string
	for _, r := range rows {
		got = append(got, r[3])
	}
	if want := []string{"NAME", "Morel Jade", "", ""}; !slices.Equal(got, want) {
		t.Errorf("names column %q, want %q", got, want)
	}
	// Nothing is asked for JSON, nor without a connection.
	f := &clientFlags{output: "json"}
	if got := f.learnerNames(t.Context(), "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89"); len(got) != 0 {
		t.Errorf("JSON asked names: %v", got)
	}
}
