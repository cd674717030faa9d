package console

import (
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// timelineRow is one fact of a learner's timeline as people read it.
type timelineRow struct {
	Time  time.Time
	Actor string
	What  string
}

// timeline writes a learner's timeline in French, from each entry's type
// and attributes (codes, dates and ids, never personal data), with the
// names of the referents involved.
func (c *Console) timeline(entries []*pathwayv1.TimelineEntry, referents map[string]string) []timelineRow {
	rows := make([]timelineRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, timelineRow{
			Time:  e.GetTime().AsTime(),
			Actor: actorLabel(e.GetActor(), referents),
			What:  timelineSentence(e.GetEventType(), e.GetAttributes(), referents, c.places.label),
		})
	}
	return rows
}

// actorLabel names who did something: a referent by name, an organisation,
// the administration, or avenir itself.
func actorLabel(actor string, referents map[string]string) string {
	kind, id, _ := strings.Cut(actor, ":")
	switch kind {
	case "referent":
		if n := referents[id]; n != "" {
			return n
		}
		return "Référent " + id
	case "operator":
		return "Organisme " + id
	case "admin":
		return "Administration"
	case "funder":
		return "Financeur"
	case "", "system", "avenir", "service":
		return "avenir (automatique)"
	}
	return actor
}

// timelineSentence is the French sentence of one timeline entry.
func timelineSentence(eventType string, a map[string]string, referents map[string]string, territory func(string) string) string {
	date := func(k string) string {
		d, err := civil.Parse(a[k])
		if err != nil {
			return ""
		}
		return fr.Date(civilpb.FromDate(d))
	}
	enum := func(enumName, k string) string { return enumLabel(enumName, a[k]) }
	ref := func(k string) string {
		if n := referents[a[k]]; n != "" {
			return n
		}
		return a[k]
	}
	on := func(k string) string {
		if d := date(k); d != "" {
			return " le " + d
		}
		return ""
	}
	switch shortType(eventType) {
	case "LearnerRegistered":
		return "Inscription dans le territoire de " + territory(a["territory_code"]) + on("date")
	case "LearnerErased":
		return "Données personnelles effacées" + on("date")
	case "PathwayEntered":
		return "Entrée dans le parcours" + on("date")
	case "PathwayExited":
		return "Sortie du parcours" + on("date") + " : " + enum("avenir.pathway.v1.ExitReason", "reason")
	case "ExitBackdated":
		return "Sortie du" + on("date") + " enregistrée après coup" + on("recorded_on")
	case "ReferralRecorded":
		return "Orientation vers " + enum("avenir.pathway.v1.Programme", "programme") + " (" + a["organisation"] + ")" + on("date")
	case "ReferralOutcomeRecorded":
		s := "Résultat de l'orientation : " + enum("avenir.pathway.v1.ReferralOutcome", "outcome") + on("date")
		if code := a["rncp_code"]; code != "" {
			s += " (certification " + code + " obtenue" + on("certification_date") + ")"
		}
		return s
	case "QualifFollowUpEnded":
		return "Fin du suivi en Qualif" + on("date") + " : " + enum("avenir.pathway.v1.ReferralOutcome", "outcome")
	case "FollowUpRecorded":
		s := "Suivi à 6 mois" + on("date") + " : " + enum("avenir.pathway.v1.FollowUpSituation", "situation")
		if a["employment_type"] != "" {
			s += " (" + enum("avenir.pathway.v1.EmploymentType", "employment_type") + ")"
		}
		return s
	case "FollowingInQualif":
		return "Suivi en Qualif par " + ref("referent_id") + on("date") + ", jusqu'au résultat de la formation"
	case "LearnerEnrolled":
		return "Inscription auprès de l'organisme " + a["operator_id"] + " (" + enum("avenir.pathway.v1.EnrolmentKind", "kind") + ")" + on("date")
	case "EnrolmentEnded":
		return "Fin d'inscription" + on("date")
	case "AnalysisStarted":
		return "Analyse des besoins commencée" + on("date")
	case "AnalysisRevised":
		return "Analyse des besoins révisée" + on("date")
	case "AnalysisDrafted":
		return "Brouillon d'analyse des besoins enregistré" + on("date")
	case "AnalysisCompleted":
		return "Analyse des besoins terminée" + on("date")
	case "PlaceBooked":
		s := "Immersion réservée du " + date("from") + " au " + date("to")
		if a["promoted"] == "true" {
			s += " (place obtenue depuis la liste d'attente)"
		}
		return s
	case "Waitlisted":
		return "Inscription en liste d'attente d'une immersion (rang " + a["position"] + ")"
	case "BookingCancelled":
		return "Réservation d'immersion annulée : " + enum("avenir.immersion.v1.CancellationCause", "cause")
	case "WaitlistDropped":
		return "Retrait de la liste d'attente : " + enum("avenir.immersion.v1.DropReason", "reason")
	case "OutcomeRecorded":
		return "Bilan d'immersion : " + enum("avenir.immersion.v1.OutcomeStatus", "status")
	case "ReferentAssigned":
		if a["previous_referent_id"] != "" {
			return ref("referent_id") + " prend le relais de " + ref("previous_referent_id") + on("date")
		}
		return "Référent attribué : " + ref("referent_id") + on("date")
	case "AssignmentPending":
		return "En attente d'un référent depuis le " + date("date")
	case "AssignmentEnded":
		return "Fin du suivi par le référent" + on("date")
	}
	return "Événement " + shortType(eventType)
}

// shortType is an event type's message name.
func shortType(t string) string { return t[strings.LastIndex(t, ".")+1:] }

// enumLabel is the French label of an enum value given by names.
func enumLabel(enumName, value string) string {
	et, err := protoregistry.GlobalTypes.FindEnumByName(protoreflect.FullName(enumName))
	if err != nil {
		return value
	}
	v := et.Descriptor().Values().ByName(protoreflect.Name(value))
	if v == nil {
		return value
	}
	return fr.Label(et.New(v.Number()))
}
