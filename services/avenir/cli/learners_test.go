package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// learnersServer runs intake in-process with the territories of file and
// returns a function giving, for a principal p, a function running the CLI
// against it as p: exit code, stdout and stderr.
func learnersServer(t *testing.T, territoriesFile string) func(p auth.Principal) func(args ...string) (int, string, string) {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := servertest.Dev(dataDir)
	cfg.Services, cfg.TerritoriesFile = []string{"intake"}, territoriesFile
	addrs, _ := servertest.Run(t, cfg)
	return func(p auth.Principal) func(args ...string) (int, string, string) {
		token := servertest.Token(t, dataDir, p, time.Now())
		return func(args ...string) (int, string, string) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), append(args, "--addr", addrs.GRPC, "--token", token), &stdout, &stderr)
			return code, stdout.String(), stderr.String()
		}
	}
}

// row returns the value of the row named name in a two-column table.
func row(table, name string) string {
	for line := range strings.SplitSeq(table, "\n") {
		if rest, ok := strings.CutPrefix(line, name+"  "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func TestLearnersCommands(t *testing.T) {
	territories := filepath.Join(t.TempDir(), "territories.json")
	if err := os.WriteFile(territories, []byte(`{"version":"cli-test","territories":[
		{"code":"T05","name":"Évreux","department":"27"},
		{"code":"T19","name":"Le Havre","department":"76"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	referent := auth.Principal{Subject: "cli-ref", Role: auth.RoleReferent, ReferentID: "ref-cli", Territories: []string{"T05", "T19"}}
	as := learnersServer(t, territories)
	run := as(referent)

	register := []string{"learners", "register", "--family-name", "Lefèvre", "--given-name", "Anaïs", "--birth-date", "1970-04-12",
		"--territory", "T05", "--commune", "27229", "--phone", "06 12 34 56 78", "--education-level", "no-diploma",
		"--referral-source", "france-travail", "--job-seeker", "--france-travail-id", "1234567a", "--rqth"}
	code, out, errOut := run(register...)
	if code != 0 {
		t.Fatalf("register: %d %s", code, errOut)
	}
	for name, want := range map[string]string{
		"FAMILY NAME": "Lefèvre", "PHONE": "+33612345678", "COMMUNE": "27229", "TERRITORY": "T05", "SENIOR AT ENTRY": "yes",
		"FRANCE TRAVAIL ID": "1234567A", "EDUCATION LEVEL": "no-diploma", "REFERRAL SOURCE": "france-travail", "JOB SEEKER": "yes", "RQTH": "yes",
	} {
		if got := row(out, name); got != want {
			t.Errorf("register %s = %q, want %q\n%s", name, got, want, out)
		}
	}
	id := row(out, "LEARNER ID")

	// The same person again: refused, naming the learner.
	register[len(register)-2] = "7654321B"
	code, _, errOut = run(append(register, "--family-name", "LEFEVRE")...)
	if code != 1 || !strings.Contains(errOut, "AlreadyExists") || !strings.Contains(errOut, "learner_id: "+id) || !strings.Contains(errOut, "match: identity") {
		t.Fatalf("duplicate: %d %s", code, errOut)
	}
	// Bad input names the fields; an unknown enum spelling is a usage error.
	code, _, errOut = run("learners", "register", "--family-name", "Martin", "--given-name", "Léa", "--birth-date", "2001-05-14",
		"--territory", "T19", "--commune", "27229", "--education-level", "4", "--referral-source", "self")
	if code != 1 || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "contact.commune_code") || !strings.Contains(errOut, "- contact:") {
		t.Fatalf("bad input: %d %s", code, errOut)
	}
	code, _, errOut = run("learners", "register", "--family-name", "Martin", "--given-name", "Léa", "--birth-date", "2001-05-14",
		"--territory", "T19", "--commune", "76351", "--email", "lea@example.fr", "--education-level", "bac", "--referral-source", "self")
	if code != 2 || !strings.Contains(errOut, "--education-level") || !strings.Contains(errOut, "no-diploma, 3, 4") {
		t.Fatalf("unknown level: %d %s", code, errOut)
	}
	// Above the scheme's public (level 4 and up), a justification is
	// required.
	lea := []string{"learners", "register", "--family-name", "Martin", "--given-name", "Léa", "--birth-date", "2001-05-14",
		"--territory", "T19", "--commune", "76351", "--email", "lea@example.fr", "--education-level", "5", "--referral-source", "cap-emploi"}
	code, _, errOut = run(lea...)
	if code != 1 || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "situation.education_level_justification") ||
		!strings.Contains(errOut, "justification is required above the scheme's public") {
		t.Fatalf("level 5 without a justification: %d %s", code, errOut)
	}
	code, out, errOut = run(append(lea, "--education-justification", "BTS obtenu au Maroc,\nnon reconnu en France", "-o", "json")...)
	var leaJSON struct {
		LearnerID string `json:"learner_id"`
		Territory string `json:"territory_code"`
		Situation struct {
			Justification string `json:"education_level_justification"`
		} `json:"situation"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &leaJSON) != nil || leaJSON.Territory != "T19" ||
		leaJSON.Situation.Justification != "BTS obtenu au Maroc,\nnon reconnu en France" {
		t.Fatalf("register in T19 (territories file): %d %s %s", code, out, errOut)
	}
	code, out, errOut = run("learners", "get", leaJSON.LearnerID)
	if code != 0 || row(out, "EDUCATION JUSTIFICATION") != "BTS obtenu au Maroc, non reconnu en France" {
		t.Fatalf("get shows the justification: %d %s %s", code, out, errOut)
	}
	code, _, errOut = run("learners", "update-situation", leaJSON.LearnerID, "--education-level", "3", "--education-justification", "Au cas où")
	if code != 1 || !strings.Contains(errOut, "education_level_justification") {
		t.Fatalf("a justification with level 3: %d %s", code, errOut)
	}
	code, out, errOut = run("learners", "update-situation", leaJSON.LearnerID, "--education-justification", "Diplôme étranger non reconnu")
	if code != 0 || row(out, "EDUCATION JUSTIFICATION") != "Diplôme étranger non reconnu" || row(out, "EDUCATION LEVEL") != "5" {
		t.Fatalf("update-situation of the justification: %d %s %s", code, out, errOut)
	}
	// A funder is not sent the situation, nor its justification.
	code, out, _ = as(auth.Principal{Subject: "cli-funder", Role: auth.RoleFunder})("learners", "get", leaJSON.LearnerID)
	if code != 0 || strings.Contains(out, "JUSTIFICATION") || strings.Contains(out, "non reconnu") {
		t.Fatalf("a funder reads the justification: %d %s", code, out)
	}

	code, out, errOut = run("learners", "update-contact", id, "--email", "anais@example.fr", "--phone", "")
	if code != 0 || row(out, "EMAIL") != "anais@example.fr" || row(out, "PHONE") != "" {
		t.Fatalf("update-contact: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = run("learners", "update-contact", id); code != 2 || !strings.Contains(errOut, "nothing to change") {
		t.Fatalf("update-contact without flags: %d %s", code, errOut)
	}
	code, out, errOut = run("learners", "update-situation", id, "--effective-date", "today", "--job-seeker=false", "--rsa", "--education-level", "3")
	if code != 0 || row(out, "JOB SEEKER") != "no" || row(out, "RSA") != "yes" || row(out, "EDUCATION LEVEL") != "3" || row(out, "FRANCE TRAVAIL ID") != "1234567A" {
		t.Fatalf("update-situation: %d %s %s", code, out, errOut)
	}
	code, _, errOut = run("learners", "update-situation", id, "--effective-date", "2000-01-01", "--rsa=false")
	if code != 1 || !strings.Contains(errOut, "effective_date") {
		t.Fatalf("update-situation before registration: %d %s", code, errOut)
	}

	code, out, errOut = run("learners", "get", id)
	if code != 0 || row(out, "EMAIL") != "anais@example.fr" || row(out, "RSA") != "yes" {
		t.Fatalf("get: %d %s %s", code, out, errOut)
	}
	// A funder reads what billing needs: the rows it is not sent are not
	// shown, rather than as empty or "no".
	code, out, errOut = as(auth.Principal{Subject: "cli-funder", Role: auth.RoleFunder})("learners", "get", id)
	if code != 0 || row(out, "FAMILY NAME") != "Lefèvre" || row(out, "TERRITORY") != "T05" {
		t.Fatalf("get as a funder: %d %s %s", code, out, errOut)
	}
	for _, hidden := range []string{"BIRTH DATE", "SENIOR AT ENTRY", "EMAIL", "PHONE", "COMMUNE", "JOB SEEKER", "RSA", "QPV", "EDUCATION LEVEL", "RQTH"} {
		if strings.Contains(out, hidden) {
			t.Errorf("a funder is shown %s:\n%s", hidden, out)
		}
	}
	code, out, errOut = run("learners", "history", id)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.Contains(lines[1], "registered") || !strings.Contains(lines[2], "contact-updated") ||
		!strings.Contains(lines[3], "situation-updated") || !strings.Contains(lines[3], "rsa=yes") || !strings.Contains(lines[1], "referent:ref-cli") {
		t.Fatalf("history: %d %s %s", code, out, errOut)
	}

	// Search: one row per learner, and the next page token.
	servicetest.Eventually(t, 10*time.Second, func() error {
		if code, out, errOut := run("learners", "search", "-o", "json"); code != 0 || strings.Count(out, `"learner_id"`) != 2 {
			return fmt.Errorf("%d %s %s", code, out, errOut)
		}
		return nil
	})
	code, out, errOut = run("learners", "search", "--page-size", "1")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "LEARNER ID") || !strings.Contains(lines[1], "Lefèvre") ||
		!strings.HasPrefix(lines[2], "NEXT PAGE TOKEN: ") {
		t.Fatalf("search page 1: %d %s %s", code, out, errOut)
	}
	code, out, errOut = run("learners", "search", "--page-size", "1", "--page-token", strings.TrimPrefix(lines[2], "NEXT PAGE TOKEN: "))
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "Martin") || !strings.Contains(lines[1], leaJSON.LearnerID) {
		t.Fatalf("search page 2: %d %s %s", code, out, errOut)
	}
	code, out, _ = run("learners", "search", "--france-travail-id", "1234567A", "--family-name", "LEFE")
	if code != 0 || !strings.Contains(out, id) || strings.Contains(out, "NEXT PAGE TOKEN") {
		t.Fatalf("search by id: %d %s", code, out)
	}
}

// The --territories-file flag reaches intake: a bad file stops the server
// with the reason.
func TestServerTerritoriesFileFlag(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "territories.json")
	if err := os.WriteFile(bad, []byte(`{"version":"1","territories":[{"code":"T1","name":"X","department":"75"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"server", "--dev", "--services", "intake", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--territories-file", bad}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "territories file "+bad) || !strings.Contains(stderr.String(), `department "75"`) {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
}
