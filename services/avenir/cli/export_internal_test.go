package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
)

func date(y, m, d int32) *commonv1.Date { return &commonv1.Date{Year: y, Month: m, Day: d} }

// An erased learner's export: "personne effacée", the facts that remain
// (dates, codes, billing lines), and labels in French; free texts are
// escaped so that they cannot format the document.
func TestExportMarkdownOfAnErasedLearner(t *testing.T) {
	x := &learnerExport{
		generatedAt: time.Date(2027, 3, 2, 8, 30, 0, 0, time.UTC),
		learnerID:   "l-1",
		learner:     &intakev1.Learner{LearnerId: "l-1", TerritoryCode: "T05", RegisteredOn: date(2026, 9, 1), Erased: true, ErasedOn: date(2027, 3, 1)},
		history: []*intakev1.LearnerChange{{Kind: intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_REGISTERED, EffectiveOn: date(2026, 9, 1),
			RecordedAt: timestamppb.New(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)), Actor: "referent:ref-05", Learner: &intakev1.Learner{LearnerId: "l-1", Erased: true}}},
		pathway: &pathwayv1.Pathway{LearnerId: "l-1", Status: pathwayv1.PathwayStatus_PATHWAY_STATUS_EXITED, Phase: pathwayv1.PathwayPhase_PATHWAY_PHASE_EXITED,
			Episodes: []*pathwayv1.Episode{{Number: 1, EntryDate: date(2026, 9, 2), ExitDate: date(2026, 11, 20), ExitReason: pathwayv1.ExitReason_EXIT_REASON_HEALTH}}},
		analyses: []*needsv1.Analysis{{AnalysisId: "a-1", Version: 1, EpisodeNumber: 1, Status: needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED,
			StartedOn: date(2026, 9, 3), CompletedOn: date(2026, 9, 10), Current: true}},
		bookings: []*immersionv1.Booking{{SessionId: "s-1", OperatorId: "op-1", TerritoryCode: "T05", RomeCodes: []string{"F1703"},
			FromDate: date(2026, 10, 5), ToDate: date(2026, 10, 9), Status: immersionv1.BookingStatus_BOOKING_STATUS_CANCELLED,
			CancellationCause: immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT}},
		lines: []*fundingv1.LearnerLine{{ContractId: "c-1", OperatorId: "op-1", Period: &commonv1.Month{Year: 2026, Month: 10}, StatementClosed: true,
			Line: &fundingv1.StatementLine{Unit: fundingv1.Unit_UNIT_TRAINEE_HOUR, Date: date(2026, 10, 12), Minutes: 120,
				Activity: fundingv1.ActivityType_ACTIVITY_TYPE_DISTANCE, AmountCents: 123456, Status: fundingv1.LineStatus_LINE_STATUS_BILLED}},
			{ContractId: "c-1", OperatorId: "op-1", Period: &commonv1.Month{Year: 2026, Month: 11},
				Line: &fundingv1.StatementLine{Unit: fundingv1.Unit_UNIT_FLAT_FEE, FeeType: fundingv1.FeeType_FEE_TYPE_CUSTOM, CustomCode: "MOB_*",
					Date: date(2026, 11, 3), AmountCents: 5000, Status: fundingv1.LineStatus_LINE_STATUS_REJECTED}}},
	}
	var b bytes.Buffer
	if err := x.writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# Données détenues sur une personne effacée\n",
		"Document établi le 02/03/2027 à 09:30",
		"Personne effacée : les données personnelles de cette personne ont été effacées le 01/03/2027",
		"- Nom : personne effacée\n", "- Territoire : T05\n", "- Inscription : 01/09/2026\n",
		"- 01/09/2026 (enregistré le 01/09/2026 à 10:00, par referent:ref-05) : inscription\n",
		"- Statut : sorti du dispositif\n", "- Sortie : 20/11/2026 (santé)\n",
		"### Analyse a-1, version 1 (épisode 1)", "- Contenu : aucun\n",
		"- Du 05/10/2026 au 09/10/2026, session s-1, opérateur op-1, territoire T05, métiers F1703 : annulée, annulée par le référent\n",
		"| 12/10/2026 | c-1 | op-1 | 10/2026 (clos) | heures stagiaire (à distance) | 120 min | 1 234,56 € | facturée |",
		"| 03/11/2026 | c-1 | op-1 | 11/2026 | forfait : forfait particulier MOB\\_\\* |  | 50,00 € | rejetée |",
		"Total facturé : 1 234,56 € (2 lignes).", "Aucun référent.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	for _, absent := range []string{"Date de naissance", "Courriel", "Situation depuis"} {
		if strings.Contains(md, absent) {
			t.Errorf("%q in an erased learner's export:\n%s", absent, md)
		}
	}

	b.Reset()
	if err := x.writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &top); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	doc := map[string]map[string]json.RawMessage{}
	for _, k := range []string{"intake", "pathway", "needs", "referent", "immersion", "funding"} {
		var section map[string]json.RawMessage
		if err := json.Unmarshal(top[k], &section); err != nil {
			t.Fatalf("section %s: %v\n%s", k, err, b.String())
		}
		doc[k] = section
	}
	if string(top["generated_at"]) != `"2027-03-02T08:30:00Z"` || string(top["learner_id"]) != `"l-1"` ||
		string(doc["referent"]["assignment"]) != "null" || !strings.Contains(string(doc["intake"]["learner"]), `"erased": true`) ||
		!strings.Contains(string(doc["funding"]["lines"]), `"amount_cents": "123456"`) || string(doc["pathway"]["timeline"]) != "[]" {
		t.Errorf("export as JSON:\n%s", b.String())
	}
}

func TestFrLabelFallsBackToTheCommandLineSpelling(t *testing.T) {
	for _, c := range []struct {
		e    protoreflect.Enum
		want string
	}{
		{pathwayv1.ExitReason_EXIT_REASON_HEALTH, "santé"},
		{fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED, "daily-cap-exceeded"},
		{pathwayv1.ExitReason_EXIT_REASON_UNSPECIFIED, "non renseigné"},
	} {
		if got := frLabel(c.e); got != c.want {
			t.Errorf("frLabel(%v) = %q, want %q", c.e, got, c.want)
		}
	}
	if got := mdText("a|b *c*\n# d"); got != `a\|b \*c\* \# d` {
		t.Errorf("mdText = %q", got)
	}
}
