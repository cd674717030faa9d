package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// exampleFile is the example the README shows.
var exampleFile = filepath.Join("..", "..", "..", "docs", "examples", "analysis.yaml")

func TestAnalysesCommands(t *testing.T) {
	server := startPathwaysServer(t)
	addr, token, register := server.addr, server.token, server.register
	runAs := func(token string, want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(args, "--addr", addr, "--token", token), &out, &errOut)
		if code != want {
			t.Fatalf("avenir %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	run := func(want int, args ...string) string {
		t.Helper()
		return runAs(token, want, args...)
	}
	contains := func(args []string, wants ...string) string {
		t.Helper()
		out := run(0, args...)
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Fatalf("avenir %s: no %q in\n%s", strings.Join(args, " "), w, out)
			}
		}
		return out
	}
	// eventually retries a command while the read models catch up.
	eventually := func(args []string, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var out, errOut bytes.Buffer
			code := cli.Main(context.Background(), append(args, "--addr", addr, "--token", token), &out, &errOut)
			if code == 0 && strings.Contains(out.String(), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("avenir %s: %s%s", strings.Join(args, " "), out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	learner := register("T05")
	eventually([]string{"pathways", "enter", learner, "--entry-date", "2026-11-02"}, "ACTIVE")
	var started struct {
		AnalysisID string `json:"analysis_id"`
		Status     string `json:"status"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for started.AnalysisID == "" {
		var out, errOut bytes.Buffer
		if cli.Main(context.Background(), []string{"analyses", "start", learner, "-o", "json", "--addr", addr, "--token", token}, &out, &errOut) == 0 {
			if err := json.Unmarshal(out.Bytes(), &started); err != nil {
				t.Fatal(err)
			}
		} else if time.Now().After(deadline) || !strings.Contains(errOut.String(), "FailedPrecondition") {
			t.Fatalf("start: %s%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	id := started.AnalysisID
	if started.Status != "ANALYSIS_STATUS_DRAFT" {
		t.Fatalf("started %+v", started)
	}

	// Completing an empty draft is refused, saying what is missing.
	out := run(1, "analyses", "complete", id)
	if !strings.Contains(out, "FailedPrecondition") || !strings.Contains(out, "recommended_steps") {
		t.Fatalf("complete without steps: %s", out)
	}
	// The README's example file, as YAML.
	contains([]string{"analyses", "draft", id, "--file", exampleFile},
		"draft", "mobility high, support arranged", "to-confirm: G1602, K2204", "1. project workshops (3); 2. trade discovery (G1602, K2204)")
	// The same as protobuf JSON.
	jsonFile := filepath.Join(t.TempDir(), "analysis.json")
	if err := os.WriteFile(jsonFile, []byte(`{"skills":[{"domain":"SKILL_DOMAIN_DIGITAL","level":"SKILL_LEVEL_ACQUIRED"}],
		"project":{"maturity":"PROJECT_MATURITY_EMERGING","targetRomeCodes":["k2204"]},
		"recommended_steps":[{"qualifying_training":{}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	contains([]string{"analyses", "draft", id, "--file", jsonFile}, "digital acquired", "emerging: K2204", "1. qualifying training (Qualif)")
	contains([]string{"analyses", "draft", id, "-f", exampleFile}, "G1602")
	contains([]string{"analyses", "complete", id}, "completed", "CURRENT           yes")

	// Bad files are usage errors (2); bad content is refused naming the fields (1).
	badYAML := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("skills: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(2, "analyses", "draft", id, "--file", badYAML)
	unknown := filepath.Join(t.TempDir(), "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("skils: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(2, "analyses", "draft", id, "--file", unknown)
	run(2, "analyses", "draft", id)
	wrong := filepath.Join(t.TempDir(), "wrong.yaml")
	if err := os.WriteFile(wrong, []byte("diplomas: [{title: CAP, level: 9, year: 2019}]\nexperiences: [{kind: EXPERIENCE_KIND_WORK, role: Commis, rome_code: G16020, duration_months: 2}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v2 := contains([]string{"analyses", "revise", id}, "VERSION           2", "PREVIOUS VERSION  "+id)
	v2id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(v2, "\n", 2)[0], "ANALYSIS ID"))
	out = run(1, "analyses", "draft", v2id, "--file", wrong)
	if !strings.Contains(out, "content.diplomas[0].level") || !strings.Contains(out, "content.experiences[0].rome_code") {
		t.Fatalf("bad content: %s", out)
	}
	out = run(1, "analyses", "draft", id, "--file", exampleFile)
	if !strings.Contains(out, "immutable") {
		t.Fatalf("draft after completion: %s", out)
	}

	// Reads.
	eventually([]string{"analyses", "get", "--learner", learner}, "CURRENT           yes")
	contains([]string{"analyses", "get", id, "-o", "json"}, `"analysis_id": "`+id+`"`, `"BARRIER_KIND_MOBILITY"`)
	eventually([]string{"analyses", "list", "--learner", learner}, v2id)
	contains([]string{"analyses", "list", "--territory", "T05", "--status", "completed", "--from", "2026-11-01", "-o", "json"}, id)
	// An admin reads every count; for anyone else, a count under five is
	// "<5" (0 stays 0).
	summary := contains([]string{"analyses", "summary", "--period", "2026-11"},
		"COMPLETED", "T05", "TOTAL", "mobility 1, childcare 1", "G1602 1, K2204 1")
	funder := server.mint(auth.Principal{Subject: "cli-funder", Role: auth.RoleFunder})
	withheld := runAs(funder, 0, "analyses", "summary", "--period", "2026-11")
	for _, tc := range []struct {
		name, out string
		wants     []string
	}{
		{"admin", summary, []string{"T05 2026-11 1 0", "TOTAL 2026-11 1 0"}},
		{"funder", withheld, []string{"T05 2026-11 <5 0", "TOTAL 2026-11 <5 0", "T05 mobility <5, childcare <5 G1602 <5, K2204 <5"}},
	} {
		var lines []string
		for line := range strings.SplitSeq(tc.out, "\n") {
			lines = append(lines, strings.Join(strings.Fields(line), " "))
		}
		for _, w := range tc.wants {
			if !slices.Contains(lines, w) {
				t.Errorf("summary for %s: no line %q in\n%s", tc.name, w, tc.out)
			}
		}
	}
	run(2, "analyses", "get")
	run(2, "analyses", "list", "--status", "finished")
}
