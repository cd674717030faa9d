package console

import (
	"cmp"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/console/chart"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// programmeRoutes are the programmes seen whole: budgets, targets and
// outcomes, with their charts.
func (c *Console) programmeRoutes() {
	c.mux.HandleFunc("GET /programmes", c.funderPage(c.programmes))
}

// The years the API answers for (GetProgrammeTargets, SetProgrammeYear).
const (
	firstProgrammeYear = 2000
	lastProgrammeYear  = 2200
)

// withheldText is how a count withheld by the API (1 to 4) reads, in
// tables (template func count) and charts alike.
const withheldText = "<\u00a05"

// shortMonths name the months on the charts' axes (the year is in the
// chart's title; the tables give the full names).
var shortMonths = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

func shortMonth(m *commonv1.Month) string {
	if n := m.GetMonth(); n >= 1 && n <= 12 {
		return shortMonths[n-1]
	}
	return fr.Month(m)
}

// programmesPage is what programmes.html shows.
type programmesPage struct {
	Title string
	// Year is the year shown; YearInput what the form holds, YearError why
	// it was refused (then nothing else is shown).
	Year               int
	YearInput          string
	YearError          string
	PrevYear, NextYear int
	Programmes         []programmeView
	Outcomes           outcomesView
	Breakdowns         breakdownsView
}

// programmeView is one programme: its budget and, for #Avenir and
// #Action, its beneficiaries against the target.
type programmeView struct {
	Slug, Name string
	Budget     budgetView
	Targets    *targetsView
}

type budgetView struct {
	Envelope, Consumed, Forecast, Over int64
	Percent                            int32
	Warning, SchemeDefault             bool
	Contracts                          int32
	Months                             []budgetMonth
	MonthlyChart, EnvelopeChart        template.HTML
}

type budgetMonth struct {
	Month              string
	Billed, Cumulative int64
}

type targetMonth struct {
	Month           string
	New, Cumulative *commonv1.Count
}

type targetsView struct {
	Target        int
	Beneficiaries *commonv1.Count
	Percent       int32
	Months        []targetMonth
	Territories   []*pathwayv1.ProgrammeProgress
	// Withheld: some figure of the charts is under five and not given.
	Withheld                    bool
	ProgressChart, MonthlyChart template.HTML
}

// outcomesView is the exits of the year's months by reason, per territory
// (across operators) and per accompaniment operator and territory, as
// GetOutcomes answers them.
type outcomesView struct {
	From, To string
	Reasons  []pathwayv1.ExitReason
	// Territories are one row per territory (Operator empty), Rows one
	// per operator and territory.
	Territories, Rows []outcomeRow
	Total             outcomeRow
	// Columns is the number of columns of the table by reason.
	Columns  int
	Withheld bool
	Chart    template.HTML
}

type outcomeRow struct {
	Territory, Operator string
	*pathwayv1.Outcomes
	// ByReason holds one count per reason of outcomesView.Reasons (0: no
	// exit of that reason).
	ByReason []*commonv1.Count
}

// breakdownsView is the public of the year's entries per territory.
type breakdownsView struct {
	Rows   []breakdownRow
	Total  breakdownRow
	Bands  []pathwayv1.AgeBand
	Levels []string
	// Columns is the number of columns of the table by situation.
	Columns int
}

// breakdownRow is a territory's row (Territory "" in the total): Bands and
// Levels one count per column of breakdownsView.
type breakdownRow struct {
	Territory                    string
	Entries, RQTH, QPV, ZRR, RSA *commonv1.Count
	Bands, Levels                []*commonv1.Count
	// AbovePublic: entries above the scheme's public (education level 4
	// and up), welcomed with a justification.
	AbovePublic *commonv1.Count
}

// programmes shows the programmes of a calendar year (?annee=, this year
// by default): budgets, beneficiaries against targets, outcomes and the
// public of the entries.
func (c *Console) programmes(w http.ResponseWriter, r *http.Request, s *session) {
	now := civil.Of(c.cfg.Now())
	page := programmesPage{Year: now.Year}
	if in := strings.TrimSpace(r.URL.Query().Get("annee")); in != "" {
		page.YearInput = in
		y, err := strconv.Atoi(in)
		if err != nil || y < firstProgrammeYear || y > lastProgrammeYear {
			page.YearError = "L'année « " + in + " » n'est pas valable : indiquez une année de " +
				strconv.Itoa(firstProgrammeYear) + " à " + strconv.Itoa(lastProgrammeYear) + ", par exemple " + strconv.Itoa(now.Year) + "."
			page.Title = "Programmes"
			c.pages.render(w, r, s, http.StatusBadRequest, "programmes", map[string]any{"Title": page.Title, "Page": page})
			return
		}
		page.Year = y
	}
	page.YearInput = strconv.Itoa(page.Year)
	page.PrevYear, page.NextYear = max(page.Year-1, firstProgrammeYear), min(page.Year+1, lastProgrammeYear)
	page.Title = "Programmes " + strconv.Itoa(page.Year)
	ctx := c.call(r, s)

	contracts, err := paging.All(func(token string) ([]*fundingv1.Contract, string, error) {
		res, err := c.api.Funding.ListContracts(ctx, &fundingv1.ListContractsRequest{PageSize: 500, PageToken: token})
		return res.GetContracts(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	operators := map[string]string{}
	programmes := []commonv1.FundingProgramme{commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION}
	for _, ct := range contracts {
		t := ct.GetTerms()
		if t.GetOperatorName() != "" {
			operators[t.GetOperatorId()] = t.GetOperatorName()
		}
		if p := t.GetProgramme(); p != commonv1.FundingProgramme_FUNDING_PROGRAMME_UNSPECIFIED && !slices.Contains(programmes, p) {
			programmes = append(programmes, p)
		}
	}
	slices.Sort(programmes)

	targets, err := c.api.Pathway.GetProgrammeTargets(ctx, &pathwayv1.GetProgrammeTargetsRequest{Year: int32(page.Year)})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	for _, p := range programmes {
		res, err := c.api.Funding.GetProgrammeBudget(ctx, &fundingv1.GetProgrammeBudgetRequest{Programme: p, Year: int32(page.Year)})
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		slug := programmeSlug(p)
		pv := programmeView{Slug: slug, Name: fr.Label(p), Budget: budgetOf(slug, page.Year, res.GetBudget())}
		pv.Targets = targetsOf(slug, page.Year, p, targets)
		page.Programmes = append(page.Programmes, pv)
	}

	from, to := &commonv1.Month{Year: int32(page.Year), Month: 1}, &commonv1.Month{Year: int32(page.Year), Month: 12}
	if page.Year == now.Year {
		to.Month = int32(now.Month)
	}
	outcomes, err := c.api.Pathway.GetOutcomes(ctx, &pathwayv1.GetOutcomesRequest{FromMonth: from, ToMonth: to})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	page.Outcomes = c.outcomesOf(page.Year, from, to, outcomes, operators)
	breakdowns, err := c.api.Pathway.GetBreakdowns(ctx, &pathwayv1.GetBreakdownsRequest{FromMonth: from, ToMonth: to})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	page.Breakdowns = c.breakdownsOf(breakdowns)
	c.pages.render(w, r, s, http.StatusOK, "programmes", map[string]any{"Title": page.Title, "Page": page})
}

// programmeSlug is the programme's part of the page's anchors and chart ids.
func programmeSlug(p commonv1.FundingProgramme) string {
	switch p {
	case commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR:
		return "avenir"
	case commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION:
		return "action"
	case commonv1.FundingProgramme_FUNDING_PROGRAMME_OTHER:
		return "autre"
	}
	return "programme-" + strconv.Itoa(int(p))
}

// euros formats an axis tick in whole euros ("12 000 €"): ticks are
// multiples of a round step, cents would only widen the axis.
func euros(cents int64) string {
	if cents%100 != 0 {
		return fr.Money(cents)
	}
	return fr.Int(cents/100) + "\u00a0€"
}

func budgetOf(slug string, year int, b *fundingv1.ProgrammeBudget) budgetView {
	py := b.GetProgrammeYear()
	v := budgetView{
		Envelope: py.GetEnvelopeCents(), Consumed: b.GetConsumedCents(), Forecast: b.GetForecastCents(), Over: b.GetForecastOverCents(),
		Percent: b.GetConsumedPercent(), Warning: b.GetWarning(), SchemeDefault: py.GetSchemeDefault(), Contracts: b.GetContractCount(),
	}
	var cats []string
	var billed []int64
	var cumulative int64
	for _, m := range b.GetMonths() {
		cumulative += m.GetBilledCents()
		v.Months = append(v.Months, budgetMonth{Month: fr.Month(m.GetMonth()), Billed: m.GetBilledCents(), Cumulative: cumulative})
		cats = append(cats, shortMonth(m.GetMonth()))
		billed = append(billed, m.GetBilledCents())
	}
	y := strconv.Itoa(year)
	v.MonthlyChart = chart.Bars(chart.BarChart{
		ID: slug + "-facture-mois", Title: "Montants facturés par mois en " + y, Categories: cats,
		Series: []chart.Series{{Name: "Facturé", Values: billed}}, Format: fr.Money, AxisFormat: euros,
	})
	items := []chart.ProgressItem{
		{Label: "Consommé", Value: v.Consumed, Target: v.Envelope},
		{Label: "Prévision à la fin de l'année", Value: v.Forecast, Target: v.Envelope},
	}
	v.EnvelopeChart = chart.Progress(chart.ProgressChart{
		ID: slug + "-enveloppe", Title: "Consommation et prévision " + y + " par rapport à l'enveloppe",
		Items: items, Format: fr.Money, TargetLabel: "Enveloppe",
	})
	return v
}

// targetsOf is a programme's beneficiaries against its target; nil for a
// programme without one (GetProgrammeTargets answers #Avenir and #Action).
func targetsOf(slug string, year int, p commonv1.FundingProgramme, res *pathwayv1.GetProgrammeTargetsResponse) *targetsView {
	var total *pathwayv1.ProgrammeProgress
	for _, t := range res.GetTotals() {
		if t.GetProgramme() == p {
			total = t
		}
	}
	if total == nil {
		return nil
	}
	v := &targetsView{Target: int(total.GetTarget()), Beneficiaries: total.GetBeneficiaries(), Percent: total.GetPercentOfTarget()}
	for _, t := range res.GetTerritories() {
		if t.GetProgramme() == p {
			v.Territories = append(v.Territories, t)
		}
	}
	y := strconv.Itoa(year)
	name := fr.Label(p)
	if i := strings.Index(name, " ("); i > 0 {
		name = name[:i] // "#Avenir"
	}
	v.ProgressChart = chart.Progress(chart.ProgressChart{
		ID: slug + "-objectif", Title: "Bénéficiaires " + y + " par rapport à l'objectif", MissingText: withheldText,
		Items: []chart.ProgressItem{{
			Label: name, Value: int64(total.GetBeneficiaries().GetValue()), Missing: total.GetBeneficiaries().GetFewerThanFive(),
			Target: int64(total.GetTarget()),
		}},
	})
	v.Withheld = total.GetBeneficiaries().GetFewerThanFive()
	var cats []string
	series := chart.Series{Name: "Bénéficiaires cumulés"}
	for _, m := range total.GetMonths() {
		v.Months = append(v.Months, targetMonth{Month: fr.Month(m.GetMonth()), New: m.GetNewBeneficiaries(), Cumulative: m.GetCumulative()})
		cats = append(cats, shortMonth(m.GetMonth()))
		series.Values = append(series.Values, int64(m.GetCumulative().GetValue()))
		series.Missing = append(series.Missing, m.GetCumulative().GetFewerThanFive())
		v.Withheld = v.Withheld || m.GetCumulative().GetFewerThanFive() || m.GetNewBeneficiaries().GetFewerThanFive()
	}
	v.MonthlyChart = chart.Bars(chart.BarChart{
		ID: slug + "-cumul", Title: "Bénéficiaires cumulés par mois en " + y, Categories: cats, Series: []chart.Series{series},
		Target: &chart.Line{Label: "Objectif", Value: int64(total.GetTarget())}, MissingText: withheldText,
	})
	for _, t := range v.Territories {
		v.Withheld = v.Withheld || t.GetBeneficiaries().GetFewerThanFive()
	}
	return v
}

// outcomesOf lays out the exits by reason per operator and territory: the
// reasons are those with an exit in some row, in the order of ExitReason.
func (c *Console) outcomesOf(year int, from, to *commonv1.Month, res *pathwayv1.GetOutcomesResponse, operators map[string]string) outcomesView {
	v := outcomesView{From: fr.Month(from), To: fr.Month(to)}
	all := append(slices.Concat(res.GetOutcomes(), res.GetTerritories()), res.GetTotal())
	for _, o := range all {
		for _, rc := range o.GetExitsByReason() {
			if !slices.Contains(v.Reasons, rc.GetReason()) {
				v.Reasons = append(v.Reasons, rc.GetReason())
			}
		}
	}
	slices.Sort(v.Reasons)
	row := func(o *pathwayv1.Outcomes) outcomeRow {
		if o == nil {
			o = &pathwayv1.Outcomes{}
		}
		r := outcomeRow{Outcomes: o, ByReason: make([]*commonv1.Count, len(v.Reasons))}
		for k := range r.ByReason {
			r.ByReason[k] = &commonv1.Count{} // no exit of that reason
		}
		if o.GetTerritoryCode() != "" {
			r.Territory = c.places.label(o.GetTerritoryCode())
		}
		switch id := o.GetOperatorId(); {
		case id == "":
			r.Operator = "Sans accompagnement"
		case operators[id] != "":
			r.Operator = operators[id]
		default:
			r.Operator = id
		}
		for _, rc := range o.GetExitsByReason() {
			r.ByReason[slices.Index(v.Reasons, rc.GetReason())] = rc.GetCount()
		}
		for _, n := range append(slices.Clone(r.ByReason), o.GetExits(), o.GetImmersionsWithOutcome(), o.GetImmersionsCompleted(), o.GetImmersionsPartiallyCompleted()) {
			v.Withheld = v.Withheld || n.GetFewerThanFive()
		}
		return r
	}
	for _, o := range res.GetOutcomes() {
		v.Rows = append(v.Rows, row(o))
	}
	for _, o := range res.GetTerritories() {
		t := row(o)
		t.Operator = ""
		v.Territories = append(v.Territories, t)
	}
	slices.SortStableFunc(v.Rows, func(a, b outcomeRow) int {
		return cmp.Or(cmp.Compare(a.GetTerritoryCode(), b.GetTerritoryCode()), cmp.Compare(a.Operator, b.Operator))
	})
	v.Total = row(res.GetTotal())
	v.Total.Territory, v.Total.Operator = "", ""
	v.Columns = len(v.Reasons) + 2

	cats := make([]string, len(v.Territories))
	for i, r := range v.Territories {
		cats[i] = r.Territory
	}
	series := make([]chart.Series, len(v.Reasons))
	for k, reason := range v.Reasons {
		s := chart.Series{Name: fr.Label(reason), Values: make([]int64, len(v.Territories)), Missing: make([]bool, len(v.Territories))}
		for j, r := range v.Territories {
			s.Values[j], s.Missing[j] = int64(r.ByReason[k].GetValue()), r.ByReason[k].GetFewerThanFive()
		}
		series[k] = s
	}
	v.Chart = chart.Bars(chart.BarChart{
		ID: "sorties", Title: "Sorties du parcours par motif et par territoire, en " + strconv.Itoa(year),
		Categories: cats, Series: series, Stacked: true, MissingText: withheldText, Height: 420,
	})
	return v
}

func (c *Console) breakdownsOf(res *pathwayv1.GetBreakdownsResponse) breakdownsView {
	var v breakdownsView
	rows := append(slices.Clone(res.GetTerritories()), res.GetTotal())
	var levels []intakeLevel
	for _, b := range rows {
		for _, a := range b.GetAgeBands() {
			if !slices.Contains(v.Bands, a.GetBand()) {
				v.Bands = append(v.Bands, a.GetBand())
			}
		}
		for _, l := range b.GetEducationLevels() {
			if !slices.Contains(levels, l.GetLevel()) {
				levels = append(levels, l.GetLevel())
			}
		}
	}
	slices.Sort(v.Bands)
	slices.Sort(levels)
	for _, l := range levels {
		v.Levels = append(v.Levels, fr.Label(l))
	}
	row := func(b *pathwayv1.Breakdown) breakdownRow {
		r := breakdownRow{Entries: b.GetEntries(), RQTH: b.GetRqth(), QPV: b.GetQpv(), ZRR: b.GetZrr(), RSA: b.GetRsa(), AbovePublic: b.GetAbovePublic()}
		if b.GetTerritoryCode() != "" {
			r.Territory = c.places.label(b.GetTerritoryCode())
		}
		for _, band := range v.Bands {
			n := &commonv1.Count{}
			for _, a := range b.GetAgeBands() {
				if a.GetBand() == band {
					n = a.GetCount()
				}
			}
			r.Bands = append(r.Bands, n)
		}
		for _, level := range levels {
			n := &commonv1.Count{}
			for _, l := range b.GetEducationLevels() {
				if l.GetLevel() == level {
					n = l.GetCount()
				}
			}
			r.Levels = append(r.Levels, n)
		}
		return r
	}
	for _, b := range res.GetTerritories() {
		v.Rows = append(v.Rows, row(b))
	}
	v.Total = row(res.GetTotal())
	v.Columns = len(v.Bands) + 6
	return v
}

type intakeLevel = intakev1.EducationLevel
