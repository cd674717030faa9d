package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

func (c *Console) learnerRoutes() {
	c.mux.HandleFunc("GET /personnes", c.staff(c.searchLearners))
	c.mux.HandleFunc("GET /personnes/nouvelle", c.staff(c.newLearnerForm))
	c.mux.HandleFunc("POST /personnes", c.staff(c.registerLearner))
	c.mux.HandleFunc("GET /personnes/{id}", c.staff(c.learnerRecord))
	c.mux.HandleFunc("POST /personnes/{id}/entree", c.staff(c.enterPathway))
	c.mux.HandleFunc("POST /personnes/{id}/sortie", c.staff(c.exitPathway))
	c.mux.HandleFunc("POST /personnes/{id}/orientations", c.staff(c.recordReferral))
	c.mux.HandleFunc("POST /personnes/{id}/orientations/{n}/resultat", c.staff(c.recordReferralOutcome))
	c.mux.HandleFunc("POST /personnes/{id}/inscriptions", c.staff(c.enrol))
	c.mux.HandleFunc("POST /personnes/{id}/inscriptions/{n}/fin", c.staff(c.endEnrolment))
	c.mux.HandleFunc("POST /personnes/{id}/suivi-6-mois", c.staff(c.recordFollowUp))
}

// searchLearners lists the learners found by family name.
func (c *Console) searchLearners(w http.ResponseWriter, r *http.Request, s *session) {
	q := strings.TrimSpace(r.URL.Query().Get("nom"))
	data := map[string]any{"Title": "Personnes", "Query": q}
	res, err := c.api.Intake.SearchLearners(c.call(r, s), &intakev1.SearchLearnersRequest{
		FamilyNamePrefix: q, PageSize: 50, PageToken: r.URL.Query().Get("page"),
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	data["Learners"] = res.GetLearners()
	if next := res.GetNextPageToken(); next != "" {
		data["Next"] = "/personnes?" + url.Values{"nom": {q}, "page": {next}}.Encode()
	}
	c.pages.render(w, r, s, http.StatusOK, "learners", data)
}

// registrationForm is what the registration form holds, to show it again
// after a refusal.
type registrationForm struct {
	FamilyName, GivenName, BirthDate, Territory string
	Email, Phone, Commune                       string
	Education, Source                           string
	JobSeeker, RSA, RQTH, QPV, ZRR              bool
	FranceTravailID                             string
	RequestID                                   string
	// Justification of an education level above the scheme's public
	// (level 4 and up).
	Justification string
}

// maxJustification is the longest justification of an education level
// intake accepts, in characters.
const maxJustification = 500

func (c *Console) newLearnerForm(w http.ResponseWriter, r *http.Request, s *session) {
	f := registrationForm{RequestID: randomToken()}
	if len(s.principal.Territories) > 0 {
		f.Territory = s.principal.Territories[0]
	}
	c.renderRegistration(w, r, s, http.StatusOK, f, problems{})
}

func (c *Console) renderRegistration(w http.ResponseWriter, r *http.Request, s *session, status int, f registrationForm, p problems) {
	c.pages.render(w, r, s, status, "learner_new", map[string]any{
		"Title": "Inscrire une personne", "Form": f, "Problems": p,
		"Territories":      c.registrationTerritories(s),
		"Educations":       fr.Options(intakev1.EducationLevel(0).Descriptor()),
		"MaxJustification": maxJustification,
		"Sources":          fr.Options(intakev1.ReferralSource(0).Descriptor()),
	})
}

// registerLearner records a new learner; a person already registered is
// shown with a link to the existing record.
func (c *Console) registerLearner(w http.ResponseWriter, r *http.Request, s *session) {
	f := registrationForm{
		FamilyName: strings.TrimSpace(r.PostFormValue("nom")), GivenName: strings.TrimSpace(r.PostFormValue("prenom")),
		BirthDate: r.PostFormValue("naissance"), Territory: r.PostFormValue("territoire"),
		Email: strings.TrimSpace(r.PostFormValue("email")), Phone: strings.TrimSpace(r.PostFormValue("telephone")),
		Commune: strings.TrimSpace(r.PostFormValue("commune")), Education: r.PostFormValue("niveau"), Source: r.PostFormValue("prescripteur"),
		JobSeeker: r.PostFormValue("demandeur") != "", RSA: r.PostFormValue("rsa") != "", RQTH: r.PostFormValue("rqth") != "",
		QPV: r.PostFormValue("qpv") != "", ZRR: r.PostFormValue("zrr") != "",
		FranceTravailID: strings.TrimSpace(r.PostFormValue("ft")), RequestID: r.PostFormValue("request_id"),
		Justification: strings.TrimSpace(r.PostFormValue("justification")),
	}
	var p problems
	required := map[string]string{"nom": f.FamilyName, "prenom": f.GivenName, "naissance": f.BirthDate, "territoire": f.Territory, "commune": f.Commune}
	for field, v := range required {
		if v == "" {
			p.add(field, "Ce champ est obligatoire.")
		}
	}
	birth, err := fr.ParseDate(f.BirthDate)
	if f.BirthDate != "" && err != nil {
		p.add("naissance", err.Error())
	}
	if f.Email == "" && f.Phone == "" {
		p.add("email", "Indiquez une adresse électronique ou un numéro de téléphone.")
	}
	education, okE := enumValue(f.Education, intakev1.EducationLevel_value)
	if !okE {
		p.add("niveau", "Choisissez un niveau de formation.")
	}
	above := okE && intakev1.EducationLevel(education) >= intakev1.EducationLevel_EDUCATION_LEVEL_4
	switch {
	case above && f.Justification == "":
		p.add("justification", "Une justification est obligatoire à partir du niveau 4 : la personne est au-dessus du public du dispositif, dites pourquoi elle est accueillie.")
	case okE && !above && f.Justification != "":
		p.add("justification", "La justification ne concerne que les niveaux 4 et plus : videz ce champ ou changez le niveau.")
	case utf8.RuneCountInString(f.Justification) > maxJustification:
		p.add("justification", fmt.Sprintf("%d caractères au plus (%d saisis).", maxJustification, utf8.RuneCountInString(f.Justification)))
	}
	source, okS := enumValue(f.Source, intakev1.ReferralSource_value)
	if !okS {
		p.add("prescripteur", "Choisissez qui oriente la personne.")
	}
	if f.RequestID == "" {
		f.RequestID = randomToken()
	}
	if p.any() {
		p.General = "Corrigez les champs signalés."
		c.renderRegistration(w, r, s, http.StatusUnprocessableEntity, f, p)
		return
	}
	res, err := c.api.Intake.RegisterLearner(c.call(r, s), &intakev1.RegisterLearnerRequest{
		RequestId: f.RequestID, FamilyName: f.FamilyName, GivenName: f.GivenName,
		BirthDate: civilpb.FromDate(birth), TerritoryCode: f.Territory, Rqth: f.RQTH,
		Contact: &intakev1.Contact{Email: f.Email, Phone: f.Phone, CommuneCode: f.Commune},
		Situation: &intakev1.Situation{
			JobSeeker: f.JobSeeker, FranceTravailId: f.FranceTravailID, RsaRecipient: f.RSA,
			EducationLevel: intakev1.EducationLevel(education), QpvResident: f.QPV, ZrrResident: f.ZRR,
			ReferralSource: intakev1.ReferralSource(source), EducationLevelJustification: f.Justification,
		},
	})
	if err != nil {
		p := fromAPI(err, map[string]string{
			"family_name": "nom", "given_name": "prenom", "birth_date": "naissance", "territory_code": "territoire",
			"contact.email": "email", "contact.phone": "telephone", "contact.commune_code": "commune",
			"situation.france_travail_id": "ft", "situation.education_level": "niveau", "situation.referral_source": "prescripteur",
			"situation.education_level_justification": "justification",
		})
		if p.Existing == "" && isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		// A new attempt is a new command: the refused one recorded nothing.
		f.RequestID = randomToken()
		c.renderRegistration(w, r, s, http.StatusUnprocessableEntity, f, p)
		return
	}
	s.setFlash(displayName(res.GetLearner()) + " est inscrite.")
	http.Redirect(w, r, "/personnes/"+res.GetLearner().GetLearnerId(), http.StatusSeeOther)
}

// learnerRecord is the one page about a learner: identity and situation,
// referents, needs analysis, enrolments, bookings, referrals, hours billed
// (without amounts) and the timeline. Each part the caller may not read
// is left out, not an error.
func (c *Console) learnerRecord(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx := c.call(r, s)
	lr, err := c.api.Intake.GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	data := map[string]any{
		"Title": displayName(lr.GetLearner()), "Learner": lr.GetLearner(), "Today": c.today(),
		"ExitReasons": fr.Options(pathwayv1.ExitReason(0).Descriptor()),
		"Programmes":  fr.Options(pathwayv1.Programme(0).Descriptor()),
		"Outcomes":    recordableOutcomes(),
		"Pending":     fr.Options(pathwayv1.PendingReferrals(0).Descriptor()),
		"Situations":  fr.Options(pathwayv1.FollowUpSituation(0).Descriptor()),
		"Employments": fr.Options(pathwayv1.EmploymentType(0).Descriptor()),
		"RequestID":   randomToken(),
	}
	var open *pathwayv1.Episode
	if res, err := c.api.Pathway.GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: id}); err == nil {
		open = openEpisode(res.GetPathway())
		data["Pathway"], data["Open"] = res.GetPathway(), open
		data["AfterExit"] = referralsAfterExit(res.GetPathway())
		if ep := lastEpisode(res.GetPathway()); open == nil && ep != nil && ep.GetFollowUp() == nil {
			due := civilpb.Date(ep.GetFollowUpDueOn())
			data["FollowUpDue"], data["FollowUpDueNow"] = ep.GetFollowUpDueOn(), due.Valid() && !c.today().Before(due)
		}
	} else if !isNotFound(err) {
		c.log.Warn("console: pathway unavailable", "learner", id, "error", err)
	}
	operators := map[string]string{}
	if open != nil {
		if res, err := c.api.Pathway.ListEnrolmentOptions(ctx, &pathwayv1.ListEnrolmentOptionsRequest{LearnerId: id, PageSize: 100}); err == nil {
			data["EnrolOptions"] = res.GetOptions()
			for _, o := range res.GetOptions() {
				if o.GetOperatorName() != "" {
					operators[o.GetOperatorId()] = o.GetOperatorName()
				}
			}
		}
		data["EnrolmentKinds"] = fr.Options(pathwayv1.EnrolmentKind(0).Descriptor())
	}
	data["Operators"] = operators
	refNames := c.referentNames(ctx)
	data["ReferentNames"] = refNames
	if res, err := c.api.Referent.GetAssignment(ctx, &referentv1.GetAssignmentRequest{LearnerId: id}); err == nil {
		data["Assignment"] = res.GetAssignment()
	}
	if res, err := c.api.Needs.ListAnalyses(ctx, &needsv1.ListAnalysesRequest{LearnerId: id, PageSize: 20}); err == nil {
		data["Analyses"] = res.GetAnalyses()
	}
	if res, err := c.api.Immersion.ListBookings(ctx, &immersionv1.ListBookingsRequest{LearnerId: id, PageSize: 100}); err == nil {
		data["Bookings"] = res.GetBookings()
	}
	if res, err := c.api.Funding.ListLearnerLines(ctx, &fundingv1.ListLearnerLinesRequest{LearnerId: id, PageSize: 200}); err == nil {
		data["Lines"] = res.GetLines()
	}
	if res, err := c.api.Pathway.GetTimeline(ctx, &pathwayv1.GetTimelineRequest{LearnerId: id, PageSize: 200}); err == nil {
		data["Timeline"] = c.timeline(res.GetEntries(), refNames)
	}
	c.pages.render(w, r, s, http.StatusOK, "learner", data)
}

// enterPathway records the entry into the pathway.
func (c *Console) enterPathway(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	day, ok := c.formDate(w, r, s, id, "date", "Date d'entrée")
	if !ok {
		return
	}
	_, err := c.api.Pathway.EnterPathway(c.call(r, s), &pathwayv1.EnterPathwayRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id, EntryDate: day,
	})
	c.afterAction(w, r, s, id, err, "Entrée dans le parcours enregistrée.")
}

// exitPathway records an exit with its coded reason; it may be back-dated.
func (c *Console) exitPathway(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	day, ok := c.formDate(w, r, s, id, "date", "Date de sortie")
	if !ok {
		return
	}
	reason, ok := enumValue(r.PostFormValue("motif"), pathwayv1.ExitReason_value)
	if !ok {
		c.actionRefused(w, r, s, id, "Choisissez le motif de sortie.")
		return
	}
	// Optional: needed when a Savoirs referral is still open.
	pending, _ := enumValue(r.PostFormValue("orientations"), pathwayv1.PendingReferrals_value)
	_, err := c.api.Pathway.ExitPathway(c.call(r, s), &pathwayv1.ExitPathwayRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id, ExitDate: day,
		Reason: pathwayv1.ExitReason(reason), Detail: strings.TrimSpace(r.PostFormValue("precision")),
		PendingReferrals: pathwayv1.PendingReferrals(pending),
	})
	if fromAPI(err, map[string]string{"pending_referrals": "orientations"}).Fields["orientations"] != "" {
		c.actionRefused(w, r, s, id, "Une orientation Savoirs est encore en cours : choisissez, dans le formulaire de sortie, "+
			"de clore les orientations en cours ou de les garder ouvertes après la sortie.")
		return
	}
	c.afterAction(w, r, s, id, err, "Sortie du parcours enregistrée.")
}

// recordReferral records a referral to Savoirs or Qualif.
func (c *Console) recordReferral(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	day, ok := c.formDate(w, r, s, id, "date", "Date d'orientation")
	if !ok {
		return
	}
	prog, ok := enumValue(r.PostFormValue("programme"), pathwayv1.Programme_value)
	if !ok {
		c.actionRefused(w, r, s, id, "Choisissez le programme.")
		return
	}
	_, err := c.api.Pathway.RecordReferral(c.call(r, s), &pathwayv1.RecordReferralRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id, Programme: pathwayv1.Programme(prog),
		ReferralDate: day, Organisation: strings.TrimSpace(r.PostFormValue("organisme")),
	})
	c.afterAction(w, r, s, id, err, "Orientation enregistrée.")
}

// recordReferralOutcome records what became of a referral.
func (c *Console) recordReferralOutcome(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		c.actionRefused(w, r, s, id, "Orientation inconnue.")
		return
	}
	day, ok := c.formDate(w, r, s, id, "date", "Date du résultat")
	if !ok {
		return
	}
	outcome, ok := enumValue(r.PostFormValue("resultat"), pathwayv1.ReferralOutcome_value)
	if !ok {
		c.actionRefused(w, r, s, id, "Choisissez le résultat.")
		return
	}
	req := &pathwayv1.RecordReferralOutcomeRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id, ReferralNumber: int32(n),
		Outcome: pathwayv1.ReferralOutcome(outcome), OutcomeDate: day,
		RncpCode: strings.ToUpper(strings.TrimSpace(r.PostFormValue("rncp"))),
	}
	if strings.TrimSpace(r.PostFormValue("certification")) != "" {
		if req.CertificationDate, ok = c.formDate(w, r, s, id, "certification", "Date d'obtention de la certification"); !ok {
			return
		}
	}
	_, err = c.api.Pathway.RecordReferralOutcome(c.call(r, s), req)
	c.afterAction(w, r, s, id, err, "Résultat de l'orientation enregistré.")
}

// recordableOutcomes are the outcomes a form offers: every one but the
// closure at exit, which only an exit records.
func recordableOutcomes() []fr.Option {
	var out []fr.Option
	for _, o := range fr.Options(pathwayv1.ReferralOutcome(0).Descriptor()) {
		if o.Value != int32(pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_CLOSED_AT_EXIT) {
			out = append(out, o)
		}
	}
	return out
}

// referralsAfterExit are the referrals of closed episodes whose outcome can
// still be recorded: carried over at the exit, or followed in Qualif,
// without a final outcome yet.
func referralsAfterExit(p *pathwayv1.Pathway) []*pathwayv1.Referral {
	var out []*pathwayv1.Referral
	for _, e := range p.GetEpisodes() {
		if e.GetExitDate() == nil {
			continue
		}
		for _, r := range e.GetReferrals() {
			if (r.GetCarriedOver() || r.GetFollowedInQualif()) && !finalOutcome(r.GetOutcome()) {
				out = append(out, r)
			}
		}
	}
	return out
}

// finalOutcome reports whether nothing may follow an outcome.
func finalOutcome(o pathwayv1.ReferralOutcome) bool {
	switch o {
	case pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_UNSPECIFIED, pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_ACCEPTED,
		pathwayv1.ReferralOutcome_REFERRAL_OUTCOME_STARTED:
		return false
	}
	return true
}

// lastEpisode is a pathway's last episode, nil when none.
func lastEpisode(p *pathwayv1.Pathway) *pathwayv1.Episode {
	eps := p.GetEpisodes()
	if len(eps) == 0 {
		return nil
	}
	return eps[len(eps)-1]
}

// recordFollowUp records where the learner stands six months after the
// final exit.
func (c *Console) recordFollowUp(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	situation, ok := enumValue(r.PostFormValue("situation"), pathwayv1.FollowUpSituation_value)
	if !ok {
		c.actionRefused(w, r, s, id, "Choisissez la situation de la personne.")
		return
	}
	employment, _ := enumValue(r.PostFormValue("emploi"), pathwayv1.EmploymentType_value)
	_, err := c.api.Pathway.RecordFollowUp(c.call(r, s), &pathwayv1.RecordFollowUpRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id,
		Situation: pathwayv1.FollowUpSituation(situation), EmploymentType: pathwayv1.EmploymentType(employment),
	})
	c.afterAction(w, r, s, id, err, "Suivi à 6 mois enregistré.")
}

// parseFormDate reads a date typed JJ/MM/AAAA (or sent ISO by a date
// input).
func parseFormDate(v string) (*commonv1.Date, error) {
	d, err := fr.ParseDate(strings.TrimSpace(v))
	if err != nil {
		return nil, err
	}
	return civilpb.FromDate(d), nil
}

// enrol enrols the learner with an operator's contract.
func (c *Console) enrol(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	day, ok := c.formDate(w, r, s, id, "date", "Date de début")
	if !ok {
		return
	}
	contract := r.PostFormValue("contrat")
	kind, okKind := enumValue(r.PostFormValue("nature"), pathwayv1.EnrolmentKind_value)
	if contract == "" || !okKind {
		c.actionRefused(w, r, s, id, "Choisissez le contrat de l'organisme et la nature de l'inscription.")
		return
	}
	_, err := c.api.Pathway.Enrol(c.call(r, s), &pathwayv1.EnrolRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id, ContractId: contract,
		Kind: pathwayv1.EnrolmentKind(kind), FromDate: day,
	})
	c.afterAction(w, r, s, id, err, "Inscription auprès de l'organisme enregistrée.")
}

// endEnrolment ends an enrolment on a date.
func (c *Console) endEnrolment(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		c.actionRefused(w, r, s, id, "Inscription inconnue.")
		return
	}
	day, ok := c.formDate(w, r, s, id, "date", "Date de fin")
	if !ok {
		return
	}
	_, err = c.api.Pathway.EndEnrolment(c.call(r, s), &pathwayv1.EndEnrolmentRequest{
		RequestId: r.PostFormValue("request_id"), LearnerId: id, EnrolmentNumber: int32(n), ToDate: day,
	})
	c.afterAction(w, r, s, id, err, "Fin d'inscription enregistrée.")
}

// formDate reads a required date field of an action form; on a problem it
// answers the record page with the message and returns false.
func (c *Console) formDate(w http.ResponseWriter, r *http.Request, s *session, learnerID, field, label string) (*commonv1.Date, bool) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		c.actionRefused(w, r, s, learnerID, label+" : ce champ est obligatoire.")
		return nil, false
	}
	d, err := fr.ParseDate(v)
	if err != nil {
		c.actionRefused(w, r, s, learnerID, label+" : "+err.Error())
		return nil, false
	}
	return civilpb.FromDate(d), true
}

// afterAction ends an action of the learner record: back to the record
// with a message, or the refusal explained.
func (c *Console) afterAction(w http.ResponseWriter, r *http.Request, s *session, learnerID string, err error, done string) {
	c.afterActionAt(w, r, s, "/personnes/"+learnerID, err, done)
}

// afterActionAt ends an action: back to the page with a message, or the
// refusal explained.
func (c *Console) afterActionAt(w http.ResponseWriter, r *http.Request, s *session, back string, err error, done string) {
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		c.refusedAt(w, r, s, back, fromAPI(err, nil).General)
		return
	}
	s.setFlash(done)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// actionRefused shows why an action was refused, on a page that leads back
// to the record (nothing was recorded).
func (c *Console) actionRefused(w http.ResponseWriter, r *http.Request, s *session, learnerID, msg string) {
	c.refusedAt(w, r, s, "/personnes/"+learnerID, msg)
}

// refusedAt shows why an action was refused, on a page leading back.
func (c *Console) refusedAt(w http.ResponseWriter, r *http.Request, s *session, back, msg string) {
	c.pages.render(w, r, s, http.StatusUnprocessableEntity, "refused", map[string]any{
		"Title": "Action refusée", "Message": msg, "Back": back,
	})
}

// enumValue reads an enum from a form value holding its name; the zero
// (unspecified) value is refused.
func enumValue(name string, values map[string]int32) (int32, bool) {
	v, ok := values[name]
	return v, ok && v != 0
}

// territoryChoice is a territory offered in a form.
type territoryChoice struct{ Code, Label string }

// registrationTerritories are the territories a person may register in:
// a referent's own, every territory for an administrator.
func (c *Console) registrationTerritories(s *session) []territoryChoice {
	var out []territoryChoice
	if len(s.principal.Territories) > 0 {
		for _, code := range s.principal.Territories {
			out = append(out, territoryChoice{Code: code, Label: c.places.label(code)})
		}
		return out
	}
	for _, t := range c.places.all() {
		out = append(out, territoryChoice{Code: t.GetCode(), Label: c.places.label(t.GetCode())})
	}
	return out
}
