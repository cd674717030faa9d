package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avenir-normandie/avenir/services/avenir/cli"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

func TestReferentsCommands(t *testing.T) {
	s := startPathwaysServer(t)
	addr, token, register := s.addr, s.token, s.register
	run := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), append(args, "--addr", addr, "--token", token), &out, &errOut)
		if code != want {
			t.Fatalf("avenir %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	eventually := func(args []string, want string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var out, errOut bytes.Buffer
			code := cli.Main(context.Background(), append(args, "--addr", addr, "--token", token), &out, &errOut)
			if code == 0 && strings.Contains(out.String(), want) {
				return out.String()
			}
			if time.Now().After(deadline) {
				t.Fatalf("avenir %s: no %q in %s%s", strings.Join(args, " "), want, out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var ref struct {
		ReferentID string `json:"referent_id"`
	}
	out := run(0, "referents", "register", "--name", "Anne Leroy", "--organisation", "AFPA Évreux", "--territory", "T05",
		"--capacity", "1", "--specialties", "disability,seniors", "--languages", "fr,en", "-o", "json")
	if err := json.Unmarshal([]byte(out), &ref); err != nil || ref.ReferentID == "" {
		t.Fatalf("register: %v\n%s", err, out)
	}
	run(2, "referents", "register", "--name", "X", "--organisation", "Y", "--territory", "T05", "--specialties", "astrology")
	run(1, "referents", "register", "--name", "X", "--organisation", "Y", "--territory", "T05") // capacity 0
	other := run(0, "referents", "register", "--name", "Paul Roy", "--organisation", "CCI", "--territory", "T05", "--kind", "economic")
	if !strings.Contains(other, "economic") {
		t.Fatalf("economic referent: %s", other)
	}

	first, second := register("T05"), register("T05")
	eventually([]string{"pathways", "enter", first, "--entry-date", "2026-11-02"}, "ACTIVE")
	eventually([]string{"referents", "assignment", first}, ref.ReferentID)
	eventually([]string{"pathways", "enter", second, "--entry-date", "2026-11-02"}, "ACTIVE")
	eventually([]string{"referents", "assignment", second}, "QUEUED SINCE")
	eventually([]string{"referents", "queue", "--territory", "T05"}, second)
	// The load: one pedagogical referent (capacity 1) following the first
	// learner, the second waiting, one economic referent. An admin reads
	// the counts of learners; a funder reads <5 for a count of 1 to 4.
	load := []string{"referents", "load", "--territory", "T05"}
	loadRow := func(token string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := cli.Main(context.Background(), append(slices.Clip(load), "--addr", addr, "--token", token), &out, &errOut); code != 0 {
			t.Fatalf("avenir %s: exit %d\n%s%s", strings.Join(load, " "), code, out.String(), errOut.String())
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "T05 ") {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		t.Fatalf("avenir %s: no T05 in\n%s", strings.Join(load, " "), out.String())
		return ""
	}
	// The queue reaches the read model in moments.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		row := loadRow(token)
		if row == "T05 1 1 1 1 1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin's load: %q, want %q", row, "T05 1 1 1 1 1")
		}
	}
	funder := s.mint(auth.Principal{Subject: "u-fund", Role: auth.RoleFunder})
	if got := loadRow(funder); got != "T05 1 1 1 <5 <5" {
		t.Fatalf("funder's load: %q, want %q", got, "T05 1 1 1 <5 <5")
	}
	run(0, "referents", "list", "--territory", "T05", "--kind", "economic")
	// The caseload shows the phase pathway derived.
	caseload := eventually([]string{"referents", "caseload", ref.ReferentID}, "welcomed")
	if !strings.Contains(caseload, first) || !strings.Contains(caseload, "1/1 learners") {
		t.Fatalf("caseload:\n%s", caseload)
	}
	// The caseload names its learners (intake answers the names, joined by
	// the CLI); JSON keeps the ids only.
	if header, learner := lineWith(caseload, "LEARNER ID"), lineWith(caseload, first); !strings.Contains(header, "NAME") || !strings.Contains(learner, "Martin Léa") {
		t.Fatalf("caseload without the learner's name:\n%s", caseload)
	}
	if js := run(0, "referents", "caseload", ref.ReferentID, "-o", "json"); strings.Contains(js, "Martin") || !strings.Contains(js, first) {
		t.Fatalf("caseload as JSON:\n%s", js)
	}
	// A timeline names the referents who acted: Anne Leroy refers her
	// learner.
	anne := s.mint(auth.Principal{Subject: "u-anne", Role: auth.RoleReferent, ReferentID: ref.ReferentID, Territories: []string{"T05"}})
	var out2, errOut2 bytes.Buffer
	if code := cli.Main(context.Background(), []string{"pathways", "refer", first, "--programme", "qualif", "--organisation", "AFPA Caen",
		"--date", "2026-11-05", "--addr", addr, "--token", anne}, &out2, &errOut2); code != 0 {
		t.Fatalf("refer as the referent: exit %d\n%s%s", code, out2.String(), errOut2.String())
	}
	timeline := eventually([]string{"pathways", "timeline", first}, "referent:"+ref.ReferentID)
	if row := lineWith(timeline, "referent:"+ref.ReferentID); !strings.Contains(row, "Anne Leroy") || !strings.Contains(lineWith(timeline, "TIME (PARIS)"), "ACTOR NAME") {
		t.Fatalf("timeline without the referent's name:\n%s", timeline)
	}

	// An update changes only the fields given: the capacity here; the name,
	// organisation, territories, specialties and languages stay.
	updated := run(0, "referents", "update", ref.ReferentID, "--capacity", "2")
	for name, want := range map[string]string{
		"NAME": "Anne Leroy", "ORGANISATION": "AFPA Évreux", "TERRITORIES": "T05", "SPECIALTIES": "disability, seniors",
		"LANGUAGES": "fr, en", "LOAD": "/2",
	} {
		if !strings.Contains(tableValue(updated, name), want) {
			t.Fatalf("update --capacity 2: %s = %q, want %q\n%s", name, tableValue(updated, name), want, updated)
		}
	}
	run(2, "referents", "update", ref.ReferentID)
	eventually([]string{"referents", "assignment", second}, ref.ReferentID)
	run(0, "referents", "availability", ref.ReferentID, "--absent-from", "2026-12-21", "--absent-to", "2027-01-03")

	var next struct {
		ReferentID string `json:"referent_id"`
	}
	out = run(0, "referents", "register", "--name", "Bruno Petit", "--organisation", "AFPA Évreux", "--territory", "T05", "--capacity", "5", "-o", "json")
	if err := json.Unmarshal([]byte(out), &next); err != nil {
		t.Fatal(err)
	}
	handed := run(0, "referents", "handover", first, "--from-referent", ref.ReferentID, "--to-referent", next.ReferentID, "--reason", "moves to Vernon")
	if !strings.Contains(handed, "reads until") || !strings.Contains(handed, "handover: moves to Vernon") {
		t.Fatalf("handover:\n%s", handed)
	}
	run(1, "referents", "handover", first, "--from-referent", ref.ReferentID, "--to-referent", next.ReferentID, "--reason", "again")
	run(2, "referents", "handover", first, "--from", ref.ReferentID, "--to", next.ReferentID, "--reason", "again")
	run(0, "referents", "assign", second, next.ReferentID, "--reason", "speaks Arabic")
	// Bruno's absence, Anne standing in for his learners.
	run(1, "referents", "availability", next.ReferentID, "--interim", ref.ReferentID) // no dates
	away := run(0, "referents", "availability", next.ReferentID, "--absent-from", "2026-12-21", "--absent-to", "2027-01-03", "--interim", ref.ReferentID)
	if tableValue(away, "INTERIM") != ref.ReferentID || tableValue(away, "ABSENT") != "2026-12-21 to 2027-01-03" {
		t.Fatalf("availability --interim:\n%s", away)
	}
	if a := run(0, "referents", "assignment", first); tableValue(a, "INTERIM") != ref.ReferentID+" from 2026-12-21 to 2027-01-03" ||
		tableValue(a, "REFERENT") != next.ReferentID {
		t.Fatalf("assignment with an interim:\n%s", a)
	}
	if cl := run(0, "referents", "caseload", ref.ReferentID); !strings.Contains(cl, "INTERIM FOR") ||
		!strings.Contains(lineWith(cl, first), next.ReferentID+", 2026-12-21 to 2027-01-03") {
		t.Fatalf("Anne's caseload with Bruno's learners:\n%s", cl)
	}
	run(0, "referents", "deactivate", ref.ReferentID)
	eventually([]string{"referents", "list", "--territory", "T05", "--include-deactivated"}, "Anne Leroy")
}

// lineWith is the first line of out holding s, "" when none does.
func lineWith(out, s string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
