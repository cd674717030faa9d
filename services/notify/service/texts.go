package service

import (
	"fmt"
	"strings"

	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// text is a notification as people read it: French, from a fixed template
// per kind and recipient, naming nobody and holding no special-category
// data (no health, RQTH or barriers; no names either): the details are in
// the console, behind its access rules.
type text struct {
	Title, Body string
	// Link is the console page, "" for a learner (learners do not use the
	// console).
	Link string
}

// frDate writes a civil date as DD/MM/YYYY.
func frDate(d civil.Date) string {
	if d.IsZero() {
		return "(date inconnue)"
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// dates writes a session's days.
func dates(n domain.Notification) string {
	if n.From == n.To {
		return "le " + frDate(n.From)
	}
	return "du " + frDate(n.From) + " au " + frDate(n.To)
}

// render builds the text of n, with links under consoleURL.
func render(n domain.Notification, consoleURL string) text {
	_, toLearner := n.LearnerRecipient()
	toOperator := strings.HasPrefix(n.Recipient, domain.OperatorPrefix)
	booking := "/reservations/" + n.SessionID + "/" + n.LearnerID
	learner := "/personnes/" + n.LearnerID
	var t text
	switch n.Kind {
	case domain.KindPlaceBooked, domain.KindWaitlistPromoted:
		promoted := n.Kind == domain.KindWaitlistPromoted
		switch {
		case toLearner && promoted:
			t.Title = "Une place s'est libérée pour votre immersion"
			t.Body = "Vous étiez en liste d'attente : une place vous est maintenant réservée pour l'immersion " + dates(n) + ". Votre référent vous donnera les détails pratiques."
		case toLearner:
			t.Title = "Votre place en immersion est réservée"
			t.Body = "Une place vous est réservée pour l'immersion " + dates(n) + ". Votre référent vous donnera les détails pratiques."
		case toOperator:
			t.Title = "Nouvelle réservation sur votre session d'immersion"
			t.Body = "Une place a été réservée sur votre session " + dates(n) + "."
			t.Link = booking
		default:
			t.Title = "Immersion réservée pour une personne que vous suivez"
			t.Body = "Une place en immersion a été réservée " + dates(n) + " pour une personne que vous suivez."
			t.Link = booking
		}
		if promoted && !toLearner {
			t.Title = "Place attribuée depuis la liste d'attente"
			t.Body = "Une place s'est libérée : la personne en liste d'attente a obtenu une place pour la session " + dates(n) + "."
		}
	case domain.KindBookingCancelled:
		what := "La réservation"
		if n.WasWaitlisted {
			what = "L'inscription en liste d'attente"
		}
		switch {
		case toLearner:
			t.Title = "Votre immersion est annulée"
			t.Body = what + " pour l'immersion " + dates(n) + " est annulée. Votre référent vous proposera la suite."
		case toOperator:
			t.Title = "Réservation annulée sur votre session d'immersion"
			t.Body = what + " d'une personne sur votre session " + dates(n) + " est annulée : une place est libre."
			t.Link = booking
		default:
			t.Title = "Immersion annulée pour une personne que vous suivez"
			t.Body = what + " d'une personne que vous suivez, pour l'immersion " + dates(n) + ", est annulée."
			t.Link = booking
		}
	case domain.KindReferentAssigned:
		if toLearner {
			t.Title = "Votre référent pédagogique"
			t.Body = "Un référent pédagogique vous accompagne à partir du " + frDate(n.From) + " : il vous contactera pour la suite de votre parcours."
		} else {
			t.Title = "Une nouvelle personne vous est confiée"
			t.Body = "Une personne vous est confiée à partir du " + frDate(n.From) + "."
			t.Link = learner
		}
	case domain.KindReferentHandover:
		switch {
		case toLearner:
			t.Title = "Votre référent pédagogique change"
			t.Body = "Un nouveau référent pédagogique vous accompagne à partir du " + frDate(n.From) + " : il vous contactera."
		case n.PreviousReferent:
			t.Title = "Passation effectuée"
			t.Body = "Une personne que vous suiviez est confiée à un autre référent à partir du " + frDate(n.From) + "."
			t.Link = learner
		default:
			t.Title = "Une personne vous est confiée par passation"
			t.Body = "Une personne vous est confiée par passation à partir du " + frDate(n.From) + "."
			t.Link = learner
		}
	case domain.KindSessionReminder:
		t.Title = fmt.Sprintf("Rappel : immersion dans %d heures", n.HoursBefore)
		if toLearner {
			t.Body = "Votre immersion a lieu " + dates(n) + ". En cas d'empêchement, prévenez votre référent."
		} else {
			t.Body = "Votre session d'immersion a lieu " + dates(n) + " : les personnes qui y ont une place la commencent bientôt."
			t.Link = "/offres"
		}
	default:
		t.Title = "Notification"
	}
	if t.Link != "" {
		t.Link = strings.TrimSuffix(consoleURL, "/") + t.Link
	}
	return t
}

// mailBody is the e-mail's text: greeting, the notification, the link,
// and why the person receives it.
func mailBody(t text) string {
	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	b.WriteString(t.Body)
	b.WriteString("\n")
	if t.Link != "" {
		b.WriteString("\nPour le détail : ")
		b.WriteString(t.Link)
		b.WriteString("\n")
	}
	b.WriteString("\n--\n#Avenir, Région Normandie.\nMessage automatique : merci de ne pas y répondre.\n")
	if t.Link != "" {
		b.WriteString("Vos préférences de notification se règlent dans la console.\n")
	}
	return b.String()
}
