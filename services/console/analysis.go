package console

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// The needs analysis as a guided form: the seven CléA domains as a grid,
// diplomas, experiences (with their ROME codes, searchable by label),
// barriers, the professional project and the recommended steps in order.
// The page shows the analysis of the learner's open episode: a button to
// start it, the form while it is a draft (saved as drafts, then completed),
// a summary once completed (revised as a new version).

func (c *Console) analysisRoutes() {
	c.mux.HandleFunc("GET /personnes/{id}/analyse", c.staff(c.analysisPage))
	c.mux.HandleFunc("POST /personnes/{id}/analyse", c.staff(c.submitAnalysis))
	c.mux.HandleFunc("POST /personnes/{id}/analyse/commencer", c.staff(c.startAnalysis))
	c.mux.HandleFunc("POST /personnes/{id}/analyse/reviser", c.staff(c.reviseAnalysis))
	c.mux.HandleFunc("GET /metiers", c.staff(c.searchTrades))
}

// The limits of an analysis's content, as the API documents them
// (avenir/needs/v1/analysis.proto): the console checks them first, in
// French, and the service checks them again.
const (
	maxDiplomas       = 20
	maxExperiences    = 50
	maxTargets        = 10
	maxSteps          = 20
	maxDiscovery      = 5
	maxWorkshops      = 20
	maxTitleLen       = 200
	maxRoleLen        = 200
	maxDescriptionLen = 500
	maxDurationMonths = 600
	maxWeeklyHours    = 48
	maxTravelKm       = 500
	maxDiplomaLevel   = 8
	minDiplomaYear    = 1900
	// extraRows is how many empty rows each list offers, so that the form
	// works without JavaScript; "Ajouter une ligne" adds one more.
	extraRows = 2
	// readYourWrites bounds the wait for the read model to show what a
	// command just recorded, after the redirection.
	readYourWrites = 2 * time.Second
)

// stepKind is a kind of recommended step: the cases of the oneof
// RecommendedStep.step.
type stepKind struct{ Name, Label string }

var stepKinds = []stepKind{
	{"project_workshops", "Ateliers de construction du projet professionnel"},
	{"trade_discovery", "Découverte de métiers en immersion #Action"},
	{"basic_skills_training", "Formation aux savoirs de base (Savoirs)"},
	{"qualifying_training", "Formation qualifiante (Qualif)"},
	{"employment_support", "Accompagnement vers l'emploi"},
	{"other", "Autre étape"},
}

func stepLabel(kind string) string {
	for _, k := range stepKinds {
		if k.Name == kind {
			return k.Label
		}
	}
	return kind
}

// diplomaLevels names the levels of the national nomenclature of 2019.
var diplomaLevels = map[int]string{
	0: "Sans niveau reconnu",
	1: "Niveau 1 (savoirs de base)",
	2: "Niveau 2 (compétences de base, CléA)",
	3: "Niveau 3 (CAP, BEP)",
	4: "Niveau 4 (baccalauréat)",
	5: "Niveau 5 (bac + 2 : BTS, DUT)",
	6: "Niveau 6 (bac + 3 ou 4 : licence)",
	7: "Niveau 7 (bac + 5 : master)",
	8: "Niveau 8 (doctorat)",
}

// ---------------------------------------------------------------------------
// The form as typed.

// analysisForm is what the form holds, as typed: shown again as it is after
// a refusal.
type analysisForm struct {
	AnalysisID, RequestID string
	// Skills maps a SkillDomain name to a SkillLevel name.
	Skills      map[string]string
	Diplomas    []diplomaRow
	Experiences []experienceRow
	// Barriers maps a BarrierKind name to its row.
	Barriers map[string]barrierRow
	Maturity string
	Targets  []string
	Hours    string
	Km       string
	Steps    []stepRow
	// Query is the ROME search typed in the form.
	Query string
}

type diplomaRow struct{ Title, Level, Year string }

func (d diplomaRow) empty() bool {
	return strings.TrimSpace(d.Title) == "" && strings.TrimSpace(d.Year) == "" && (d.Level == "" || d.Level == "0")
}

type experienceRow struct{ Kind, Role, ROME, Duration string }

func (e experienceRow) empty() bool {
	return e.Kind == "" && strings.TrimSpace(e.Role) == "" && strings.TrimSpace(e.ROME) == "" && strings.TrimSpace(e.Duration) == ""
}

type barrierRow struct {
	Severity string
	Support  bool
}

type stepRow struct{ Kind, Order, Count, Codes, Description string }

func (s stepRow) empty() bool {
	return s.Kind == "" && strings.TrimSpace(s.Count) == "" && strings.TrimSpace(s.Codes) == "" && strings.TrimSpace(s.Description) == ""
}

// Field names of the form.
func diplomaField(i int, f string) string    { return fmt.Sprintf("diplome-%d-%s", i, f) }
func experienceField(i int, f string) string { return fmt.Sprintf("experience-%d-%s", i, f) }
func stepField(i int, f string) string       { return fmt.Sprintf("etape-%d-%s", i, f) }
func targetField(i int) string               { return fmt.Sprintf("cible-%d", i) }
func skillField(domain string) string        { return "competence-" + domain }
func barrierField(kind string) string        { return "frein-" + kind }

// formFromAnalysis fills the form with an analysis's content.
func formFromAnalysis(a *needsv1.Analysis) analysisForm {
	f := analysisForm{AnalysisID: a.GetAnalysisId(), RequestID: randomToken(), Skills: map[string]string{}, Barriers: map[string]barrierRow{}}
	c := a.GetContent()
	for _, s := range c.GetSkills() {
		f.Skills[s.GetDomain().String()] = s.GetLevel().String()
	}
	for _, d := range c.GetDiplomas() {
		f.Diplomas = append(f.Diplomas, diplomaRow{Title: d.GetTitle(), Level: strconv.Itoa(int(d.GetLevel())), Year: numberText(d.GetYear())})
	}
	for _, e := range c.GetExperiences() {
		f.Experiences = append(f.Experiences, experienceRow{
			Kind: e.GetKind().String(), Role: e.GetRole(), ROME: e.GetRomeCode(), Duration: numberText(e.GetDurationMonths()),
		})
	}
	for _, b := range c.GetBarriers() {
		f.Barriers[b.GetKind().String()] = barrierRow{Severity: b.GetSeverity().String(), Support: b.GetSupportArranged()}
	}
	p := c.GetProject()
	if p.GetMaturity() != needsv1.ProjectMaturity_PROJECT_MATURITY_UNSPECIFIED {
		f.Maturity = p.GetMaturity().String()
	}
	f.Targets = slices.Clone(p.GetTargetRomeCodes())
	f.Hours = numberText(p.GetConstraints().GetMaxWeeklyHours())
	f.Km = numberText(p.GetConstraints().GetMaxTravelKm())
	for i, s := range c.GetRecommendedSteps() {
		row := stepRow{Order: strconv.Itoa(i + 1)}
		switch st := s.GetStep().(type) {
		case *needsv1.RecommendedStep_ProjectWorkshops:
			row.Kind, row.Count = "project_workshops", numberText(st.ProjectWorkshops.GetCount())
		case *needsv1.RecommendedStep_TradeDiscovery:
			row.Kind, row.Codes = "trade_discovery", strings.Join(st.TradeDiscovery.GetRomeCodes(), " ")
		case *needsv1.RecommendedStep_BasicSkillsTraining:
			row.Kind = "basic_skills_training"
		case *needsv1.RecommendedStep_QualifyingTraining:
			row.Kind = "qualifying_training"
		case *needsv1.RecommendedStep_EmploymentSupport:
			row.Kind = "employment_support"
		case *needsv1.RecommendedStep_Other:
			row.Kind, row.Description = "other", st.Other.GetDescription()
		}
		f.Steps = append(f.Steps, row)
	}
	f.pad()
	return f
}

// pad adds the empty rows each list offers, within its limit.
func (f *analysisForm) pad() {
	f.Diplomas = padRows(f.Diplomas, maxDiplomas)
	f.Experiences = padRows(f.Experiences, maxExperiences)
	f.Targets = padRows(f.Targets, maxTargets)
	f.Steps = padRows(f.Steps, maxSteps)
}

func padRows[T any](rows []T, limit int) []T {
	for range extraRows {
		if len(rows) >= limit {
			break
		}
		var zero T
		rows = append(rows, zero)
	}
	return rows
}

func numberText(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

// rowCount reads a hidden row counter, within 0..limit.
func rowCount(r *http.Request, field string, limit int) int {
	n, err := strconv.Atoi(r.PostFormValue(field))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, limit)
}

// formFromRequest reads the form as posted.
func formFromRequest(r *http.Request) analysisForm {
	v := func(name string) string { return r.PostFormValue(name) }
	f := analysisForm{
		AnalysisID: v("analysis_id"), RequestID: v("request_id"),
		Skills: map[string]string{}, Barriers: map[string]barrierRow{},
		Maturity: v("maturite"), Hours: v("heures"), Km: v("km"), Query: v("recherche"),
	}
	for _, d := range fr.Options(needsv1.SkillDomain(0).Descriptor()) {
		if l := v(skillField(d.Name)); l != "" {
			f.Skills[d.Name] = l
		}
	}
	for i := range rowCount(r, "nb-diplomes", maxDiplomas) {
		f.Diplomas = append(f.Diplomas, diplomaRow{Title: v(diplomaField(i, "intitule")), Level: v(diplomaField(i, "niveau")), Year: v(diplomaField(i, "annee"))})
	}
	for i := range rowCount(r, "nb-experiences", maxExperiences) {
		f.Experiences = append(f.Experiences, experienceRow{
			Kind: v(experienceField(i, "type")), Role: v(experienceField(i, "poste")),
			ROME: v(experienceField(i, "rome")), Duration: v(experienceField(i, "duree")),
		})
	}
	for _, k := range fr.Options(needsv1.BarrierKind(0).Descriptor()) {
		sev := v(barrierField(k.Name))
		support := v(barrierField(k.Name)+"-accompagnement") != ""
		if sev != "" || support {
			f.Barriers[k.Name] = barrierRow{Severity: sev, Support: support}
		}
	}
	for i := range rowCount(r, "nb-cibles", maxTargets) {
		f.Targets = append(f.Targets, v(targetField(i)))
	}
	for i := range rowCount(r, "nb-etapes", maxSteps) {
		f.Steps = append(f.Steps, stepRow{
			Kind: v(stepField(i, "type")), Order: v(stepField(i, "ordre")), Count: v(stepField(i, "ateliers")),
			Codes: v(stepField(i, "metiers")), Description: v(stepField(i, "description")),
		})
	}
	return f
}

// ---------------------------------------------------------------------------
// From the form to the API's content.

// contentChecker turns the form into the API's content, recording every
// problem next to its field, in French; paths maps the API's field paths
// of the content it built to the form's fields, to place the service's
// violations.
type contentChecker struct {
	p     problems
	paths map[string]string
}

func (k *contentChecker) path(api, field string) { k.paths[api] = field }

// number reads a whole number: ok is false (and a problem recorded) when
// the text is not one or is outside lo..hi; an empty text is 0, fine when
// lo <= 0.
func (k *contentChecker) number(field, s string, lo, hi int, msg string) (int32, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\u00a0", ""))
	if s == "" {
		if lo > 0 {
			k.p.add(field, msg)
			return 0, false
		}
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		k.p.add(field, msg)
		return 0, false
	}
	return int32(n), true
}

// text checks a typed text: required and at most max characters.
func (k *contentChecker) text(field, s string, max int, required string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		k.p.add(field, required)
	case utf8.RuneCountInString(s) > max:
		k.p.add(field, fmt.Sprintf("%d caractères au plus (%d saisis).", max, utf8.RuneCountInString(s)))
	}
	return s
}

// romeCode reads a ROME code of the reference ("d1102", "D1102 Boulangerie"
// work too); a text that is not one gets suggestions found by label.
func romeCode(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	first := strings.Fields(strings.ReplaceAll(s, "—", " "))[0]
	code := strings.ToUpper(first)
	if _, ok := fr.ROMELabel(code); ok {
		return code, ""
	}
	msg := fmt.Sprintf("« %s » n'est pas un code ROME connu : une lettre et quatre chiffres, par exemple K2204.", s)
	if found := fr.SearchROME(s, 3); len(found) > 0 {
		var names []string
		for _, r := range found {
			names = append(names, r.Code+" ("+r.Label+")")
		}
		msg += " Métiers proches : " + strings.Join(names, ", ") + "."
	}
	return "", msg
}

// content builds the API's content from the form. Completing, it also
// checks what a completed analysis needs: a project maturity, the target
// trades of a project to confirm or validated, and at least one step.
func (f analysisForm) content(thisYear int, completing bool) (*needsv1.AnalysisContent, problems, map[string]string) {
	k := &contentChecker{paths: map[string]string{}}
	out := &needsv1.AnalysisContent{}

	// The seven domains, in order; a domain left out is not assessed.
	for i, d := range fr.Options(needsv1.SkillDomain(0).Descriptor()) {
		level := needsv1.SkillLevel_SKILL_LEVEL_NOT_ASSESSED
		if name := f.Skills[d.Name]; name != "" {
			l, ok := enumValue(name, needsv1.SkillLevel_value)
			if !ok {
				k.p.add("competences", "Choisissez un niveau dans la grille pour chaque domaine.")
			}
			level = needsv1.SkillLevel(l)
		}
		out.Skills = append(out.Skills, &needsv1.SkillAssessment{Domain: needsv1.SkillDomain(d.Value), Level: level})
		k.path(fmt.Sprintf("content.skills[%d].domain", i), "competences")
		k.path(fmt.Sprintf("content.skills[%d].level", i), "competences")
	}

	k.path("content.diplomas", "diplomes")
	for row, d := range f.Diplomas {
		if d.empty() {
			continue
		}
		i := len(out.Diplomas)
		api := fmt.Sprintf("content.diplomas[%d]", i)
		k.path(api+".title", diplomaField(row, "intitule"))
		k.path(api+".level", diplomaField(row, "niveau"))
		k.path(api+".year", diplomaField(row, "annee"))
		title := k.text(diplomaField(row, "intitule"), d.Title, maxTitleLen, "Indiquez l'intitulé du diplôme.")
		level, _ := k.number(diplomaField(row, "niveau"), d.Level, 0, maxDiplomaLevel, "Choisissez un niveau dans la liste.")
		year, _ := k.number(diplomaField(row, "annee"), d.Year, minDiplomaYear, thisYear,
			fmt.Sprintf("Indiquez l'année d'obtention, de %d à %d.", minDiplomaYear, thisYear))
		out.Diplomas = append(out.Diplomas, &needsv1.Diploma{Title: title, Level: level, Year: year})
	}

	k.path("content.experiences", "experiences")
	for row, e := range f.Experiences {
		if e.empty() {
			continue
		}
		i := len(out.Experiences)
		api := fmt.Sprintf("content.experiences[%d]", i)
		k.path(api+".kind", experienceField(row, "type"))
		k.path(api+".role", experienceField(row, "poste"))
		k.path(api+".rome_code", experienceField(row, "rome"))
		k.path(api+".duration_months", experienceField(row, "duree"))
		kind, ok := enumValue(e.Kind, needsv1.ExperienceKind_value)
		if !ok {
			k.p.add(experienceField(row, "type"), "Choisissez le type d'expérience.")
		}
		role := k.text(experienceField(row, "poste"), e.Role, maxRoleLen, "Indiquez le poste occupé.")
		code, problem := romeCode(e.ROME)
		if problem != "" {
			k.p.add(experienceField(row, "rome"), problem)
		}
		months, _ := k.number(experienceField(row, "duree"), e.Duration, 1, maxDurationMonths,
			fmt.Sprintf("Indiquez la durée en mois, de 1 à %d.", maxDurationMonths))
		out.Experiences = append(out.Experiences, &needsv1.Experience{
			Kind: needsv1.ExperienceKind(kind), Role: role, RomeCode: code, DurationMonths: months,
		})
	}

	for _, kd := range fr.Options(needsv1.BarrierKind(0).Descriptor()) {
		b, ok := f.Barriers[kd.Name]
		if !ok {
			continue
		}
		field := barrierField(kd.Name)
		if b.Severity == "" {
			k.p.add(field, "Choisissez l'importance du frein, ou décochez « accompagnement mis en place ».")
			continue
		}
		sev, ok := enumValue(b.Severity, needsv1.BarrierSeverity_value)
		if !ok {
			k.p.add(field, "Choisissez une importance dans la liste.")
			continue
		}
		i := len(out.Barriers)
		k.path(fmt.Sprintf("content.barriers[%d].kind", i), field)
		k.path(fmt.Sprintf("content.barriers[%d].severity", i), field)
		out.Barriers = append(out.Barriers, &needsv1.Barrier{
			Kind: needsv1.BarrierKind(kd.Value), Severity: needsv1.BarrierSeverity(sev), SupportArranged: b.Support,
		})
	}

	project := &needsv1.ProfessionalProject{Constraints: &needsv1.ProjectConstraints{}}
	out.Project = project
	k.path("content.project.maturity", "maturite")
	if f.Maturity != "" {
		m, ok := enumValue(f.Maturity, needsv1.ProjectMaturity_value)
		if !ok {
			k.p.add("maturite", "Choisissez où en est le projet dans la liste.")
		}
		project.Maturity = needsv1.ProjectMaturity(m)
	} else if completing {
		k.p.add("maturite", "Indiquez où en est le projet professionnel : c'est nécessaire pour terminer l'analyse.")
	}
	k.path("content.project.target_rome_codes", "cibles")
	for row, t := range f.Targets {
		if strings.TrimSpace(t) == "" {
			continue
		}
		k.path(fmt.Sprintf("content.project.target_rome_codes[%d]", len(project.TargetRomeCodes)), targetField(row))
		code, problem := romeCode(t)
		switch {
		case problem != "":
			k.p.add(targetField(row), problem)
		case slices.Contains(project.TargetRomeCodes, code):
			k.p.add(targetField(row), "Ce métier est déjà visé plus haut.")
		}
		project.TargetRomeCodes = append(project.TargetRomeCodes, code)
	}
	if completing && len(project.TargetRomeCodes) == 0 &&
		(project.Maturity == needsv1.ProjectMaturity_PROJECT_MATURITY_TO_CONFIRM || project.Maturity == needsv1.ProjectMaturity_PROJECT_MATURITY_VALIDATED) {
		k.p.add("cibles", "Un projet à confirmer ou validé nomme au moins un métier visé (code ROME).")
	}
	k.path("content.project.constraints.max_weekly_hours", "heures")
	k.path("content.project.constraints.max_travel_km", "km")
	project.Constraints.MaxWeeklyHours, _ = k.number("heures", f.Hours, 0, maxWeeklyHours,
		fmt.Sprintf("Indiquez un nombre d'heures par semaine, de 0 à %d (vide : pas de contrainte).", maxWeeklyHours))
	project.Constraints.MaxTravelKm, _ = k.number("km", f.Km, 0, maxTravelKm,
		fmt.Sprintf("Indiquez une distance en kilomètres, de 0 à %d (vide : pas de contrainte).", maxTravelKm))

	// Steps in the order asked: by their « Ordre », then as listed.
	type ordered struct {
		row, order int
		step       *needsv1.RecommendedStep
	}
	var steps []ordered
	for row, s := range f.Steps {
		if s.empty() {
			continue
		}
		order := row + 1
		if strings.TrimSpace(s.Order) != "" {
			n, ok := k.number(stepField(row, "ordre"), s.Order, 1, 99, "L'ordre est un nombre entier, de 1 à 99.")
			if ok {
				order = int(n)
			}
		}
		var step needsv1.RecommendedStep
		switch s.Kind {
		case "project_workshops":
			n, _ := k.number(stepField(row, "ateliers"), s.Count, 1, maxWorkshops,
				fmt.Sprintf("Indiquez le nombre d'ateliers, de 1 à %d.", maxWorkshops))
			step.Step = &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: n}}
		case "trade_discovery":
			var codes []string
			field := stepField(row, "metiers")
			for _, c := range strings.FieldsFunc(s.Codes, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
				code, problem := romeCode(c)
				switch {
				case problem != "":
					k.p.add(field, problem)
				case slices.Contains(codes, code):
					k.p.add(field, code+" est indiqué deux fois.")
				}
				codes = append(codes, code)
			}
			if len(codes) == 0 || len(codes) > maxDiscovery {
				k.p.add(field, fmt.Sprintf("Indiquez de 1 à %d codes ROME de métiers à découvrir, séparés par des espaces.", maxDiscovery))
			}
			step.Step = &needsv1.RecommendedStep_TradeDiscovery{TradeDiscovery: &needsv1.TradeDiscovery{RomeCodes: codes}}
		case "basic_skills_training":
			step.Step = &needsv1.RecommendedStep_BasicSkillsTraining{BasicSkillsTraining: &needsv1.BasicSkillsTraining{}}
		case "qualifying_training":
			step.Step = &needsv1.RecommendedStep_QualifyingTraining{QualifyingTraining: &needsv1.QualifyingTraining{}}
		case "employment_support":
			step.Step = &needsv1.RecommendedStep_EmploymentSupport{EmploymentSupport: &needsv1.EmploymentSupport{}}
		case "other":
			d := k.text(stepField(row, "description"), s.Description, maxDescriptionLen, "Dites en quelques mots quelle est cette étape.")
			step.Step = &needsv1.RecommendedStep_Other{Other: &needsv1.OtherStep{Description: d}}
		default:
			k.p.add(stepField(row, "type"), "Choisissez le type d'étape.")
		}
		steps = append(steps, ordered{row: row, order: order, step: &step})
	}
	slices.SortStableFunc(steps, func(a, b ordered) int { return cmp.Compare(a.order, b.order) })
	k.path("content.recommended_steps", "etapes")
	for i, s := range steps {
		api := fmt.Sprintf("content.recommended_steps[%d]", i)
		k.path(api, stepField(s.row, "type"))
		k.path(api+".project_workshops.count", stepField(s.row, "ateliers"))
		k.path(api+".trade_discovery.rome_codes", stepField(s.row, "metiers"))
		for j := range maxDiscovery + 1 {
			k.path(fmt.Sprintf("%s.trade_discovery.rome_codes[%d]", api, j), stepField(s.row, "metiers"))
		}
		k.path(api+".other.description", stepField(s.row, "description"))
		out.RecommendedSteps = append(out.RecommendedSteps, s.step)
	}
	if completing && len(steps) == 0 {
		k.p.add("etapes", "Recommandez au moins une étape : c'est nécessaire pour terminer l'analyse.")
	}
	if k.p.any() {
		k.p.General = "Corrigez les champs signalés : rien n'a été enregistré."
	}
	return out, k.p, k.paths
}

// ---------------------------------------------------------------------------
// What the page shows.

// fieldView is one field of the form as the template draws it.
type fieldView struct {
	ID, Label, Value, Error, Hint string
	// Kind is "text", "numeric", "select" or "textarea".
	Kind    string
	Options []choiceView
	// ROME marks a ROME code input: its trade's title is shown under it
	// (ROMELabel), and the script offers suggestions by label.
	ROME      bool
	ROMELabel string
	// StepKind is the kind of step the field is for ("" for every kind);
	// StepType marks a step's kind select.
	StepKind string
	StepType bool
	Col      string // the grid column class
	Context  string // the row, for the error summary ("Diplôme 2")
}

// Described is the ids the field's aria-describedby names.
func (f fieldView) Described() string {
	var ids []string
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.ROME {
		ids = append(ids, f.ID+"-rome")
	}
	return strings.Join(ids, " ")
}

type choiceView struct {
	Value, Label string
	Selected     bool
}

// rowView is one row of a list: a fieldset of fields.
type rowView struct {
	Legend string
	Fields []fieldView
}

type skillCell struct {
	ID, Value, Label string
	Checked          bool
}

type skillRowView struct {
	Domain, Name string
	Cells        []skillCell
}

type barrierView struct {
	Kind, ID, Error string
	Options         []choiceView
	Support         bool
}

// errorLink is one entry of the summary of problems at the top of the form.
type errorLink struct{ Href, Text string }

// formView is the form as the template draws it.
type formView struct {
	AnalysisID, RequestID string
	Levels                []string
	Skills                []skillRowView
	Diplomas, Experiences []rowView
	Targets               []fieldView
	Steps                 []rowView
	Barriers              []barrierView
	Maturity, Hours, Km   fieldView
	// Section problems (a list as a whole) by section id.
	Sections map[string]string
	Errors   []errorLink
	// CanAdd* say whether a list may take one more row.
	CanAddDiploma, CanAddExperience, CanAddTarget, CanAddStep bool
	Query                                                     string
	Searched                                                  bool
	Results                                                   []fr.ROME
}

func choices[T any](values []T, selected string, value func(T) (string, string), empty string) []choiceView {
	var out []choiceView
	if empty != "" {
		out = append(out, choiceView{Value: "", Label: empty, Selected: selected == ""})
	}
	for _, v := range values {
		val, lab := value(v)
		out = append(out, choiceView{Value: val, Label: lab, Selected: val == selected})
	}
	return out
}

func optionChoice(o fr.Option) (string, string) { return o.Name, o.Label }

// view builds what the template draws from the form and its problems.
func (f analysisForm) view(p problems) formView {
	v := formView{AnalysisID: f.AnalysisID, RequestID: f.RequestID, Sections: map[string]string{}, Query: strings.TrimSpace(f.Query)}
	if v.Query != "" {
		v.Searched, v.Results = true, fr.SearchROME(v.Query, 20)
	}
	var errs []errorLink
	field := func(fv fieldView) fieldView {
		fv.Error = p.Fields[fv.ID]
		if fv.Error != "" {
			text := fv.Label + " : " + fv.Error
			if fv.Context != "" {
				text = fv.Context + " — " + text
			}
			errs = append(errs, errorLink{Href: "#" + fv.ID, Text: text})
		}
		return fv
	}
	section := func(id, label string) {
		if msg := p.Fields[id]; msg != "" {
			v.Sections[id] = msg
			errs = append(errs, errorLink{Href: "#" + id, Text: label + " : " + msg})
		}
	}

	levels := fr.Options(needsv1.SkillLevel(0).Descriptor())
	for _, l := range levels {
		v.Levels = append(v.Levels, l.Label)
	}
	section("competences", "Compétences de base")
	for _, d := range fr.Options(needsv1.SkillDomain(0).Descriptor()) {
		current := f.Skills[d.Name]
		if current == "" {
			current = needsv1.SkillLevel_SKILL_LEVEL_NOT_ASSESSED.String()
		}
		row := skillRowView{Domain: d.Label, Name: skillField(d.Name)}
		for _, l := range levels {
			row.Cells = append(row.Cells, skillCell{
				ID: skillField(d.Name) + "-" + l.Name, Value: l.Name, Label: d.Label + " : " + l.Label, Checked: current == l.Name,
			})
		}
		v.Skills = append(v.Skills, row)
	}

	section("diplomes", "Diplômes")
	levelChoices := make([]choiceView, 0, len(diplomaLevels))
	for n := 0; n <= maxDiplomaLevel; n++ {
		levelChoices = append(levelChoices, choiceView{Value: strconv.Itoa(n), Label: diplomaLevels[n]})
	}
	for i, d := range f.Diplomas {
		ctx := fmt.Sprintf("Diplôme %d", i+1)
		opts := slices.Clone(levelChoices)
		for j := range opts {
			opts[j].Selected = opts[j].Value == cmp.Or(d.Level, "0")
		}
		v.Diplomas = append(v.Diplomas, rowView{Legend: ctx, Fields: []fieldView{
			field(fieldView{ID: diplomaField(i, "intitule"), Label: "Intitulé", Value: d.Title, Kind: "text", Col: "col-4", Context: ctx, Hint: "Par exemple : CAP Cuisine."}),
			field(fieldView{ID: diplomaField(i, "niveau"), Label: "Niveau", Kind: "select", Options: opts, Col: "col-4", Context: ctx}),
			field(fieldView{ID: diplomaField(i, "annee"), Label: "Année d'obtention", Value: d.Year, Kind: "numeric", Col: "col-4", Context: ctx, Hint: "Quatre chiffres."}),
		}})
	}
	v.CanAddDiploma = len(f.Diplomas) < maxDiplomas

	section("experiences", "Expériences")
	kinds := fr.Options(needsv1.ExperienceKind(0).Descriptor())
	for i, e := range f.Experiences {
		ctx := fmt.Sprintf("Expérience %d", i+1)
		v.Experiences = append(v.Experiences, rowView{Legend: ctx, Fields: []fieldView{
			field(fieldView{ID: experienceField(i, "type"), Label: "Type", Kind: "select", Options: choices(kinds, e.Kind, optionChoice, "— Choisir —"), Col: "col-4", Context: ctx}),
			field(fieldView{ID: experienceField(i, "poste"), Label: "Poste occupé", Value: e.Role, Kind: "text", Col: "col-8", Context: ctx}),
			field(romeField(experienceField(i, "rome"), "Code ROME du métier", e.ROME, "Facultatif. Cherchez le code par le nom du métier.", "col-6", ctx)),
			field(fieldView{ID: experienceField(i, "duree"), Label: "Durée en mois", Value: e.Duration, Kind: "numeric", Col: "col-4", Context: ctx, Hint: fmt.Sprintf("De 1 à %d.", maxDurationMonths)}),
		}})
	}
	v.CanAddExperience = len(f.Experiences) < maxExperiences

	section("freins", "Freins périphériques")
	severities := fr.Options(needsv1.BarrierSeverity(0).Descriptor())
	for _, k := range fr.Options(needsv1.BarrierKind(0).Descriptor()) {
		b := f.Barriers[k.Name]
		bv := barrierView{Kind: k.Label, ID: barrierField(k.Name), Support: b.Support,
			Options: choices(severities, b.Severity, optionChoice, "Aucun frein"), Error: p.Fields[barrierField(k.Name)]}
		if bv.Error != "" {
			errs = append(errs, errorLink{Href: "#" + bv.ID, Text: "Frein « " + k.Label + " » : " + bv.Error})
		}
		v.Barriers = append(v.Barriers, bv)
	}

	maturities := fr.Options(needsv1.ProjectMaturity(0).Descriptor())
	v.Maturity = field(fieldView{ID: "maturite", Label: "Où en est le projet", Kind: "select",
		Options: choices(maturities, f.Maturity, optionChoice, "— Pas encore évalué —"), Hint: "Nécessaire pour terminer l'analyse."})
	section("cibles", "Métiers visés")
	for i, t := range f.Targets {
		v.Targets = append(v.Targets, field(romeField(targetField(i), fmt.Sprintf("Métier visé %d (code ROME)", i+1), t, "", "col-6", "")))
	}
	v.CanAddTarget = len(f.Targets) < maxTargets
	v.Hours = field(fieldView{ID: "heures", Label: "Heures par semaine au plus", Value: f.Hours, Kind: "numeric", Col: "col-6",
		Hint: fmt.Sprintf("De 0 à %d ; vide : pas de contrainte.", maxWeeklyHours)})
	v.Km = field(fieldView{ID: "km", Label: "Distance de déplacement au plus, en km", Value: f.Km, Kind: "numeric", Col: "col-6",
		Hint: fmt.Sprintf("De 0 à %d ; vide : pas de contrainte.", maxTravelKm)})

	section("etapes", "Étapes recommandées")
	for i, s := range f.Steps {
		ctx := fmt.Sprintf("Étape %d", i+1)
		v.Steps = append(v.Steps, rowView{Legend: ctx, Fields: []fieldView{
			field(fieldView{ID: stepField(i, "type"), Label: "Type d'étape", Kind: "select", StepType: true, Col: "col-8", Context: ctx,
				Options: choices(stepKinds, s.Kind, func(k stepKind) (string, string) { return k.Name, k.Label }, "— Aucune —")}),
			field(fieldView{ID: stepField(i, "ordre"), Label: "Ordre", Value: s.Order, Kind: "numeric", Col: "col-4", Context: ctx, Hint: "1 pour la première étape."}),
			field(fieldView{ID: stepField(i, "ateliers"), Label: "Nombre d'ateliers", Value: s.Count, Kind: "numeric", Col: "col-4", Context: ctx,
				StepKind: "project_workshops", Hint: fmt.Sprintf("Pour les ateliers : de 1 à %d.", maxWorkshops)}),
			field(fieldView{ID: stepField(i, "metiers"), Label: "Métiers à découvrir (codes ROME)", Value: s.Codes, Kind: "text", Col: "col-8", Context: ctx,
				StepKind: "trade_discovery", Hint: fmt.Sprintf("Pour la découverte de métiers : de 1 à %d codes séparés par des espaces.", maxDiscovery)}),
			field(fieldView{ID: stepField(i, "description"), Label: "Description", Value: s.Description, Kind: "textarea", Col: "col-12", Context: ctx,
				StepKind: "other", Hint: fmt.Sprintf("Pour une autre étape : %d caractères au plus.", maxDescriptionLen)}),
		}})
	}
	v.CanAddStep = len(f.Steps) < maxSteps

	// The summary follows the order of the form.
	order := []string{"#competences", "#diplome-", "#diplomes", "#experience-", "#experiences", "#frein-", "#freins", "#maturite", "#cible-", "#cibles", "#heures", "#km", "#etape-", "#etapes"}
	rank := func(href string) int {
		best, bestLen := len(order), 0
		for i, o := range order {
			if strings.HasPrefix(href, o) && len(o) > bestLen {
				best, bestLen = i, len(o)
			}
		}
		return best
	}
	slices.SortStableFunc(errs, func(a, b errorLink) int { return cmp.Compare(rank(a.Href), rank(b.Href)) })
	v.Errors = errs
	return v
}

// romeField is a ROME code input, with its trade's title under it.
func romeField(id, label, value, hint, col, ctx string) fieldView {
	fv := fieldView{ID: id, Label: label, Value: value, Kind: "text", ROME: true, Col: col, Context: ctx, Hint: hint}
	if code := strings.TrimSpace(value); code != "" {
		if l, ok := fr.ROMELabel(code); ok {
			fv.ROMELabel = strings.ToUpper(code) + " : " + l
		}
	}
	return fv
}

// summaryView is a completed analysis (or a draft that can no longer
// change) as the page reads it.
type summaryView struct {
	Skills      []summarySkill
	Diplomas    []summaryDiploma
	Experiences []summaryExperience
	Barriers    []summaryBarrier
	Maturity    string
	Targets     []string
	Hours, Km   string
	Steps       []summaryStep
	StepsOnly   bool
	Erased      bool
}

type summarySkill struct{ Domain, Level string }
type summaryDiploma struct{ Title, Level, Year string }
type summaryExperience struct{ Kind, Role, Trade, Duration string }
type summaryBarrier struct {
	Kind, Severity string
	Support        bool
}
type summaryStep struct{ Label, Detail string }

// trade is a ROME code with its title.
func trade(code string) string {
	if l, ok := fr.ROMELabel(code); ok {
		return code + " — " + l
	}
	return code
}

func summaryOf(a *needsv1.Analysis) summaryView {
	c := a.GetContent()
	s := summaryView{StepsOnly: a.GetStepsOnly(), Erased: a.GetLearnerErased()}
	for _, sk := range c.GetSkills() {
		s.Skills = append(s.Skills, summarySkill{Domain: fr.Label(sk.GetDomain()), Level: fr.Label(sk.GetLevel())})
	}
	for _, d := range c.GetDiplomas() {
		s.Diplomas = append(s.Diplomas, summaryDiploma{Title: d.GetTitle(), Level: diplomaLevels[int(d.GetLevel())], Year: numberText(d.GetYear())})
	}
	for _, e := range c.GetExperiences() {
		ex := summaryExperience{Kind: fr.Label(e.GetKind()), Role: e.GetRole(), Duration: months(e.GetDurationMonths())}
		if e.GetRomeCode() != "" {
			ex.Trade = trade(e.GetRomeCode())
		}
		s.Experiences = append(s.Experiences, ex)
	}
	for _, b := range c.GetBarriers() {
		s.Barriers = append(s.Barriers, summaryBarrier{Kind: fr.Label(b.GetKind()), Severity: fr.Label(b.GetSeverity()), Support: b.GetSupportArranged()})
	}
	p := c.GetProject()
	if p.GetMaturity() != needsv1.ProjectMaturity_PROJECT_MATURITY_UNSPECIFIED {
		s.Maturity = fr.Label(p.GetMaturity())
	}
	for _, t := range p.GetTargetRomeCodes() {
		s.Targets = append(s.Targets, trade(t))
	}
	if h := p.GetConstraints().GetMaxWeeklyHours(); h > 0 {
		s.Hours = fr.Int(h) + "\u00a0h par semaine au plus"
	}
	if km := p.GetConstraints().GetMaxTravelKm(); km > 0 {
		s.Km = fr.Int(km) + "\u00a0km au plus"
	}
	for _, st := range c.GetRecommendedSteps() {
		switch x := st.GetStep().(type) {
		case *needsv1.RecommendedStep_ProjectWorkshops:
			n := x.ProjectWorkshops.GetCount()
			detail := fr.Int(n) + " atelier"
			if n > 1 {
				detail += "s"
			}
			s.Steps = append(s.Steps, summaryStep{Label: stepLabel("project_workshops"), Detail: detail})
		case *needsv1.RecommendedStep_TradeDiscovery:
			var ts []string
			for _, code := range x.TradeDiscovery.GetRomeCodes() {
				ts = append(ts, trade(code))
			}
			s.Steps = append(s.Steps, summaryStep{Label: stepLabel("trade_discovery"), Detail: strings.Join(ts, " ; ")})
		case *needsv1.RecommendedStep_BasicSkillsTraining:
			s.Steps = append(s.Steps, summaryStep{Label: stepLabel("basic_skills_training")})
		case *needsv1.RecommendedStep_QualifyingTraining:
			s.Steps = append(s.Steps, summaryStep{Label: stepLabel("qualifying_training")})
		case *needsv1.RecommendedStep_EmploymentSupport:
			s.Steps = append(s.Steps, summaryStep{Label: stepLabel("employment_support")})
		case *needsv1.RecommendedStep_Other:
			s.Steps = append(s.Steps, summaryStep{Label: stepLabel("other"), Detail: x.Other.GetDescription()})
		default:
			s.Steps = append(s.Steps, summaryStep{Label: "Étape d'un type inconnu de cette version de la console"})
		}
	}
	return s
}

func months(n int32) string {
	if n == 0 {
		return ""
	}
	return fr.Int(n) + "\u00a0mois"
}

// ---------------------------------------------------------------------------
// Handlers.

// analysisLearner is the learner whose analysis a page shows.
type analysisLearner struct {
	ID, Name string
	Open     *pathwayv1.Episode // nil out of the pathway
}

// learnerForAnalysis reads the learner's name and open episode; false when
// the page was answered (an error).
func (c *Console) learnerForAnalysis(w http.ResponseWriter, r *http.Request, s *session, id string) (analysisLearner, bool) {
	ctx := c.call(r, s)
	name, err := c.learnerName(ctx, id)
	if err != nil {
		c.failed(w, r, s, err)
		return analysisLearner{}, false
	}
	l := analysisLearner{ID: id, Name: name}
	res, err := c.api.Pathway.GetPathway(ctx, &pathwayv1.GetPathwayRequest{LearnerId: id})
	switch {
	case err == nil:
		l.Open = openEpisode(res.GetPathway())
	case isUnauthenticated(err):
		c.failed(w, r, s, err)
		return analysisLearner{}, false
	case !isNotFound(err):
		c.log.Warn("console: pathway unavailable", "learner", id, "error", err)
	}
	return l, true
}

// analysisPage shows the learner's analysis: a button to start it, the form
// of a draft, or the summary of a completed one.
func (c *Console) analysisPage(w http.ResponseWriter, r *http.Request, s *session) {
	l, ok := c.learnerForAnalysis(w, r, s, r.PathValue("id"))
	if !ok {
		return
	}
	q := r.URL.Query()
	a, err := c.latestAnalysis(c.call(r, s), l.ID, q.Get("analyse"), q.Get("empreinte"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.renderAnalysis(w, r, s, http.StatusOK, l, a, nil, problems{})
}

// latestAnalysis is the learner's last analysis (of the last episode, last
// version), nil if none. After a command, the page is asked for the
// analysis it answered (id) and the fingerprint of that answer: the read
// model is given a moment to catch up with it.
func (c *Console) latestAnalysis(ctx context.Context, learnerID, id, want string) (*needsv1.Analysis, error) {
	if id != "" && want != "" {
		deadline := time.Now().Add(readYourWrites)
		for {
			res, err := c.api.Needs.GetAnalysis(ctx, &needsv1.GetAnalysisRequest{AnalysisId: id})
			switch {
			case err == nil && res.GetAnalysis().GetLearnerId() != learnerID:
				return nil, status.Error(codes.NotFound, "analysis of another learner")
			case err == nil && fingerprint(res.GetAnalysis()) == want:
				return res.GetAnalysis(), nil
			case err != nil && !isNotFound(err) && !isCode(err, codes.PermissionDenied):
				return nil, err
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(40 * time.Millisecond)
		}
	}
	all, err := paging.All(func(token string) ([]*needsv1.Analysis, string, error) {
		res, err := c.api.Needs.ListAnalyses(ctx, &needsv1.ListAnalysesRequest{LearnerId: learnerID, PageSize: 200, PageToken: token})
		return res.GetAnalyses(), res.GetNextPageToken(), err
	})
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return all[len(all)-1], nil
}

// fingerprint identifies an analysis as a command left it: its version,
// status and content.
func fingerprint(a *needsv1.Analysis) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(a.GetContent())
	h := sha256.New()
	fmt.Fprintf(h, "%s/%d/%d/", a.GetAnalysisId(), a.GetVersion(), a.GetStatus())
	h.Write(b)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// toAnalysis sends the person to the page of the analysis a command
// answered (Post/Redirect/Get).
func toAnalysis(w http.ResponseWriter, r *http.Request, learnerID string, a *needsv1.Analysis) {
	q := url.Values{"analyse": {a.GetAnalysisId()}, "empreinte": {fingerprint(a)}}
	http.Redirect(w, r, "/personnes/"+learnerID+"/analyse?"+q.Encode(), http.StatusSeeOther)
}

// renderAnalysis renders the page for analysis a (nil: none yet). f is the
// form as typed (nil: from a's content).
func (c *Console) renderAnalysis(w http.ResponseWriter, r *http.Request, s *session, status int, l analysisLearner, a *needsv1.Analysis, f *analysisForm, p problems) {
	data := map[string]any{
		"Title": "Analyse des besoins — " + l.Name, "LearnerID": l.ID, "Name": l.Name,
		"InPathway": l.Open != nil, "RequestID": randomToken(), "Problems": p, "CSRF": s.csrf,
	}
	editable := a != nil && l.Open != nil && a.GetEpisodeNumber() == l.Open.GetNumber()
	switch {
	case a == nil || (l.Open != nil && a.GetEpisodeNumber() < l.Open.GetNumber()):
		data["State"] = "none"
		data["Earlier"] = a
	case a.GetStatus() == needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT && editable && !a.GetLearnerErased():
		data["State"] = "draft"
		data["Analysis"] = a
		if f == nil {
			ff := formFromAnalysis(a)
			f = &ff
		}
		data["Form"] = f.view(p)
	default:
		data["State"] = "summary"
		data["Analysis"] = a
		data["Summary"] = summaryOf(a)
		data["NextVersion"] = a.GetVersion() + 1
		data["CanRevise"] = editable && !a.GetLearnerErased() && a.GetStatus() == needsv1.AnalysisStatus_ANALYSIS_STATUS_COMPLETED && a.GetRevisedByAnalysisId() == ""
	}
	c.pages.render(w, r, s, status, "analysis", data)
}

// startAnalysis starts the analysis of the learner's open episode.
func (c *Console) startAnalysis(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	res, err := c.api.Needs.StartAnalysis(c.call(r, s), &needsv1.StartAnalysisRequest{RequestId: r.PostFormValue("request_id"), LearnerId: id})
	if err == nil {
		s.setFlash("Analyse des besoins commencée.")
		toAnalysis(w, r, id, res.GetAnalysis())
		return
	}
	c.commandRefused(w, r, s, id, err, "L'analyse n'a pas pu être commencée.", true)
}

// reviseAnalysis starts a new version of a completed analysis.
func (c *Console) reviseAnalysis(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	res, err := c.api.Needs.ReviseAnalysis(c.call(r, s), &needsv1.ReviseAnalysisRequest{
		RequestId: r.PostFormValue("request_id"), AnalysisId: r.PostFormValue("analysis_id"),
	})
	if err == nil {
		s.setFlash(fmt.Sprintf("Version %d de l'analyse commencée, à partir de la précédente.", res.GetAnalysis().GetVersion()))
		toAnalysis(w, r, id, res.GetAnalysis())
		return
	}
	c.commandRefused(w, r, s, id, err, "L'analyse n'a pas pu être révisée.", false)
}

// commandRefused answers a refused start or revision: an analysis that
// exists already is shown; otherwise the page says why, in French.
func (c *Console) commandRefused(w http.ResponseWriter, r *http.Request, s *session, id string, err error, lead string, starting bool) {
	if isUnauthenticated(err) {
		c.failed(w, r, s, err)
		return
	}
	if isCode(err, codes.AlreadyExists) {
		s.setFlash("Cette analyse existe déjà : la voici.")
		target := "/personnes/" + id + "/analyse"
		if other := errorMeta(err, "analysis_id"); other != "" {
			target += "?" + url.Values{"analyse": {other}}.Encode()
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	l, ok := c.learnerForAnalysis(w, r, s, id)
	if !ok {
		return
	}
	p := problems{General: lead + " " + refusedWhy(err, starting)}
	a, lerr := c.latestAnalysis(c.call(r, s), id, "", "")
	if lerr != nil {
		c.failed(w, r, s, lerr)
		return
	}
	c.renderAnalysis(w, r, s, http.StatusUnprocessableEntity, l, a, nil, p)
}

// refusedWhy explains a refusal of the needs service in French; starting,
// a refused start most often means that needs does not know of the entry
// into the pathway yet.
func refusedWhy(err error, starting bool) string {
	if isCode(err, codes.FailedPrecondition) {
		if starting {
			return "La personne n'est pas dans le parcours, ou son entrée n'est pas encore connue du service des analyses : " +
				"si elle vient d'être enregistrée, réessayez dans un instant."
		}
	}
	return fromAPI(err, nil).General
}

// submitAnalysis handles the form of a draft: save the draft, complete the
// analysis, add a row to a list or search the ROME codes.
func (c *Console) submitAnalysis(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx := c.call(r, s)
	f := formFromRequest(r)
	l, ok := c.learnerForAnalysis(w, r, s, id)
	if !ok {
		return
	}
	got, err := c.api.Needs.GetAnalysis(ctx, &needsv1.GetAnalysisRequest{AnalysisId: f.AnalysisID})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	a := got.GetAnalysis()
	if a.GetLearnerId() != id {
		c.pages.error(w, r, s, http.StatusNotFound, "Introuvable", "Cette analyse n'est pas celle de cette personne.")
		return
	}
	if f.RequestID == "" {
		f.RequestID = randomToken()
	}
	// The read model may lag behind a completion just made: the page is
	// the draft's as long as the form is answered.
	draft := proto.CloneOf(a)
	draft.Status = needsv1.AnalysisStatus_ANALYSIS_STATUS_DRAFT
	again := func(status int, p problems) { c.renderAnalysis(w, r, s, status, l, draft, &f, p) }

	switch action := r.PostFormValue("action"); action {
	case "ajouter-diplome":
		f.Diplomas = addRow(f.Diplomas, maxDiplomas)
	case "ajouter-experience":
		f.Experiences = addRow(f.Experiences, maxExperiences)
	case "ajouter-cible":
		f.Targets = addRow(f.Targets, maxTargets)
	case "ajouter-etape":
		f.Steps = addRow(f.Steps, maxSteps)
	case "chercher":
		// The view lists what the query finds.
	case "terminer":
		c.completeAnalysis(w, r, s, l, f, again)
		return
	default: // "brouillon", and Enter in a field
		content, p, paths := f.content(c.today().Year, false)
		if p.any() {
			again(http.StatusUnprocessableEntity, p)
			return
		}
		res, err := c.api.Needs.DraftAnalysis(ctx, &needsv1.DraftAnalysisRequest{RequestId: f.RequestID + "-brouillon", AnalysisId: f.AnalysisID, Content: content})
		if err != nil {
			c.formRefused(w, r, s, err, paths, &f, again, "")
			return
		}
		s.setFlash("Brouillon enregistré.")
		toAnalysis(w, r, id, res.GetAnalysis())
		return
	}
	again(http.StatusOK, problems{})
}

// completeAnalysis saves the form as the draft, then completes the
// analysis.
func (c *Console) completeAnalysis(w http.ResponseWriter, r *http.Request, s *session, l analysisLearner, f analysisForm, again func(int, problems)) {
	ctx := c.call(r, s)
	content, p, paths := f.content(c.today().Year, true)
	if p.any() {
		p.General = "Pour terminer l'analyse, corrigez ou complétez les champs signalés : rien n'a été enregistré."
		again(http.StatusUnprocessableEntity, p)
		return
	}
	if _, err := c.api.Needs.DraftAnalysis(ctx, &needsv1.DraftAnalysisRequest{RequestId: f.RequestID + "-brouillon", AnalysisId: f.AnalysisID, Content: content}); err != nil {
		c.formRefused(w, r, s, err, paths, &f, again, "")
		return
	}
	res, err := c.api.Needs.CompleteAnalysis(ctx, &needsv1.CompleteAnalysisRequest{RequestId: f.RequestID + "-terminer", AnalysisId: f.AnalysisID})
	if err != nil {
		c.formRefused(w, r, s, err, paths, &f, again, "Le brouillon est enregistré, mais l'analyse n'a pas pu être terminée.")
		return
	}
	s.setFlash("Analyse des besoins terminée.")
	toAnalysis(w, r, l.ID, res.GetAnalysis())
}

// formRefused shows the form again after the service refused it, each
// violation next to its field; a new attempt is a new command.
func (c *Console) formRefused(w http.ResponseWriter, r *http.Request, s *session, err error, paths map[string]string, f *analysisForm, again func(int, problems), lead string) {
	if isUnauthenticated(err) {
		c.failed(w, r, s, err)
		return
	}
	p := fromAPI(err, paths)
	if !isCode(err, codes.InvalidArgument) {
		p.General = refusedWhy(err, false)
	}
	if lead != "" {
		p.General = lead + " " + p.General
	}
	f.RequestID = randomToken()
	again(http.StatusUnprocessableEntity, p)
}

func addRow[T any](rows []T, limit int) []T {
	if len(rows) < limit {
		var zero T
		rows = append(rows, zero)
	}
	return rows
}

// ---------------------------------------------------------------------------
// ROME search.

// romeJSON is one trade of the JSON answer of /metiers.
type romeJSON struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// searchTrades finds ROME codes by label or code: an HTML page, or JSON
// for the form's suggestions (Accept: application/json).
func (c *Console) searchTrades(w http.ResponseWriter, r *http.Request, s *session) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > 100 {
		q = string([]rune(q)[:100])
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		out := struct {
			Query   string     `json:"query"`
			Results []romeJSON `json:"results"`
		}{Query: q, Results: []romeJSON{}}
		for _, t := range fr.SearchROME(q, 10) {
			out.Results = append(out.Results, romeJSON{Code: t.Code, Label: t.Label})
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	c.pages.render(w, r, s, http.StatusOK, "analysis_rome", map[string]any{
		"Title": "Codes ROME des métiers", "Query": q, "Results": fr.SearchROME(q, 50),
	})
}
