package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/event"
)

func TestPathwaysEnrolmentCommands(t *testing.T) {
	s := startPathwaysServer(t)
	runAs := func(token string, want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(args, "--addr", s.addr, "--token", token), &out, &errOut)
		if code != want {
			t.Fatalf("avenir %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	run := func(want int, args ...string) string {
		t.Helper()
		return runAs(s.token, want, args...)
	}
	contains := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Fatalf("no %q in\n%s", w, out)
			}
		}
	}
	// eventually runs a command until it succeeds: what another context
	// stored reaches pathway in moments; until then the refusal says so.
	eventually := func(refusal string, args ...string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var out, errOut bytes.Buffer
			if cli.Main(context.Background(), append(args, "--addr", s.addr, "--token", s.token), &out, &errOut) == 0 {
				return out.String()
			}
			if time.Now().After(deadline) || !strings.Contains(errOut.String(), refusal) {
				t.Fatalf("avenir %s: %s%s", strings.Join(args, " "), out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	a := s.register("T05")
	eventually("FailedPrecondition", "pathways", "enter", a, "--entry-date", "2026-11-02")
	// A contract as funding stores it.
	contract := event.NewID()
	s.append("FUNDING", "avenir.funding.contract."+contract+".created", contract, &fundingv1.ContractCreated{ContractId: contract, Terms: &fundingv1.ContractTerms{
		OperatorId: "op-evreux", Reference: "Lot 5 Eure", TerritoryCodes: []string{"T05"},
		PeriodFrom: &commonv1.Date{Year: 2026, Month: 1, Day: 1}, PeriodTo: &commonv1.Date{Year: 2026, Month: 12, Day: 31},
		TraineeHourRateCents: 1800, AnnualEnvelopeCents: 50_000_00, DailyCapMinutes: 420, WeeklyCapMinutes: 2100, MaxGroupSize: 12,
		Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
	}})

	enrolled := "#1 accompaniment with op-evreux (contract " + contract + ", avenir), from 2026-11-02"
	out := eventually("is not known to pathway yet", "pathways", "enrol", a, "--contract", contract, "--kind", "accompaniment", "--from", "2026-11-02")
	contains(out, "ENROLMENT", enrolled, "ENROLMENTS", "welcomed")

	// Refusals: bad flags are usage errors (2), refused calls exit 1.
	contains(run(1, "pathways", "enrol", a, "--contract", contract, "--kind", "savoirs", "--from", "2026-11-10"),
		"AlreadyExists", "enrolment_number: 1")
	contains(run(2, "pathways", "enrol", a, "--contract", contract, "--kind", "coaching"), "immersion-host")
	run(2, "pathways", "enrol", a, "--kind", "savoirs")
	run(2, "pathways", "end-enrolment", a, "one", "--to", "2026-11-20")
	contains(run(1, "pathways", "enrol", a, "--contract", event.NewID(), "--kind", "qualif", "--from", "2026-11-10"),
		"FailedPrecondition", "retry shortly", "reason: CONTRACT_UNKNOWN")
	contains(run(1, "pathways", "end-enrolment", a, "1", "--to", "2026-11-27"), "InvalidArgument", "to_date")
	operator := s.mint(auth.Principal{Subject: "u-op", Role: auth.RoleOperator, OperatorID: "op-evreux", Territories: []string{"T05"}})
	contains(runAs(operator, 1, "pathways", "enrol", a, "--contract", contract, "--kind", "qualif", "--from", "2026-11-10"), "PermissionDenied")

	// The listing follows in moments; an operator lists its own, whatever
	// it asks for.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(run(0, "pathways", "enrolments"), a) {
		if time.Now().After(deadline) {
			t.Fatal("the enrolment was never listed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	contains(run(0, "pathways", "enrolments", "--territory", "T05", "--active-on", "2026-11-02"),
		"OPERATOR", "PROGRAMME", "op-evreux", contract, a, "accompaniment", "avenir", "2026-11-02")
	if out := run(0, "pathways", "enrolments", "--active-on", "2026-11-01"); strings.Contains(out, a) {
		t.Fatalf("enrolled before its first day:\n%s", out)
	}
	contains(runAs(operator, 0, "pathways", "enrolments", "--operator", "op-other", "-o", "json"), `"learner_id": "`+a+`"`, `"operator_id": "op-evreux"`)
	run(2, "pathways", "enrolments", "--territory", "T05,T06")

	// Ended, the enrolment shows its last day, in the pathway too.
	contains(run(0, "pathways", "end-enrolment", a, "1", "--to", "2026-11-20"), enrolled+" to 2026-11-20 (ended)")
	// GetPathway answers from the read model, which follows in moments.
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(run(0, "pathways", "get", a), enrolled+" to 2026-11-20 (ended)") {
		if time.Now().After(deadline) {
			contains(run(0, "pathways", "get", a), "ENROLMENTS", enrolled+" to 2026-11-20 (ended)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var got struct {
		Episodes []struct {
			Enrolments []struct {
				Number    int    `json:"number"`
				Kind      string `json:"kind"`
				Programme string `json:"programme"`
				EndReason string `json:"end_reason"`
			} `json:"enrolments"`
		} `json:"episodes"`
	}
	if err := json.Unmarshal([]byte(run(0, "pathways", "get", a, "-o", "json")), &got); err != nil || len(got.Episodes) != 1 ||
		len(got.Episodes[0].Enrolments) != 1 || got.Episodes[0].Enrolments[0].Kind != "ENROLMENT_KIND_ACCOMPANIMENT" ||
		got.Episodes[0].Enrolments[0].Programme != "FUNDING_PROGRAMME_AVENIR" || got.Episodes[0].Enrolments[0].EndReason != "ENROLMENT_END_REASON_ENDED" {
		t.Fatalf("get -o json: %+v %v", got, err)
	}
	// Enrolled again, then the exit ends it on the exit date.
	contains(run(0, "pathways", "enrol", a, "--contract", contract, "--kind", "workshops", "--from", "2026-11-21"), "#2 workshops with op-evreux")
	contains(run(0, "pathways", "exit", a, "--exit-date", "2026-11-25", "--reason", "relocation"),
		"#2 workshops with op-evreux (contract "+contract+", avenir), from 2026-11-21 to 2026-11-25 (pathway-exit)")
}
