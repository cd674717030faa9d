package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The controls a funder can trust, tried as operators, a referent and a
// funder would, with the CLI against `avenir server --dev`: contracts C1
// (op-a, T05) and C2 (op-b, T01), learner L in T05, in the pathway,
// enrolled with op-a.
func TestControlsAFunderCanTrust(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServer(t, dataDir)
	token := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(binary, append([]string{"auth", "token", "--data-dir", dataDir, "--ttl", "1h"}, args...)...).Output()
		if err != nil {
			t.Fatalf("auth token %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	var (
		admin    = token("--role", "admin", "--subject", "admin")
		coord    = token("--role", "referent", "--referent-id", "ref-05", "--territory", "T05", "--coordinator")
		opA      = token("--role", "operator", "--operator-id", "op-a", "--territory", "T05")
		opB      = token("--role", "operator", "--operator-id", "op-b", "--territory", "T01")
		opBInT05 = token("--role", "operator", "--operator-id", "op-b", "--territory", "T05")
		funder   = token("--role", "funder", "--subject", "region")
	)
	// run runs the CLI as the holder of tok: its output, and its exit
	// status (0 when it succeeded).
	run := func(tok string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(binary, append(args, "--addr", p.GRPC)...)
		cmd.Env = append(cmd.Environ(), "AVENIR_TOKEN="+tok)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("avenir %v: %v", args, err)
		return "", 0
	}
	must := func(tok string, args ...string) string {
		t.Helper()
		out, code := run(tok, args...)
		if code != 0 {
			t.Fatalf("avenir %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	// eventually retries a command until it succeeds: what one service
	// records reaches the others within moments.
	eventually := func(tok string, args ...string) string {
		t.Helper()
		var out string
		servicetest.Eventually(t, 15*time.Second, func() error {
			var code int
			if out, code = run(tok, args...); code != 0 {
				return fmt.Errorf("avenir %s: exit %d\n%s", strings.Join(args, " "), code, out)
			}
			return nil
		})
		return out
	}
	rejected := func(out string, code int, reason string) {
		t.Helper()
		if code != 1 || !strings.Contains(out, "rejected: "+reason) {
			t.Fatalf("want exit 1 and rejected: %s, got exit %d\n%s", reason, code, out)
		}
	}
	jsonField := func(out, name string) string {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		s, _ := m[name].(string)
		if s == "" {
			t.Fatalf("no %s in %s", name, out)
		}
		return s
	}

	// L: registered in T05, in the pathway, her needs analysed.
	learner := jsonField(must(coord, "learners", "register", "--family-name", "Lefèvre", "--given-name", "Louise",
		"--birth-date", "1999-03-02", "--territory", "T05", "--commune", "27229", "--email", "louise.lefevre@example.fr",
		"--education-level", "3", "--referral-source", "mission-locale", "-o", "json"), "learner_id")
	eventually(coord, "pathways", "enter", learner, "--entry-date", "today")
	analysis := jsonField(eventually(coord, "analyses", "start", learner, "-o", "json"), "analysis_id")
	must(coord, "analyses", "draft", analysis, "--file", filepath.Join("..", "..", "docs", "examples", "analysis.yaml"))
	must(coord, "analyses", "complete", analysis)

	contract := func(operator, reference string, territories ...string) string {
		args := []string{"funding", "contracts", "create", "--operator-id", operator, "--reference", reference,
			"--programme", "avenir", "--from", "today-30", "--to", "today+330", "--trainee-hour-rate-cents", "1250",
			"--fee", "needs-analysis-completed=15000", "--envelope-cents", "50000000", "--max-group-size", "12", "-o", "json"}
		for _, code := range territories {
			args = append(args, "--territory", code)
		}
		return jsonField(must(admin, args...), "contract_id")
	}
	c1 := contract("op-a", "Lot 5 Eure", "T05")
	c2 := contract("op-b", "Lot 1 Rouen", "T01")
	eventually(coord, "pathways", "enrol", learner, "--contract", c1, "--kind", "accompaniment", "--from", "today")
	// A contract whose lot does not cover her territory takes no enrolment.
	if out, code := run(coord, "pathways", "enrol", learner, "--contract", c2, "--kind", "workshops", "--from", "today"); code != 1 ||
		!strings.Contains(out, "TERRITORY_NOT_IN_LOT") {
		t.Fatalf("enrolment outside the lot: exit %d\n%s", code, out)
	}

	// op-b bills for L on C2, where she is not enrolled: hours and fee refused.
	today := civil.Of(time.Now())
	servicetest.Eventually(t, 15*time.Second, func() error {
		// Funding learns the enrolment from PATHWAY: op-a's first hours wait for it.
		out, code := run(opA, "funding", "hours", "report", c1, "--line-id", "A-1", "--learner", learner, "--date", "today",
			"--minutes", "300", "--activity", "face-to-face")
		if code != 0 {
			return fmt.Errorf("op-a's hours: exit %d\n%s", code, out)
		}
		return nil
	})
	out, code := run(opB, "funding", "hours", "report", c2, "--line-id", "B-1", "--learner", learner, "--date", "today",
		"--minutes", "300", "--activity", "face-to-face")
	rejected(out, code, "learner-not-enrolled")
	out, code = run(opB, "funding", "claim-fee", c2, learner, "--type", "needs-analysis-completed", "--line-id", "BF-1")
	rejected(out, code, "learner-not-enrolled")

	// An op-b token saying T05, without an enrolment, reads nothing of L.
	for _, args := range [][]string{
		{"learners", "get", learner},
		{"pathways", "get", learner},
		{"pathways", "timeline", learner},
		{"analyses", "get", "--learner", learner},
	} {
		if out, code := run(opBInT05, args...); code == 0 || strings.Contains(out, "Louise") {
			t.Errorf("op-b with a T05 token: avenir %s answered (exit %d)\n%s", strings.Join(args, " "), code, out)
		}
	}
	for _, args := range [][]string{
		{"learners", "search", "--territory", "T05"},
		{"learners", "search", "--family-name", "Lefèvre"},
		{"pathways", "list"},
		{"pathways", "list", "--territory", "T05"},
		{"pathways", "enrolments"},
	} {
		if out, _ := run(opBInT05, args...); strings.Contains(out, learner) || strings.Contains(out, "Louise") {
			t.Errorf("op-b with a T05 token: avenir %s shows L\n%s", strings.Join(args, " "), out)
		}
	}
	// op-a, with whom she is enrolled, reads her.
	if out := must(opA, "pathways", "get", learner); !strings.Contains(out, learner) {
		t.Errorf("op-a reads its enrolled learner:\n%s", out)
	}

	// L enrolled with op-b too, once C2's lot covers T05: 300 minutes on C1,
	// then 300 the same day on C2, over the 420 across contracts.
	must(admin, "funding", "contracts", "update", c2, "--operator-id", "op-b", "--reference", "Lot 1 Rouen",
		"--territory", "T01", "--territory", "T05", "--from", "today-30", "--to", "today+330",
		"--trainee-hour-rate-cents", "1250", "--fee", "needs-analysis-completed=15000", "--envelope-cents", "50000000",
		"--max-group-size", "12", "--reason", "lot extended to Évreux")
	eventually(coord, "pathways", "enrol", learner, "--contract", c2, "--kind", "workshops", "--from", "today")
	servicetest.Eventually(t, 15*time.Second, func() error {
		out, code := run(opB, "funding", "hours", "report", c2, "--line-id", "B-2", "--learner", learner, "--date", "today",
			"--minutes", "300", "--activity", "face-to-face")
		if code == 1 && strings.Contains(out, "rejected: daily-cap-exceeded") {
			if !strings.Contains(out, "600 minutes") || !strings.Contains(out, c1+" (300)") || !strings.Contains(out, c2+" (300)") {
				t.Fatalf("the cap's detail names the total across contracts:\n%s", out)
			}
			return nil
		}
		if code == 0 {
			t.Fatalf("300 + 300 minutes the same day accepted:\n%s", out)
		}
		return fmt.Errorf("exit %d\n%s", code, out) // the enrolment is on its way to funding
	})

	// A line dated tomorrow.
	out, code = run(opA, "funding", "hours", "report", c1, "--line-id", "A-2", "--learner", learner, "--date", "today+1",
		"--minutes", "60", "--activity", "face-to-face")
	rejected(out, code, "date-in-future")

	// The analysis' flat fee, claimed by op-a, then by op-b.
	must(opA, "funding", "claim-fee", c1, learner, "--type", "needs-analysis-completed", "--line-id", "AF-1")
	out, code = run(opB, "funding", "claim-fee", c2, learner, "--type", "needs-analysis-completed", "--line-id", "BF-2")
	rejected(out, code, "fact-already-paid")

	// The funder's month, every contract, in one call.
	month := fmt.Sprintf("%04d-%02d", today.Year, today.Month)
	out = eventually(funder, "funding", "statements", "list", "--period", month)
	for _, want := range []string{c1, c2, "Lot 5 Eure", "Lot 1 Rouen", "212,50 €"} { // 300 min × 12,50 € + 150,00 €
		if !strings.Contains(out, want) {
			t.Errorf("statements list misses %q:\n%s", want, out)
		}
	}

	// No cell under five reaches a funder or a referent: one learner is in
	// every figure, exact for an admin only.
	from := &commonv1.Month{Year: int32(today.Year), Month: int32(today.Month)}
	figures := func(as auth.Principal) map[string]proto.Message {
		conn := dialAs(t, p.GRPC, dataDir, as)
		pw, nd := pathwayv1.NewPathwayServiceClient(conn), needsv1.NewNeedsServiceClient(conn)
		got := map[string]proto.Message{}
		add := func(name string, m proto.Message, err error) {
			if status.Code(err) == codes.PermissionDenied && as.Role == auth.RoleReferent && !as.Coordinator {
				return // the scheme's figures are for coordinators: nothing reaches a plain referent
			}
			if err != nil {
				t.Fatalf("%s as %s: %v", name, as.Role, err)
			}
			got[name] = m
		}
		r1, err := pw.GetFlowStatistics(callCtx(t), &pathwayv1.GetFlowStatisticsRequest{FromMonth: from, ToMonth: from, TerritoryCode: "T05"})
		add("flows", r1, err)
		r2, err := pw.GetProgrammeTargets(callCtx(t), &pathwayv1.GetProgrammeTargetsRequest{Year: int32(today.Year), TerritoryCode: "T05"})
		add("targets", r2, err)
		r3, err := pw.GetOutcomes(callCtx(t), &pathwayv1.GetOutcomesRequest{FromMonth: from, ToMonth: from, TerritoryCode: "T05"})
		add("outcomes", r3, err)
		r4, err := pw.GetBreakdowns(callCtx(t), &pathwayv1.GetBreakdownsRequest{FromMonth: from, ToMonth: from, TerritoryCode: "T05"})
		add("breakdowns", r4, err)
		r7, err := referentv1.NewReferentServiceClient(conn).GetTerritoryLoad(callCtx(t), &referentv1.GetTerritoryLoadRequest{TerritoryCodes: []string{"T05"}})
		add("load", r7, err)
		r5, err := nd.GetAnalysisSummary(callCtx(t), &needsv1.GetAnalysisSummaryRequest{FromMonth: from, ToMonth: from, TerritoryCode: "T05"})
		add("analyses", r5, err)
		if as.Role != auth.RoleReferent {
			r6, err := immersionv1.NewImmersionServiceClient(conn).GetImmersionStatistics(callCtx(t), &immersionv1.GetImmersionStatisticsRequest{
				FromDate: civilpb.FromDate(today.AddDays(-30)), ToDate: civilpb.FromDate(today.AddDays(30)), TerritoryCodes: []string{"T05"},
			})
			add("immersions", r6, err)
		}
		return got
	}
	adminFigures := figures(auth.Principal{Subject: "admin", Role: auth.RoleAdmin})
	servicetest.Eventually(t, 15*time.Second, func() error {
		adminFigures = figures(auth.Principal{Subject: "admin", Role: auth.RoleAdmin})
		if small := smallCounts(adminFigures["breakdowns"]); len(small) == 0 {
			return fmt.Errorf("the admin's breakdowns do not count L yet: %v", adminFigures["breakdowns"])
		}
		return nil
	})
	for _, name := range []string{"flows", "targets", "breakdowns", "analyses", "load"} {
		if len(smallCounts(adminFigures[name])) == 0 {
			t.Errorf("an admin reads the exact %s, L counted once: %v", name, adminFigures[name])
		}
	}
	for _, as := range []auth.Principal{
		{Subject: "region", Role: auth.RoleFunder},
		{Subject: "ref-05", Role: auth.RoleReferent, ReferentID: "ref-05", Territories: []string{"T05"}, Coordinator: true},
		{Subject: "ref-06", Role: auth.RoleReferent, ReferentID: "ref-06", Territories: []string{"T05"}},
	} {
		for name, m := range figures(as) {
			if small := smallCounts(m); len(small) > 0 {
				t.Errorf("%s as %s (coordinator %v): counts under five %v", name, as.Role, as.Coordinator, small)
			}
		}
	}
}

// smallCounts lists the counts of people from 1 to 4 in m: every Count,
// and the int32 counts beside them (barriers, trades, the fields Counts
// replaced), by path.
func smallCounts(m proto.Message) []string {
	var out []string
	var walk func(path string, m protoreflect.Message)
	walk = func(path string, m protoreflect.Message) {
		if c, ok := m.Interface().(*commonv1.Count); ok {
			if c.GetValue() >= 1 && c.GetValue() <= 4 {
				out = append(out, fmt.Sprintf("%s=%d", path, c.GetValue()))
			}
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			p := path + "." + string(fd.Name())
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := range v.List().Len() {
					walk(fmt.Sprintf("%s[%d]", p, i), v.List().Get(i).Message())
				}
			case fd.Message() != nil && !fd.IsMap():
				walk(p, v.Message())
			case fd.Kind() == protoreflect.Int32Kind && !fd.IsList() && isPeopleCount(fd.Name()):
				if n := v.Int(); n >= 1 && n <= 4 {
					out = append(out, fmt.Sprintf("%s=%d", p, n))
				}
			}
			return true
		})
	}
	walk("", m.ProtoReflect())
	return out
}

// isPeopleCount tells the int32 fields counting people from the others
// (months, years, targets, percentages, medians, rates, sessions, places).
func isPeopleCount(name protoreflect.Name) bool {
	switch name {
	case "count", "entries", "exits", "active_learners", "queued", "active_at_month_end", "completed", "revisions_completed",
		"booked", "waitlisted", "outcomes_recorded", "partially_completed", "did_not_show":
		return true
	}
	return false
}
