package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// TestErasureAndRetentionCommands registers two people in August 2024 with
// intake alone, erases one on request, then, on 26 November 2026, lists and
// applies the retention policy, which erases the other (registered more
// than 24 months ago, never entered the pathway).
func TestErasureAndRetentionCommands(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2024, 8, 1, 10, 0, 0, 0, civil.Paris)
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := servertest.Dev(dataDir)
	cfg.Services, cfg.Now = []string{"intake"}, clock
	addrs, _ := servertest.Run(t, cfg)
	as := func(p auth.Principal) func(args ...string) (int, string, string) {
		token := servertest.Token(t, dataDir, p, clock())
		return func(args ...string) (int, string, string) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), append(args, "--addr", addrs.GRPC, "--token", token), &stdout, &stderr)
			return code, stdout.String(), stderr.String()
		}
	}
	admin := as(auth.Principal{Subject: "cli-admin", Role: auth.RoleAdmin})
	register := func(family string) string {
		t.Helper()
		code, out, errOut := admin("learners", "register", "--family-name", family, "--given-name", "Léa", "--birth-date", "1990-05-14",
			"--territory", "T05", "--commune", "27229", "--email", "lea@example.fr", "--education-level", "3", "--referral-source", "self")
		if code != 0 {
			t.Fatalf("register: %d %s", code, errOut)
		}
		return row(out, "LEARNER ID")
	}
	erased, kept := register("Quéméner"), register("Martin")

	// Erasure: admins only, with a known ground and a reference.
	code, _, errOut := as(auth.Principal{Subject: "cli-ref", Role: auth.RoleReferent, ReferentID: "ref", Territories: []string{"T05"}})(
		"learners", "erase", erased, "--ground", "request", "--reference", "ticket 1")
	if code != 1 || !strings.Contains(errOut, "PermissionDenied") {
		t.Fatalf("as a referent: %d %s", code, errOut)
	}
	if code, _, errOut = admin("learners", "erase", erased, "--ground", "whim", "--reference", "ticket 1"); code != 2 ||
		!strings.Contains(errOut, "request, retention, unlawful, legal-obligation") {
		t.Fatalf("unknown ground: %d %s", code, errOut)
	}
	if code, _, errOut = admin("learners", "erase", erased, "--ground", "request"); code != 2 || !strings.Contains(errOut, "reference") {
		t.Fatalf("no reference: %d %s", code, errOut)
	}
	code, out, errOut := admin("learners", "erase", erased, "--ground", "request", "--reference", "courrier 2024-114")
	if code != 0 || row(out, "NAME") != "personne effacée" || row(out, "ERASED ON") != "2024-08-01" || row(out, "TERRITORY") != "T05" ||
		strings.Contains(out, "Quéméner") || strings.Contains(out, "lea@example.fr") {
		t.Fatalf("erase: %d %s %s", code, out, errOut)
	}
	code, out, _ = admin("learners", "get", erased)
	if code != 0 || row(out, "NAME") != "personne effacée" || row(out, "ERASED ON") != "2024-08-01" || strings.Contains(out, "EMAIL") {
		t.Fatalf("get: %d %s", code, out)
	}
	code, out, _ = admin("learners", "history", erased)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[1], "personne effacée") || !strings.Contains(lines[2], "erased on 2024-08-01") ||
		strings.Contains(out, "Quéméner") {
		t.Fatalf("history: %d %s", code, out)
	}

	// Retention, 28 months later.
	mu.Lock()
	now = time.Date(2026, 11, 26, 10, 0, 0, 0, civil.Paris)
	mu.Unlock()
	admin = as(auth.Principal{Subject: "cli-admin", Role: auth.RoleAdmin})
	if code, _, errOut = admin("privacy", "retention"); code != 2 || !strings.Contains(errOut, "--dry-run or --run") {
		t.Fatalf("neither flag: %d %s", code, errOut)
	}
	code, out, errOut = admin("privacy", "retention", "--dry-run")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "26/11/2026 (24 months): 1 due, 0 held back") ||
		!strings.HasPrefix(lines[1], "LEARNER ID") || !strings.Contains(lines[1], "HELD REASON") ||
		!strings.Contains(lines[2], kept) || !strings.Contains(lines[2], "never entered") || !strings.Contains(lines[2], "01/08/2026") {
		t.Fatalf("dry run: %d %s %s", code, out, errOut)
	}
	code, out, errOut = admin("privacy", "retention", "--run")
	if code != 0 || strings.TrimSpace(out) != kept {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	code, out, _ = admin("learners", "get", kept)
	if code != 0 || row(out, "NAME") != "personne effacée" || row(out, "ERASED ON") != "2026-11-26" {
		t.Fatalf("get after the run: %d %s", code, out)
	}
	code, out, _ = admin("privacy", "retention", "--run")
	if code != 0 || !strings.Contains(out, "no learner erased (plan of 26/11/2026: 1 due, 0 held back)") {
		t.Fatalf("second run: %d %s", code, out)
	}
}
