package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// TestLearnersExport gathers what every service holds about a learner
// registered, entered, analysed, enrolled, billed and booked on the
// server's day (26 November 2026), as one JSON document and as a document
// in French; a learner who only registered gives empty sections; an erased
// learner exports as "personne effacée"; only admins may export.
func TestLearnersExport(t *testing.T) {
	h := newCLIHarness(t)
	admin := h.mint(auth.Principal{Subject: "cli-admin", Role: auth.RoleAdmin})
	referent := h.mint(auth.Principal{Subject: "ref-05", Role: auth.RoleReferent, ReferentID: "ref-05", Territories: []string{"T05"}, Coordinator: true})
	operator := h.mint(auth.Principal{Subject: "op-evreux", Role: auth.RoleOperator, OperatorID: "op-evreux", Territories: []string{"T05"}})
	funder := h.mint(auth.Principal{Subject: "region", Role: auth.RoleFunder})

	register := func(family, given, email, phone string) string {
		return h.id(h.expect(admin, 0, []string{"learners", "register", "--family-name", family, "--given-name", given,
			"--birth-date", "1990-03-04", "--territory", "T05", "--commune", "27229", "--email", email, "--phone", phone,
			"--education-level", "4", "--education-justification", "Bac obtenu en 2008,\nreconversion après un licenciement",
			"--referral-source", "mission-locale", "--rqth", "-o", "json"}), "learner_id")
	}
	id := register("Quintal", "Éloïse", "eloise.quintal@example.org", "06 11 22 33 44")

	// Pathway, with an enrolment in a contract that bills two lines.
	contract := h.id(h.expect(admin, 0, []string{"funding", "contracts", "create", "--operator-id", "op-evreux", "--reference", "Lot 5 Eure",
		"--territory", "T05", "--from", "2026-10-01", "--to", "2027-09-30", "--trainee-hour-rate-cents", "1250",
		"--envelope-cents", "100000000", "--max-group-size", "12", "--programme", "avenir", "-o", "json"}), "contract_id")
	h.eventually(admin, []string{"pathways", "enter", id, "--entry-date", "2026-11-26"}, "ACTIVE")
	h.eventually(admin, []string{"pathways", "enrol", id, "--contract", contract, "--kind", "accompaniment", "--from", "2026-11-26"}, contract)
	h.eventually(operator, []string{"funding", "hours", "report", contract, "--line-id", "L-1", "--learner", id,
		"--date", "2026-11-26", "--minutes", "60", "--activity", "face-to-face"}, "accepted")
	h.expect(operator, 0, []string{"funding", "hours", "report", contract, "--line-id", "L-2", "--learner", id,
		"--date", "2026-11-26", "--minutes", "90", "--activity", "distance"}, "accepted")

	// Needs: the README's analysis, completed.
	analysis := h.id(h.eventually(admin, []string{"analyses", "start", id, "-o", "json"}), "analysis_id")
	h.expect(admin, 0, []string{"analyses", "draft", analysis, "--file", exampleFile})
	h.expect(admin, 0, []string{"analyses", "complete", analysis}, "completed")

	// Immersion: a place in a one-day session today.
	offer := h.id(h.expect(admin, 0, []string{"immersions", "offers", "publish", "--operator-id", "op-evreux",
		"--platform-name", "Plateau bâtiment AFPA Évreux", "--address", "12 rue de la Forêt, 27000 Évreux", "--commune", "27229",
		"--territory", "T05", "--rome-codes", "F1703", "--accredited-from", "2026-09-01", "--accredited-to", "2027-08-31", "-o", "json"}), "offer_id")
	session := h.id(h.expect(admin, 0, []string{"immersions", "sessions", "schedule", offer, "--from", "2026-11-26", "--to", "2026-11-26",
		"--daily-minutes", "420", "--capacity", "2", "-o", "json"}), "session_id")
	h.eventually(admin, []string{"immersions", "book", session, id}, "booked")

	// Every service has its part before the export is asked.
	h.eventually(admin, []string{"funding", "statements", "get", contract, "--period", "2026-11"}, "L-2")
	h.eventually(admin, []string{"immersions", "bookings", "--learner", id}, session)
	h.eventually(admin, []string{"pathways", "timeline", id}, "Needs analysis completed")
	h.eventually(admin, []string{"referents", "assignment", id}, id)

	// JSON: one document, each service's answers as the API gives them.
	out := h.expect(admin, 0, []string{"learners", "export", id, "--format", "json"})
	var doc struct {
		GeneratedAt string `json:"generated_at"`
		LearnerID   string `json:"learner_id"`
		Intake      struct {
			Learner struct {
				FamilyName string `json:"family_name"`
				Contact    struct {
					Email string `json:"email"`
					Phone string `json:"phone"`
				} `json:"contact"`
				Rqth bool `json:"rqth"`
			} `json:"learner"`
			History []json.RawMessage `json:"history"`
		} `json:"intake"`
		Pathway struct {
			Pathway struct {
				Episodes []struct {
					Enrolments []json.RawMessage `json:"enrolments"`
				} `json:"episodes"`
			} `json:"pathway"`
			Timeline []struct {
				Source string `json:"source"`
			} `json:"timeline"`
		} `json:"pathway"`
		Needs struct {
			Analyses []struct {
				AnalysisID string `json:"analysis_id"`
				Content    struct {
					Barriers []json.RawMessage `json:"barriers"`
				} `json:"content"`
			} `json:"analyses"`
		} `json:"needs"`
		Referent struct {
			Assignment struct {
				LearnerID string `json:"learner_id"`
				Pending   bool   `json:"pending"`
			} `json:"assignment"`
		} `json:"referent"`
		Immersion struct {
			Bookings []struct {
				SessionID string `json:"session_id"`
				Status    string `json:"status"`
			} `json:"bookings"`
		} `json:"immersion"`
		Funding struct {
			Lines []struct {
				ContractID string `json:"contract_id"`
				Line       struct {
					OperatorLineID string `json:"operator_line_id"`
					AmountCents    string `json:"amount_cents"`
				} `json:"line"`
			} `json:"lines"`
		} `json:"funding"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("export -o json: %v\n%s", err, out)
	}
	in, pw := doc.Intake, doc.Pathway
	switch {
	case doc.LearnerID != id || doc.GeneratedAt == "":
		t.Errorf("export: learner %q generated at %q", doc.LearnerID, doc.GeneratedAt)
	case in.Learner.FamilyName != "Quintal" || in.Learner.Contact.Email != "eloise.quintal@example.org" ||
		in.Learner.Contact.Phone != "+33611223344" || !in.Learner.Rqth || len(in.History) != 1:
		t.Errorf("export's intake: %+v", in)
	case len(pw.Pathway.Episodes) != 1 || len(pw.Pathway.Episodes[0].Enrolments) != 1 || len(pw.Timeline) < 4:
		t.Errorf("export's pathway: %+v", pw)
	case len(doc.Needs.Analyses) != 1 || doc.Needs.Analyses[0].AnalysisID != analysis || len(doc.Needs.Analyses[0].Content.Barriers) != 2:
		t.Errorf("export's needs: %+v", doc.Needs)
	case doc.Referent.Assignment.LearnerID != id || !doc.Referent.Assignment.Pending:
		t.Errorf("export's referent: %+v", doc.Referent)
	case len(doc.Immersion.Bookings) != 1 || doc.Immersion.Bookings[0].SessionID != session || doc.Immersion.Bookings[0].Status != "BOOKING_STATUS_BOOKED":
		t.Errorf("export's immersion: %+v", doc.Immersion)
	case len(doc.Funding.Lines) != 2 || doc.Funding.Lines[0].Line.OperatorLineID != "L-1" || doc.Funding.Lines[0].Line.AmountCents != "1250" ||
		doc.Funding.Lines[1].Line.OperatorLineID != "L-2" || doc.Funding.Lines[1].ContractID != contract:
		t.Errorf("export's funding: %+v", doc.Funding)
	}

	// Markdown, in French, to a file only its owner reads.
	file := filepath.Join(t.TempDir(), "acces.md")
	if err := os.WriteFile(file, []byte("an older export, longer than the new one and readable by all"+strings.Repeat(".", 10000)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.expect(admin, 0, []string{"learners", "export", id, "--format", "md", "--out", file}, file)
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", info.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if strings.Contains(md, "an older export") || strings.HasSuffix(md, "...") {
		t.Errorf("the export did not replace the file:\n%s", md)
	}
	for _, want := range []string{
		"# Données détenues sur Éloïse Quintal", "Identifiant : `" + id + "`",
		"## Identité", "- Nom : Quintal", "- Date de naissance : 04/03/1990", "- Courriel : eloise.quintal@example.org",
		"- Téléphone : +33611223344", "niveau de formation : niveau 4 (baccalauréat)",
		"justification du niveau : Bac obtenu en 2008, reconversion après un licenciement", "orientée par : mission locale", "RQTH : oui",
		"### Historique", ": inscription — Éloïse Quintal, T05",
		"## Parcours", "- Statut : dans le dispositif", "### Épisode 1", "- Entrée : 26/11/2026",
		"accompagnement, contrat " + contract + " de l'opérateur op-evreux, du 26/11/2026", "### Chronologie",
		"## Analyses des besoins", "### Analyse " + analysis + ", version 1 (épisode 1)", "- État : achevée",
		"communication en français : acquis", "CAP Agent polyvalent de restauration, niveau 3, 2019", "mobilité (fort, accompagnement organisé)",
		"projet à confirmer, métiers visés G1602, K2204, au plus 30 h par semaine, au plus 25 km", "ateliers projet (3)",
		"## Référent", "En attente d'un référent depuis le : ",
		"## Immersions", "- Du 26/11/2026 au 26/11/2026, session " + session + ", opérateur op-evreux, territoire T05, métiers F1703 : place réservée",
		"## Lignes de financement", "| 26/11/2026 | " + contract + " | op-evreux | 11/2026 | heures stagiaire (en présentiel) | 60 min | 12,50 € | facturée |",
		"| 26/11/2026 | " + contract + " | op-evreux | 11/2026 | heures stagiaire (à distance) | 90 min | 18,75 € | facturée |",
		"Total facturé : 31,25 € (2 lignes).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in the export:\n%s", want, md)
		}
	}

	// A learner only registered: the services that know nothing of it give
	// empty sections.
	other := register("Verdier", "Noé", "noe.verdier@example.org", "07 98 76 54 32")
	md = h.expect(admin, 0, []string{"learners", "export", other, "--format", "md"}, "# Données détenues sur Noé Verdier",
		"Aucun parcours.", "Aucune analyse.", "Aucun référent.", "Aucune immersion.", "Aucune ligne.")
	if strings.Contains(md, "Quintal") {
		t.Errorf("another learner's export names Quintal:\n%s", md)
	}
	h.expect(admin, 0, []string{"learners", "export", other, "--format", "json"}, `"pathway": null`, `"analyses": []`, `"lines": []`)

	// Erased: what remains, under the pseudonymous id.
	h.expect(admin, 0, []string{"learners", "erase", other, "--ground", "request", "--reference", "demande du 20/11/2026"})
	md = h.expect(admin, 0, []string{"learners", "export", other, "--format", "md"},
		"# Données détenues sur une personne effacée", "- Nom : personne effacée", "effacées le 26/11/2026", "- Territoire : T05",
		": effacement des données personnelles — à la demande de la personne, référence demande du 20/11/2026")
	for _, gone := range []string{"Verdier", "Noé", "noe.verdier", "+33798765432", "04/03/1990"} {
		if strings.Contains(md, gone) {
			t.Errorf("the erased learner's export holds %q:\n%s", gone, md)
		}
	}
	h.expect(admin, 0, []string{"learners", "export", other, "--format", "json"}, `"erased": true`)

	// Only admins; nothing is printed to the others; usage errors.
	for _, tok := range []string{referent, operator, funder} {
		if got := h.expect(tok, 1, []string{"learners", "export", id, "--format", "md"}, "funding: PermissionDenied"); strings.Contains(got, "Quintal") {
			t.Errorf("a refused export printed personal data:\n%s", got)
		}
	}
	h.expect(admin, 1, []string{"learners", "export", "0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89", "--format", "md"}, "intake: NotFound")
	h.expect(admin, 2, []string{"learners", "export", id}, "format")
	h.expect(admin, 2, []string{"learners", "export", id, "--format", "pdf"}, "--format must be json or md")
	h.expect(admin, 2, []string{"learners", "export", "--format", "md"}, "accepts 1 arg(s)")
}
