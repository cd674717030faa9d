package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

func newLearnersExportCmd() *cobra.Command {
	var format, out string
	cmd := rpcCommand(func(c grpc.ClientConnInterface) grpc.ClientConnInterface { return c },
		"export LEARNER_ID --format json|md", "Export everything held about a learner, across every service (subject access; admins)",
		`  avenir learners export 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --format md --out acces-martin.md
  avenir learners export 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --format json > acces-martin.json`,
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&format, "format", "", "json (one document, for machines) or md (a readable document in French)")
			fs.StringVar(&out, "out", "", "file to write, readable by its owner only (default: standard output)")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, conn grpc.ClientConnInterface, _ *clientFlags) error {
			if format != "json" && format != "md" {
				return usageError{fmt.Errorf("--format must be json or md, got %q", format)}
			}
			x, err := gatherLearner(ctx, conn, args[0], time.Now())
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if format == "json" {
				err = x.writeJSON(&buf)
			} else {
				err = x.writeMarkdown(&buf)
			}
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := writePrivate(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d bytes, learner %s\n", out, buf.Len(), args[0])
			return nil
		})
	cmd.Long = `Export everything the services hold about one learner (the GDPR right of
access), through their APIs: intake's learner and its history, pathway's
pathway (episodes, referrals, enrolments) and timeline, needs' analyses,
referent's assignment, immersion's bookings and funding's lines naming the
learner. Admins only.

--format json writes one JSON document, each service's answers in the
protobuf JSON mapping; --format md a readable document in French. The
document holds personal data: --out writes it readable by its owner only.

A service that knows nothing of the learner gives an empty section; any other
error stops the export, naming the service. An erased learner reads as
"personne effacée", with what remains under the pseudonymous id (billing
lines, dates, codes). --timeout bounds the whole export.`
	_ = cmd.Flags().MarkHidden("output")
	return required(cmd, "format")
}

// writePrivate writes data to path, readable and writable by its owner
// only, even when the file existed with a wider mode.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	return errors.Join(werr, f.Chmod(0o600), f.Close())
}

// learnerExport is what every service answered about one learner.
type learnerExport struct {
	generatedAt time.Time
	learnerID   string
	learner     *intakev1.Learner
	history     []*intakev1.LearnerChange
	pathway     *pathwayv1.Pathway // nil: never entered
	timeline    []*pathwayv1.TimelineEntry
	analyses    []*needsv1.Analysis
	assignment  *referentv1.Assignment // nil: none
	bookings    []*immersionv1.Booking
	lines       []*fundingv1.LearnerLine
}

// serviceError is a call that failed, named by its service (the export
// stops there).
type serviceError struct {
	service string
	err     error
}

func (e serviceError) Error() string { return e.service + ": " + errorLine(e.err) }

// gatherLearner asks every service what it holds about the learner. Funding
// is asked first: its lines are whole for admins only (the learner's
// referents read them without amounts, other referents do not find the
// learner, other roles are refused), so that a caller who may not export
// is refused before anything else is read.
func gatherLearner(ctx context.Context, conn grpc.ClientConnInterface, id string, now time.Time) (*learnerExport, error) {
	x := &learnerExport{generatedAt: now, learnerID: id}
	fail := func(service string, err error) error { return serviceError{service, err} }
	var err error

	fd := fundingv1.NewFundingServiceClient(conn)
	if x.lines, err = paging.All(func(token string) ([]*fundingv1.LearnerLine, string, error) {
		r, err := fd.ListLearnerLines(ctx, &fundingv1.ListLearnerLinesRequest{LearnerId: id, PageSize: 500, PageToken: token})
		if err == nil && r.GetAmountsHidden() {
			err = status.Error(codes.PermissionDenied, "amounts hidden: a subject-access export is for admins")
		}
		return r.GetLines(), r.GetNextPageToken(), err
	}); err != nil {
		return nil, fail("funding", err)
	}

	// Intake decides who exists: a learner it does not know is an error,
	// not an empty export.
	in := intakev1.NewIntakeServiceClient(conn)
	l, err := in.GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		return nil, fail("intake", err)
	}
	x.learner = l.GetLearner()
	if x.history, err = paging.All(func(token string) ([]*intakev1.LearnerChange, string, error) {
		r, err := in.GetLearnerHistory(ctx, &intakev1.GetLearnerHistoryRequest{LearnerId: id, PageSize: 200, PageToken: token})
		return r.GetChanges(), r.GetNextPageToken(), err
	}); err != nil && !notFound(err) {
		return nil, fail("intake", err)
	}

	pw := pathwayv1.NewPathwayServiceClient(conn)
	p, err := pw.GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: id})
	switch {
	case err == nil:
		x.pathway = p.GetPathway()
	case !notFound(err):
		return nil, fail("pathway", err)
	}
	if x.timeline, err = paging.All(func(token string) ([]*pathwayv1.TimelineEntry, string, error) {
		r, err := pw.GetTimeline(ctx, &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 200, PageToken: token})
		return r.GetEntries(), r.GetNextPageToken(), err
	}); err != nil && !notFound(err) {
		return nil, fail("pathway", err)
	}

	nd := needsv1.NewNeedsServiceClient(conn)
	if x.analyses, err = paging.All(func(token string) ([]*needsv1.Analysis, string, error) {
		r, err := nd.ListAnalyses(ctx, &needsv1.ListAnalysesRequest{LearnerId: id, PageSize: 200, PageToken: token})
		return r.GetAnalyses(), r.GetNextPageToken(), err
	}); err != nil && !notFound(err) {
		return nil, fail("needs", err)
	}

	a, err := referentv1.NewReferentServiceClient(conn).GetAssignment(ctx, &referentv1.GetAssignmentRequest{LearnerId: id})
	switch {
	case err == nil:
		x.assignment = a.GetAssignment()
	case !notFound(err):
		return nil, fail("referent", err)
	}

	im := immersionv1.NewImmersionServiceClient(conn)
	if x.bookings, err = paging.All(func(token string) ([]*immersionv1.Booking, string, error) {
		r, err := im.ListBookings(ctx, &immersionv1.ListBookingsRequest{LearnerId: id, PageSize: 200, PageToken: token})
		return r.GetBookings(), r.GetNextPageToken(), err
	}); err != nil && !notFound(err) {
		return nil, fail("immersion", err)
	}
	return x, nil
}

func notFound(err error) bool { return status.Code(err) == codes.NotFound }

// writeJSON writes the export as one indented JSON document, each
// service's answers in the protobuf JSON mapping.
func (x *learnerExport) writeJSON(w io.Writer) error {
	var err error
	one := func(m proto.Message) json.RawMessage {
		if err != nil || m == nil || !m.ProtoReflect().IsValid() {
			return json.RawMessage("null")
		}
		var b json.RawMessage
		b, err = protoJSON(m)
		return b
	}
	doc := struct {
		GeneratedAt string `json:"generated_at"`
		LearnerID   string `json:"learner_id"`
		Intake      struct {
			Learner json.RawMessage   `json:"learner"`
			History []json.RawMessage `json:"history"`
		} `json:"intake"`
		Pathway struct {
			Pathway  json.RawMessage   `json:"pathway"`
			Timeline []json.RawMessage `json:"timeline"`
		} `json:"pathway"`
		Needs struct {
			Analyses []json.RawMessage `json:"analyses"`
		} `json:"needs"`
		Referent struct {
			Assignment json.RawMessage `json:"assignment"`
		} `json:"referent"`
		Immersion struct {
			Bookings []json.RawMessage `json:"bookings"`
		} `json:"immersion"`
		Funding struct {
			Lines []json.RawMessage `json:"lines"`
		} `json:"funding"`
	}{GeneratedAt: x.generatedAt.UTC().Format(time.RFC3339), LearnerID: x.learnerID}
	doc.Intake.Learner = one(x.learner)
	doc.Intake.History = each(x.history, one)
	doc.Pathway.Pathway = one(x.pathway)
	doc.Pathway.Timeline = each(x.timeline, one)
	doc.Needs.Analyses = each(x.analyses, one)
	doc.Referent.Assignment = one(x.assignment)
	doc.Immersion.Bookings = each(x.bookings, one)
	doc.Funding.Lines = each(x.lines, one)
	if err != nil {
		return err
	}
	return writeJSON(w, doc)
}

// each maps ms with f into a list that is never null.
func each[M proto.Message](ms []M, f func(proto.Message) json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, f(m))
	}
	return out
}

// writeMarkdown writes the export as a document in French for the person
// it is about.
func (x *learnerExport) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	l := x.learner
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	item := func(label, value string) {
		if value != "" {
			p("- %s : %s\n", label, value)
		}
	}

	if l.GetErased() {
		p("# Données détenues sur une %s\n\n", intakecontract.ErasedName)
	} else {
		p("# Données détenues sur %s %s\n\n", mdText(l.GetGivenName()), mdText(l.GetFamilyName()))
	}
	p("Identifiant : `%s`  \n", x.learnerID)
	p("Document établi le %s, à partir des services de #Avenir (Région Normandie).\n", frDateTime(timestamppb.New(x.generatedAt)))

	p("\n## Identité\n\n")
	if l.GetErased() {
		p("%s : les données personnelles de cette personne ont été effacées le %s (nom, prénom, date de naissance, "+
			"coordonnées, situation, textes libres). Restent, sous son identifiant pseudonyme, les faits ci-dessous.\n\n",
			strings.ToUpper(intakecontract.ErasedName[:1])+intakecontract.ErasedName[1:], frDate(l.GetErasedOn()))
		item("Nom", intakecontract.ErasedName)
	} else {
		item("Nom", mdText(l.GetFamilyName()))
		item("Prénom", mdText(l.GetGivenName()))
		item("Date de naissance", frDate(l.GetBirthDate()))
	}
	item("Territoire", l.GetTerritoryCode())
	item("Inscription", frDate(l.GetRegisteredOn()))
	if c := l.GetContact(); c != nil && !l.GetErased() {
		item("Courriel", mdText(c.GetEmail()))
		item("Téléphone", mdText(c.GetPhone()))
		item("Commune (code INSEE)", c.GetCommuneCode())
	}
	if s := l.GetSituation(); s != nil && !l.GetErased() {
		p("- Situation depuis le %s : %s\n", frDate(l.GetSituationSince()), frSituation(l))
	}
	if l.GetBirthDate() != nil && !l.GetErased() {
		item("50 ans ou plus à l'entrée", ouiNon(l.GetSeniorAtEntry()))
	}
	if len(x.history) > 0 {
		p("\n### Historique\n\n")
		for _, c := range x.history {
			p("- %s (enregistré le %s, par %s) : %s", frDate(c.GetEffectiveOn()), frDateTime(c.GetRecordedAt()), mdText(c.GetActor()), frLabel(c.GetKind()))
			if d := frChange(c); d != "" {
				p(" — %s", d)
			}
			p("\n")
		}
	}

	p("\n## Parcours\n\n")
	if x.pathway == nil {
		p("Aucun parcours.\n")
	} else {
		pw := x.pathway
		item("Statut", frLabel(pw.GetStatus()))
		item("Étape", frLabel(pw.GetPhase()))
		for _, e := range pw.GetEpisodes() {
			p("\n### Épisode %d\n\n", e.GetNumber())
			item("Entrée", frDate(e.GetEntryDate()))
			if e.GetExitDate() != nil {
				exit := frDate(e.GetExitDate()) + " (" + frLabel(e.GetExitReason())
				if e.GetExitDetail() != "" {
					exit += " : " + mdText(e.GetExitDetail())
				}
				item("Sortie", exit+")")
			}
			item("Analyse des besoins achevée", ouiNon(e.GetNeedsAnalysed()))
			item("Immersions réalisées", fmt.Sprint(e.GetImmersionsDone()))
			for _, r := range e.GetReferrals() {
				s := fmt.Sprintf("%s, %s, le %s", frLabel(r.GetProgramme()), mdText(r.GetOrganisation()), frDate(r.GetReferralDate()))
				if r.GetOutcome() != pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_UNSPECIFIED {
					s += fmt.Sprintf(" : %s le %s", frLabel(r.GetOutcome()), frDate(r.GetOutcomeDate()))
				} else {
					s += " : en attente"
				}
				item(fmt.Sprintf("Orientation n° %d", r.GetNumber()), s)
			}
			for _, en := range e.GetEnrolments() {
				s := fmt.Sprintf("%s, contrat %s de l'opérateur %s, du %s", frLabel(en.GetKind()), en.GetContractId(), en.GetOperatorId(), frDate(en.GetFromDate()))
				if en.GetToDate() != nil {
					s += fmt.Sprintf(" au %s (%s)", frDate(en.GetToDate()), frLabel(en.GetEndReason()))
				}
				item(fmt.Sprintf("Inscription n° %d", en.GetNumber()), s)
			}
		}
	}
	if len(x.timeline) > 0 {
		p("\n### Chronologie\n\n")
		for _, e := range x.timeline {
			p("- %s, %s (%s) : %s\n", frDateTime(e.GetTime()), e.GetSource(), mdText(e.GetActor()), mdText(e.GetSummary()))
		}
	}

	p("\n## Analyses des besoins\n")
	if len(x.analyses) == 0 {
		p("\nAucune analyse.\n")
	}
	for _, a := range x.analyses {
		x.writeAnalysis(&b, a)
	}

	p("\n## Référent\n\n")
	switch a := x.assignment; {
	case a == nil:
		p("Aucun référent.\n")
	default:
		switch {
		case a.GetReferentId() != "":
			item("Référent actuel", a.GetReferentId())
		case a.GetPending():
			item("En attente d'un référent depuis le", frDate(a.GetPendingSince()))
		default:
			item("Référent actuel", "aucun (hors du parcours)")
		}
		for _, h := range a.GetHistory() {
			s := fmt.Sprintf("%s, épisode %d, du %s", h.GetReferentId(), h.GetEpisodeNumber(), frDate(h.GetFromDate()))
			if h.GetToDate() != nil {
				s += " au " + frDate(h.GetToDate())
			}
			s += " (" + frLabel(h.GetReason())
			if h.GetExplanation() != "" {
				s += " : " + mdText(h.GetExplanation())
			}
			p("- %s)\n", s)
		}
	}

	p("\n## Immersions\n\n")
	if len(x.bookings) == 0 {
		p("Aucune immersion.\n")
	}
	for _, bk := range x.bookings {
		s := fmt.Sprintf("Du %s au %s, session %s, opérateur %s, territoire %s", frDate(bk.GetFromDate()), frDate(bk.GetToDate()),
			bk.GetSessionId(), bk.GetOperatorId(), bk.GetTerritoryCode())
		if codes := bk.GetRomeCodes(); len(codes) > 0 {
			s += ", métiers " + strings.Join(codes, ", ")
		}
		s += " : " + frLabel(bk.GetStatus())
		if bk.GetPromotedFromWaitlist() {
			s += fmt.Sprintf(" (depuis la liste d'attente, rang %d)", bk.GetWaitlistPosition())
		}
		if bk.GetCancellationCause() != immersionv1.CancellationCause_CANCELLATION_CAUSE_UNSPECIFIED {
			s += ", " + frLabel(bk.GetCancellationCause())
			if bk.GetCancellationReason() != "" {
				s += " : " + mdText(bk.GetCancellationReason())
			}
		}
		if bk.GetDropReason() != immersionv1.DropReason_DROP_REASON_UNSPECIFIED {
			s += ", " + frLabel(bk.GetDropReason())
		}
		if o := bk.GetOutcome(); o != nil {
			s += fmt.Sprintf(" ; résultat : %s, %d minutes sur %d", frLabel(o.GetStatus()), o.GetMinutesDone(), o.GetMinutesScheduled())
			if o.GetLastDayPresent() != nil {
				s += ", dernier jour présent le " + frDate(o.GetLastDayPresent())
			}
			if o.GetTradeFit() != immersionv1.TradeFit_TRADE_FIT_UNSPECIFIED {
				s += ", " + frLabel(o.GetTradeFit())
			}
			if o.GetComment() != "" {
				s += " : " + mdText(o.GetComment())
			}
		}
		p("- %s\n", s)
	}

	p("\n## Lignes de financement\n\n")
	if len(x.lines) == 0 {
		p("Aucune ligne.\n")
	} else {
		p("| Date | Contrat | Opérateur | Relevé | Nature | Durée | Montant | État |\n")
		p("|---|---|---|---|---|---|---|---|\n")
		var billed int64
		for _, ln := range x.lines {
			sl := ln.GetLine()
			nature := frLabel(sl.GetUnit())
			if sl.GetFeeType() != fundingv1.FeeType_FEE_TYPE_UNSPECIFIED {
				nature += " : " + frLabel(sl.GetFeeType())
				if sl.GetCustomCode() != "" {
					nature += " " + mdText(sl.GetCustomCode())
				}
			}
			if sl.GetActivity() != fundingv1.ActivityType_ACTIVITY_TYPE_UNSPECIFIED {
				nature += " (" + frLabel(sl.GetActivity()) + ")"
			}
			if sl.GetCorrectsLineId() != "" {
				nature += ", correction de " + mdText(sl.GetCorrectsLineId())
			}
			if sl.GetReversal() {
				nature += ", contre-passation"
			}
			minutes := ""
			if sl.GetMinutes() != 0 {
				minutes = fmt.Sprintf("%d min", sl.GetMinutes())
			}
			statement := fmt.Sprintf("%02d/%04d", ln.GetPeriod().GetMonth(), ln.GetPeriod().GetYear())
			if ln.GetStatementClosed() {
				statement += " (clos)"
			}
			state := frLabel(sl.GetStatus())
			if sl.GetStatus() == fundingv1.LineStatus_LINE_STATUS_BILLED {
				billed += sl.GetAmountCents()
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", frDate(sl.GetDate()), ln.GetContractId(), ln.GetOperatorId(), statement,
				nature, minutes, euros(sl.GetAmountCents()), state)
		}
		p("\nTotal facturé : %s (%d lignes).\n", euros(billed), len(x.lines))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeAnalysis writes one version of a needs analysis.
func (x *learnerExport) writeAnalysis(b *strings.Builder, a *needsv1.Analysis) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	item := func(label, value string) {
		if value != "" {
			p("- %s : %s\n", label, value)
		}
	}
	p("\n### Analyse %s, version %d (épisode %d)\n\n", a.GetAnalysisId(), a.GetVersion(), a.GetEpisodeNumber())
	item("État", frLabel(a.GetStatus()))
	item("Commencée le", frDate(a.GetStartedOn()))
	item("Achevée le", frDate(a.GetCompletedOn()))
	if a.GetCurrent() {
		item("Analyse en vigueur", "oui")
	}
	c := a.GetContent()
	if c == nil || proto.Size(c) == 0 {
		p("- Contenu : aucun\n")
		return
	}
	var parts []string
	for _, s := range c.GetSkills() {
		parts = append(parts, frLabel(s.GetDomain())+" : "+frLabel(s.GetLevel()))
	}
	item("Compétences", strings.Join(parts, " ; "))
	parts = nil
	for _, d := range c.GetDiplomas() {
		s := mdText(d.GetTitle())
		if d.GetLevel() > 0 {
			s += fmt.Sprintf(", niveau %d", d.GetLevel())
		}
		if d.GetYear() > 0 {
			s += fmt.Sprintf(", %d", d.GetYear())
		}
		parts = append(parts, s)
	}
	item("Diplômes", strings.Join(parts, " ; "))
	parts = nil
	for _, e := range c.GetExperiences() {
		s := fmt.Sprintf("%s : %s, %d mois", frLabel(e.GetKind()), mdText(e.GetRole()), e.GetDurationMonths())
		if e.GetRomeCode() != "" {
			s += " (" + e.GetRomeCode() + ")"
		}
		parts = append(parts, s)
	}
	item("Expériences", strings.Join(parts, " ; "))
	parts = nil
	for _, br := range c.GetBarriers() {
		s := frLabel(br.GetKind()) + " (" + frLabel(br.GetSeverity())
		if br.GetSupportArranged() {
			s += ", accompagnement organisé"
		}
		parts = append(parts, s+")")
	}
	item("Freins", strings.Join(parts, " ; "))
	if pr := c.GetProject(); pr != nil {
		s := frLabel(pr.GetMaturity())
		if codes := pr.GetTargetRomeCodes(); len(codes) > 0 {
			s += ", métiers visés " + strings.Join(codes, ", ")
		}
		if h := pr.GetConstraints().GetMaxWeeklyHours(); h > 0 {
			s += fmt.Sprintf(", au plus %d h par semaine", h)
		}
		if km := pr.GetConstraints().GetMaxTravelKm(); km > 0 {
			s += fmt.Sprintf(", au plus %d km", km)
		}
		item("Projet professionnel", s)
	}
	parts = nil
	for _, st := range c.GetRecommendedSteps() {
		switch s := st.GetStep().(type) {
		case *needsv1.RecommendedStep_ProjectWorkshops:
			parts = append(parts, fmt.Sprintf("ateliers projet (%d)", s.ProjectWorkshops.GetCount()))
		case *needsv1.RecommendedStep_TradeDiscovery:
			parts = append(parts, "découverte de métiers ("+strings.Join(s.TradeDiscovery.GetRomeCodes(), ", ")+")")
		case *needsv1.RecommendedStep_BasicSkillsTraining:
			parts = append(parts, "formation aux savoirs de base (#Savoirs)")
		case *needsv1.RecommendedStep_QualifyingTraining:
			parts = append(parts, "formation qualifiante (#Qualif)")
		case *needsv1.RecommendedStep_EmploymentSupport:
			parts = append(parts, "accompagnement vers l'emploi")
		case *needsv1.RecommendedStep_Other:
			parts = append(parts, "autre : "+mdText(s.Other.GetDescription()))
		}
	}
	item("Étapes recommandées", strings.Join(parts, " ; "))
	if a.GetStepsOnly() {
		p("- (étapes recommandées seulement)\n")
	}
}

// frSituation is a learner's situation in one line.
func frSituation(l *intakev1.Learner) string {
	s := l.GetSituation()
	parts := []string{"demandeur d'emploi : " + ouiNon(s.GetJobSeeker())}
	if s.GetFranceTravailId() != "" {
		parts = append(parts, "identifiant France Travail : "+mdText(s.GetFranceTravailId()))
	}
	parts = append(parts,
		"RSA : "+ouiNon(s.GetRsaRecipient()),
		"niveau de formation : "+frLabel(s.GetEducationLevel()))
	if j := s.GetEducationLevelJustification(); j != "" {
		parts = append(parts, "justification du niveau : "+mdText(j))
	}
	parts = append(parts,
		"QPV : "+ouiNon(s.GetQpvResident()),
		"ZRR : "+ouiNon(s.GetZrrResident()),
		"orientée par : "+frLabel(s.GetReferralSource()))
	if l.Rqth != nil {
		parts = append(parts, "RQTH : "+ouiNon(l.GetRqth()))
	}
	return strings.Join(parts, ", ")
}

// frChange says what a change of the history recorded, without the values
// an erasure destroyed.
func frChange(c *intakev1.LearnerChange) string {
	l := c.GetLearner()
	if c.GetKind() == intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_ERASED {
		s := frLabel(c.GetErasureGround())
		if c.GetErasureReference() != "" {
			s += ", référence " + mdText(c.GetErasureReference())
		}
		return s
	}
	if l.GetErased() {
		return ""
	}
	switch c.GetKind() {
	case intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_REGISTERED:
		if l.GetFamilyName() == "" {
			return ""
		}
		return mdText(l.GetGivenName()+" "+l.GetFamilyName()) + ", " + l.GetTerritoryCode()
	case intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_CONTACT_UPDATED:
		ct := l.GetContact()
		if ct == nil {
			return ""
		}
		return fmt.Sprintf("courriel %s, téléphone %s, commune %s", orNone(mdText(ct.GetEmail())), orNone(mdText(ct.GetPhone())), orNone(ct.GetCommuneCode()))
	case intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_SITUATION_UPDATED:
		if l.GetSituation() == nil {
			return ""
		}
		return frSituation(l)
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "aucun"
	}
	return s
}

func ouiNon(b bool) string {
	if b {
		return "oui"
	}
	return "non"
}

// frDate is a date as DD/MM/YYYY, "" for none.
func frDate(d *commonv1.Date) string {
	if d == nil {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.GetDay(), d.GetMonth(), d.GetYear())
}

// frDateTime is an instant in Paris as "DD/MM/YYYY à HH:MM", "" for none.
func frDateTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(civil.Paris).Format("02/01/2006 à 15:04")
}

// mdText is free text made safe in a Markdown line: one line, the
// characters that would format escaped.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#", r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// frLabel is the French label of an enum value the export shows; values
// without one read as the command line spells them.
func frLabel(e protoreflect.Enum) string {
	v := e.Descriptor().Values().ByNumber(e.Number())
	if v == nil {
		return fmt.Sprint(e.Number())
	}
	if s, ok := frLabels[string(v.Name())]; ok {
		return s
	}
	if e.Number() == 0 {
		return "non renseigné"
	}
	// The value name without its enum's prefix, the prefix of its
	// UNSPECIFIED value: BOOKING_STATUS_BOOKED reads "booked".
	prefix := strings.TrimSuffix(string(e.Descriptor().Values().ByNumber(0).Name()), "UNSPECIFIED")
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix)), "_", "-")
}

// frLabels are the French labels of the codes the export shows, by value
// name.
var frLabels = map[string]string{
	// intake
	"LEARNER_CHANGE_KIND_REGISTERED":         "inscription",
	"LEARNER_CHANGE_KIND_CONTACT_UPDATED":    "coordonnées modifiées",
	"LEARNER_CHANGE_KIND_SITUATION_UPDATED":  "situation modifiée",
	"LEARNER_CHANGE_KIND_ERASED":             "effacement des données personnelles",
	"ERASURE_GROUND_REQUEST":                 "à la demande de la personne",
	"ERASURE_GROUND_RETENTION":               "fin de la durée de conservation",
	"ERASURE_GROUND_UNLAWFUL":                "traitement illicite",
	"ERASURE_GROUND_LEGAL_OBLIGATION":        "obligation légale",
	"EDUCATION_LEVEL_NO_DIPLOMA":             "sans diplôme",
	"EDUCATION_LEVEL_3":                      "niveau 3 (CAP, BEP)",
	"EDUCATION_LEVEL_4":                      "niveau 4 (baccalauréat)",
	"EDUCATION_LEVEL_5":                      "niveau 5 (bac + 2)",
	"EDUCATION_LEVEL_6":                      "niveau 6 (licence)",
	"EDUCATION_LEVEL_7":                      "niveau 7 (master)",
	"EDUCATION_LEVEL_8":                      "niveau 8 (doctorat)",
	"REFERRAL_SOURCE_MISSION_LOCALE":         "mission locale",
	"REFERRAL_SOURCE_FRANCE_TRAVAIL":         "France Travail",
	"REFERRAL_SOURCE_CAP_EMPLOI":             "Cap emploi",
	"REFERRAL_SOURCE_MAISON_FRANCE_SERVICES": "maison France services",
	"REFERRAL_SOURCE_CCAS":                   "CCAS",
	"REFERRAL_SOURCE_EMPLOYER":               "employeur",
	"REFERRAL_SOURCE_SELF":                   "de sa propre initiative",
	"REFERRAL_SOURCE_OTHER":                  "autre",
	// pathway
	"PATHWAY_STATUS_ACTIVE":                   "dans le dispositif",
	"PATHWAY_STATUS_EXITED":                   "sorti du dispositif",
	"PATHWAY_PHASE_WELCOMED":                  "accueil",
	"PATHWAY_PHASE_NEEDS_ANALYSED":            "besoins analysés",
	"PATHWAY_PHASE_BUILDING_PROJECT":          "construction du projet",
	"PATHWAY_PHASE_DISCOVERING_TRADES":        "découverte de métiers",
	"PATHWAY_PHASE_IN_QUALIFYING_TRAINING":    "en formation qualifiante",
	"PATHWAY_PHASE_EXITED":                    "sortie",
	"EXIT_REASON_EMPLOYMENT_PERMANENT":        "emploi durable (CDI)",
	"EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG":  "CDD de six mois ou plus",
	"EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT": "CDD de moins de six mois",
	"EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY": "intérim",
	"EXIT_REASON_SELF_EMPLOYED":               "création d'activité",
	"EXIT_REASON_QUALIFYING_TRAINING":         "formation qualifiante",
	"EXIT_REASON_OTHER_TRAINING":              "autre formation",
	"EXIT_REASON_ABANDONMENT":                 "abandon",
	"EXIT_REASON_RELOCATION":                  "déménagement",
	"EXIT_REASON_HEALTH":                      "santé",
	"EXIT_REASON_OTHER":                       "autre motif",
	"PROGRAMME_SAVOIRS":                       "#Savoirs",
	"PROGRAMME_QUALIF":                        "#Qualif",
	"PROGRAMME_OTHER":                         "autre programme",
	"REFERRAL_OUTCOME_ACCEPTED":               "acceptée",
	"REFERRAL_OUTCOME_REFUSED":                "refusée",
	"REFERRAL_OUTCOME_STARTED":                "commencée",
	"REFERRAL_OUTCOME_ABANDONED":              "abandonnée",
	"ENROLMENT_KIND_ACCOMPANIMENT":            "accompagnement",
	"ENROLMENT_KIND_SAVOIRS":                  "#Savoirs",
	"ENROLMENT_KIND_QUALIF":                   "#Qualif",
	"ENROLMENT_KIND_WORKSHOPS":                "ateliers",
	"ENROLMENT_KIND_IMMERSION_HOST":           "accueil en immersion",
	"ENROLMENT_END_REASON_ENDED":              "terminée",
	"ENROLMENT_END_REASON_PATHWAY_EXIT":       "sortie du dispositif",
	// needs
	"ANALYSIS_STATUS_DRAFT":                   "brouillon",
	"ANALYSIS_STATUS_COMPLETED":               "achevée",
	"SKILL_DOMAIN_FRENCH_COMMUNICATION":       "communication en français",
	"SKILL_DOMAIN_CALCULATION":                "calcul",
	"SKILL_DOMAIN_DIGITAL":                    "numérique",
	"SKILL_DOMAIN_TEAMWORK":                   "travail en équipe",
	"SKILL_DOMAIN_AUTONOMY":                   "autonomie",
	"SKILL_DOMAIN_LEARNING_TO_LEARN":          "apprendre à apprendre",
	"SKILL_DOMAIN_HYGIENE_SAFETY_ENVIRONMENT": "hygiène, sécurité, environnement",
	"SKILL_LEVEL_NOT_ASSESSED":                "non évalué",
	"SKILL_LEVEL_TO_ACQUIRE":                  "à acquérir",
	"SKILL_LEVEL_IN_PROGRESS":                 "en cours d'acquisition",
	"SKILL_LEVEL_ACQUIRED":                    "acquis",
	"EXPERIENCE_KIND_WORK":                    "emploi",
	"EXPERIENCE_KIND_VOLUNTEER":               "bénévolat",
	"BARRIER_KIND_MOBILITY":                   "mobilité",
	"BARRIER_KIND_CHILDCARE":                  "garde d'enfants",
	"BARRIER_KIND_HOUSING":                    "logement",
	"BARRIER_KIND_HEALTH":                     "santé",
	"BARRIER_KIND_FINANCES":                   "difficultés financières",
	"BARRIER_KIND_DIGITAL_ACCESS":             "accès au numérique",
	"BARRIER_KIND_FRENCH_LANGUAGE":            "maîtrise du français",
	"BARRIER_KIND_ADMINISTRATIVE":             "démarches administratives",
	"BARRIER_SEVERITY_LOW":                    "faible",
	"BARRIER_SEVERITY_MODERATE":               "modéré",
	"BARRIER_SEVERITY_HIGH":                   "fort",
	"PROJECT_MATURITY_NONE":                   "pas de projet",
	"PROJECT_MATURITY_EMERGING":               "projet émergent",
	"PROJECT_MATURITY_TO_CONFIRM":             "projet à confirmer",
	"PROJECT_MATURITY_VALIDATED":              "projet validé",
	"PROJECT_MATURITY_UNSPECIFIED":            "maturité non évaluée",
	"ASSIGNMENT_REASON_AUTOMATIC":             "attribution automatique",
	"ASSIGNMENT_REASON_MANUAL":                "attribution manuelle",
	"ASSIGNMENT_REASON_HANDOVER":              "passation",
	"ASSIGNMENT_REASON_DEACTIVATION":          "départ du référent précédent",
	"BOOKING_STATUS_BOOKED":                   "place réservée",
	"BOOKING_STATUS_WAITLISTED":               "en liste d'attente",
	"BOOKING_STATUS_CANCELLED":                "annulée",
	"BOOKING_STATUS_DROPPED":                  "retirée de la liste d'attente",
	"CANCELLATION_CAUSE_REFERENT":             "annulée par le référent",
	"CANCELLATION_CAUSE_OPERATOR":             "annulée par l'opérateur",
	"CANCELLATION_CAUSE_ADMIN":                "annulée par un administrateur",
	"CANCELLATION_CAUSE_PATHWAY_EXIT":         "annulée à la sortie du dispositif",
	"CANCELLATION_CAUSE_OFFER_WITHDRAWN":      "annulée, offre retirée",
	"DROP_REASON_NOT_IN_PATHWAY":              "plus dans le dispositif",
	"DROP_REASON_OVERLAPPING_BOOKING":         "autre immersion aux mêmes dates",
	"OUTCOME_STATUS_COMPLETED":                "réalisée",
	"OUTCOME_STATUS_PARTIALLY_COMPLETED":      "réalisée en partie",
	"OUTCOME_STATUS_DID_NOT_SHOW":             "absent",
	"TRADE_FIT_CONFIRMED":                     "métier confirmé",
	"TRADE_FIT_TO_EXPLORE_FURTHER":            "métier à explorer encore",
	"TRADE_FIT_NOT_FOR_ME":                    "métier écarté",
	"UNIT_TRAINEE_HOUR":                       "heures stagiaire",
	"UNIT_GROUP_HOUR":                         "heures de groupe",
	"UNIT_FLAT_FEE":                           "forfait",
	"FEE_TYPE_NEEDS_ANALYSIS_COMPLETED":       "analyse des besoins achevée",
	"FEE_TYPE_IMMERSION_COMPLETED":            "immersion réalisée",
	"FEE_TYPE_IMMERSION_PARTIALLY_COMPLETED":  "immersion réalisée en partie",
	"FEE_TYPE_EXIT_TO_EMPLOYMENT":             "sortie vers l'emploi",
	"FEE_TYPE_EXIT_TO_QUALIFYING_TRAINING":    "sortie vers une formation qualifiante",
	"FEE_TYPE_CUSTOM":                         "forfait particulier",
	"ACTIVITY_TYPE_FACE_TO_FACE":              "en présentiel",
	"ACTIVITY_TYPE_DISTANCE":                  "à distance",
	"ACTIVITY_TYPE_INDIVIDUAL_INTERVIEW":      "entretien individuel",
	"ACTIVITY_TYPE_ASSESSMENT":                "évaluation",
	"ACTIVITY_TYPE_WORKPLACE":                 "en situation de travail",
	"LINE_STATUS_BILLED":                      "facturée",
	"LINE_STATUS_ANOMALY":                     "en anomalie",
	"LINE_STATUS_REJECTED":                    "rejetée",
}
