package console_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	bt "github.com/avenir-normandie/avenir/services/console/browsertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// progCharts is what the browser sees of the page's charts: per svg, its
// role, the text of the element its aria-labelledby names first, and how
// many bars it draws.
type progChart struct {
	Role, Title string
	Bars        int
}

func progChartsOf(t *testing.T, tab context.Context) []progChart {
	t.Helper()
	actx, cancel := context.WithTimeout(tab, bt.ActionTimeout)
	defer cancel()
	out, err := chromedp.Run(actx, chromedp.Evaluate[[]progChart](`Array.from(document.querySelectorAll("main svg")).map(s => ({
		Role: s.getAttribute("role") || "",
		Title: (document.getElementById((s.getAttribute("aria-labelledby") || "").split(" ")[0]) || {}).textContent || "",
		Bars: s.querySelectorAll(".chart-bar").length,
	}))`))
	if err != nil {
		t.Fatalf("read the charts: %v", err)
	}
	return out
}

// A funder opens the programmes in the browser: the page passes the
// accessibility check, every chart is an image named by its title, and the
// year form leads to another year (and a French message for a bad one).
func TestBrowserProgrammes(t *testing.T) {
	e := start(t)
	progScheme(t, e)
	tab := bt.Browser(t)
	browserLogin(t, e, tab, "funder", "")
	year := strconv.Itoa(today().Year)

	bt.Navigate(t, tab, e.URL+"/programmes")
	if got := bt.Text(t, tab, "h1"); got != "Programmes "+year {
		t.Fatalf("h1 = %q", got)
	}
	// Wait for the scene's hours in the budget (read models follow).
	eventually(t, "the page shows the hours billed", func() bool {
		bt.Navigate(t, tab, e.URL+"/programmes")
		return strings.Contains(bt.Text(t, tab, "#avenir-conso tfoot"), "62,50\u00a0€")
	})
	bt.CheckAccessibility(t, tab)

	// The bars of the monthly consumption are the API's months, in cents.
	funder := e.clients(t, auth.Principal{Subject: "funder", Name: "Région", Role: auth.RoleFunder})
	budget, err := funder.Funding.GetProgrammeBudget(ctx(t), &fundingv1.GetProgrammeBudgetRequest{Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range budget.GetBudget().GetMonths() {
		want = append(want, strconv.FormatInt(m.GetBilledCents(), 10))
	}
	bars := bt.Eval[[]string](t, tab, `Array.from(document.querySelectorAll('svg[aria-labelledby^="avenir-facture-mois-title"] .chart-bar')).map(b => b.getAttribute("data-value"))`)
	if strings.Join(bars, " ") != strings.Join(want, " ") {
		t.Errorf("the monthly bars read %q, the API %q", bars, want)
	}

	charts := progChartsOf(t, tab)
	if len(charts) != 9 { // #Avenir and #Action: 2 budget and 2 target charts each; the exits
		t.Errorf("%d charts, want 9: %+v", len(charts), charts)
	}
	for _, c := range charts {
		if c.Role != "img" || strings.TrimSpace(c.Title) == "" {
			t.Errorf("chart %+v is not an image with a title", c)
		}
	}
	if charts[len(charts)-1].Title != "Sorties du parcours par motif et par territoire, en "+year || charts[len(charts)-1].Bars < 1 {
		t.Errorf("exits chart = %+v", charts[len(charts)-1])
	}
	shoot(t, tab, "programmes")

	bt.SetValue(t, tab, "#annee", "2001")
	bt.ClickAndWait(t, tab, `form[action="/programmes"] button[type="submit"]`)
	if got := bt.Text(t, tab, "h1"); got != "Programmes 2001" {
		t.Fatalf("after choosing 2001, h1 = %q", got)
	}
	bt.CheckAccessibility(t, tab)

	bt.SetValue(t, tab, "#annee", "1850")
	bt.ClickAndWait(t, tab, `form[action="/programmes"] button[type="submit"]`)
	if msg := bt.Text(t, tab, "#annee-error"); !strings.Contains(msg, "indiquez une année de 2000 à 2200") {
		t.Fatalf("year 1850: %q", msg)
	}
	bt.CheckAccessibility(t, tab)
}
