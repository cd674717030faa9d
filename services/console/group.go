package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/console/sheet"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

func (c *Console) groupRoutes() {
	c.mux.HandleFunc("GET /declarations/groupe", c.operatorPage(c.groupPage))
	c.mux.HandleFunc("POST /declarations/groupe", c.operatorPage(c.reportGroup))
}

// groupForm is the group-hours form as typed.
type groupForm struct {
	Contract, Date, Duration, Trainer, Session, RequestID string
	Attendees                                             []string
}

// attendeeChoice is a learner offered as an attendee.
type attendeeChoice struct {
	ID, Name string
	Checked  bool
}

// groupPage shows the group-hours form: the learners enrolled with the
// operator under the chosen contract on the chosen day (today unless
// asked), to tick as attendees.
func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := groupForm{Contract: q.Get("contrat"), Date: q.Get("date"), RequestID: randomToken()}
	c.renderGroup(w, r, s, http.StatusOK, f, problems{}, "")
}

// renderGroup renders the group-hours page for the form; refused is the
// API's rejection in French.
func (c *Console) renderGroup(w http.ResponseWriter, r *http.Request, s *session, status int, f groupForm, p problems, refused string) {
	ctx := c.call(r, s)
	contracts, err := c.contracts(ctx, s.principal.OperatorID)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if f.Contract == "" && len(contracts) == 1 {
		f.Contract = contracts[0].GetContractId()
	}
	day := c.today()
	if f.Date == "" {
		f.Date = fr.CivilDate(day)
	} else if d, err := fr.ParseDate(f.Date); err != nil {
		p.add("date", err.Error())
	} else {
		day = d
	}
	data := map[string]any{"Title": "Déclarer des heures groupe", "Contracts": contracts, "Form": f, "Problems": p, "Refused": refused}
	i := slices.IndexFunc(contracts, func(k *fundingv1.Contract) bool { return k.GetContractId() == f.Contract })
	if f.Contract != "" && i < 0 {
		c.pages.error(w, r, s, http.StatusNotFound, "Introuvable", "Ce marché n'existe pas, ou il n'est pas le vôtre.")
		return
	}
	if i >= 0 {
		contract := contracts[i]
		data["Selected"] = contract
		data["Day"] = day
		enrolled, err := c.enrolledOn(ctx, s.principal.OperatorID, f.Contract, day)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		ids := make([]string, 0, len(enrolled))
		for _, l := range enrolled {
			ids = append(ids, l.GetLearnerId())
		}
		names, err := c.learnerNames(ctx, ids)
		if err != nil {
			c.log.Warn("console: learner names unavailable", "error", err)
		}
		var choices []attendeeChoice
		for _, l := range learnerChoices(enrolled, names) {
			choices = append(choices, attendeeChoice{ID: l.ID, Name: l.Name, Checked: slices.Contains(f.Attendees, l.ID)})
		}
		data["Attendees"] = choices
	}
	c.pages.render(w, r, s, status, "group_hours", data)
}

// groupDuration reads a duration as minutes ("210", "3 h 30", "3,5 h") or
// as hours with a decimal comma ("3,5").
func groupDuration(s string) (int32, error) {
	m, err := fr.ParseMinutes(s)
	if err == nil {
		return m, nil
	}
	if h, herr := sheet.ParseHours(s); herr == nil {
		return h, nil
	}
	return 0, err
}

// reportGroup reports one group-hours line. Accepted: back to the form
// with the amount; refused: the form again, as typed, with the reason.
func (c *Console) reportGroup(w http.ResponseWriter, r *http.Request, s *session) {
	f := groupForm{
		Contract: r.PostFormValue("contract"), Date: strings.TrimSpace(r.PostFormValue("date")),
		Duration: strings.TrimSpace(r.PostFormValue("duree")), Trainer: strings.TrimSpace(r.PostFormValue("formateur")),
		Session: strings.TrimSpace(r.PostFormValue("seance")), RequestID: r.PostFormValue("request_id"),
		Attendees: r.PostForm["stagiaires"],
	}
	var p problems
	day, err := fr.ParseDate(f.Date)
	if err != nil {
		p.add("date", err.Error())
	}
	minutes, err := groupDuration(f.Duration)
	if err != nil {
		p.add("duree", err.Error())
	} else if minutes <= 0 || minutes > 1440 {
		p.add("duree", "La durée doit être comprise entre 1 minute et 24 heures.")
	}
	if f.Trainer == "" {
		p.add("formateur", "Indiquez le formateur.")
	}
	if f.Session == "" {
		p.add("seance", "Indiquez l'identifiant de la séance.")
	} else if ident.CheckCode(f.Session) != "" {
		p.add("seance", "De 1 à 64 lettres sans accent, chiffres, tirets ou soulignés.")
	}
	if len(f.Attendees) == 0 {
		p.add("stagiaires", "Cochez au moins un stagiaire présent.")
	}
	if f.Contract == "" {
		p.add("contrat", "Choisissez le marché.")
	}
	if p.any() {
		p.General = "Corrigez les champs signalés."
		c.renderGroup(w, r, s, http.StatusUnprocessableEntity, f, p, "")
		return
	}
	ctx := c.call(r, s)
	res, err := c.api.Funding.ReportGroupHours(ctx, &fundingv1.ReportGroupHoursRequest{
		RequestId: f.RequestID, ContractId: f.Contract, GroupSessionId: f.Session, OperatorLineId: groupLineID(f.RequestID),
		Date: civilpb.FromDate(day), Minutes: minutes, Trainer: f.Trainer, AttendeeLearnerIds: f.Attendees,
	})
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		p := fromAPI(err, map[string]string{
			"group_session_id": "seance", "date": "date", "minutes": "duree", "trainer": "formateur", "attendee_learner_ids": "stagiaires",
		})
		c.renderGroup(w, r, s, http.StatusUnprocessableEntity, f, p, "")
		return
	}
	result := res.GetResult()
	if !result.GetAccepted() {
		c.renderGroup(w, r, s, http.StatusUnprocessableEntity, f, problems{}, c.groupRefusal(r, s, f, result))
		return
	}
	msg := "Heures groupe déclarées : séance " + f.Session + " du " + fr.CivilDate(day) + ", " + fr.Minutes(minutes) + " avec " +
		fr.Int(len(f.Attendees)) + " stagiaire" + attendeesPlural(len(f.Attendees)) + ", " + fr.Money(result.GetAmountCents()) +
		", relevé de " + fr.Month(result.GetBillingPeriod())
	if result.GetLate() {
		msg += " (déclaration tardive)"
	}
	if result.GetAlreadyReported() {
		msg += " (déjà déclarées)"
	}
	s.setFlash(msg + ".")
	http.Redirect(w, r, "/declarations/groupe?contrat="+url.QueryEscape(f.Contract)+"&date="+url.QueryEscape(fr.CivilDate(day)), http.StatusSeeOther)
}

// groupLineID is the operator line id of a group line: derived from the
// form's request id, so that a double submit is one line.
func groupLineID(requestID string) string {
	id := "grp-" + requestID
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// groupRefusal says in French why a group line was rejected.
func (c *Console) groupRefusal(r *http.Request, s *session, f groupForm, result *fundingv1.LineResult) string {
	msg := "Heures groupe refusées : " + lowerFirst(fr.Label(result.GetReason()))
	switch result.GetReason() {
	case fundingv1.RejectionReason_REJECTION_REASON_GROUP_TOO_LARGE:
		if res, err := c.api.Funding.GetContract(c.call(r, s), &fundingv1.GetContractRequest{ContractId: f.Contract}); err == nil {
			n := int(res.GetContract().GetTerms().GetMaxGroupSize())
			msg += " (" + fr.Int(len(f.Attendees)) + " stagiaires pour " + fr.Int(n) + " au plus)"
		}
	case fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED, fundingv1.RejectionReason_REJECTION_REASON_TERRITORY_NOT_IN_LOT:
		// The detail ends with the ids of the attendees concerned.
		if _, ids, ok := strings.Cut(result.GetDetail(), ": "); ok {
			var named []string
			list := strings.Split(ids, ", ")
			names, _ := c.learnerNames(c.call(r, s), list)
			for _, id := range list {
				if slices.Contains(f.Attendees, id) {
					named = append(named, nameOr(names, id))
				}
			}
			if len(named) > 0 {
				msg += " : " + strings.Join(named, ", ")
			}
		}
	}
	return msg + ". Rien n'a été enregistré."
}

func attendeesPlural(n int) string {
	if n > 1 {
		return "s"
	}
	return ""
}
