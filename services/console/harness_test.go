package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/console"
	"github.com/avenir-normandie/avenir/services/console/browsertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Shutdown()
	os.Exit(code)
}

// env is a dev server (every service and the console) on free loopback
// ports, with an administrator's API clients to set the scene.
type env struct {
	URL     string // the console's base URL
	Addrs   server.Addrs
	DataDir string
	Admin   console.Clients
	// clock, when the test moves the services' days (startWithClock).
	clock *server.DemoClock
}

// start runs a dev server with the console for the test.
func start(t *testing.T) *env { return startOn(t, nil) }

// startWithClock runs a dev server whose services' clock stands on today
// until the test moves it (e.moveTo).
func startWithClock(t *testing.T) *env {
	t.Helper()
	clock, err := server.NewDemoClock(today(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, clock)
}

func startOn(t *testing.T, clock *server.DemoClock) *env {
	t.Helper()
	dir := t.TempDir()
	cfg := servertest.Dev(dir)
	cfg.Services = append(server.ServiceNames(), server.ConsoleService)
	cfg.DemoClock = clock
	addrs, _ := servertest.Run(t, cfg)
	e := &env{URL: "http://" + addrs.Console, Addrs: addrs, DataDir: dir, clock: clock}
	e.Admin = e.clients(t, e.admin())
	return e
}

func (e *env) admin() auth.Principal {
	return auth.Principal{Subject: "test-admin", Name: "Admin de test", Role: auth.RoleAdmin}
}

// now is the services' time.
func (e *env) now() time.Time {
	if e.clock != nil {
		return e.clock.Now()
	}
	return time.Now()
}

// moveTo moves the services' clock to day (tokens minted before expire:
// sign in again).
func (e *env) moveTo(t *testing.T, day civil.Date) {
	t.Helper()
	if err := e.clock.Set(day); err != nil {
		t.Fatal(err)
	}
	e.Admin = e.clients(t, e.admin())
}

// clients are API clients acting as p.
func (e *env) clients(t *testing.T, p auth.Principal) console.Clients {
	t.Helper()
	tok := servertest.Token(t, e.DataDir, p, e.now())
	conn, err := grpcx.Dial(e.Addrs.GRPC, grpc.WithPerRPCCredentials(auth.BearerToken(tok)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return console.NewClients(func(string) grpc.ClientConnInterface { return conn })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func today() civil.Date { return civil.Of(time.Now()) }

func date(d civil.Date) *commonv1.Date { return civilpb.FromDate(d) }

// referent registers a pedagogical referent serving territory.
func (e *env) referent(t *testing.T, name, territory string, capacity int32) string {
	t.Helper()
	res, err := e.Admin.Referent.RegisterReferent(ctx(t), &referentv1.RegisterReferentRequest{
		RequestId: uuid.NewString(),
		Profile: &referentv1.ReferentProfile{
			Name: name, Organisation: "AFPA Normandie", TerritoryCodes: []string{territory}, Capacity: capacity,
			Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL, Languages: []string{"fr"},
		},
	})
	if err != nil {
		t.Fatalf("register referent %s: %v", name, err)
	}
	return res.GetReferent().GetReferentId()
}

// learner registers a learner of territory.
func (e *env) learner(t *testing.T, family, given, territory string) string {
	t.Helper()
	res, err := e.Admin.Intake.RegisterLearner(ctx(t), &intakev1.RegisterLearnerRequest{
		RequestId: uuid.NewString(), FamilyName: family, GivenName: given,
		BirthDate: date(civil.Date{Year: 1990, Month: 4, Day: 12}), TerritoryCode: territory,
		Contact: &intakev1.Contact{Email: "personne-" + uuid.NewString()[:8] + "@example.fr", CommuneCode: "14118"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL,
		},
	})
	if err != nil {
		t.Fatalf("register learner %s: %v", family, err)
	}
	return res.GetLearner().GetLearnerId()
}

// enter enters a learner into the pathway on day, once pathway knows of
// her registration (its read model follows intake within moments).
func (e *env) enter(t *testing.T, learnerID string, day civil.Date) {
	t.Helper()
	var err error
	requestID := uuid.NewString()
	eventually(t, "the learner enters the pathway", func() bool {
		_, err = e.Admin.Pathway.EnterPathway(ctx(t), &pathwayv1.EnterPathwayRequest{
			RequestId: requestID, LearnerId: learnerID, EntryDate: date(day),
		})
		return err == nil || status.Code(err) != codes.FailedPrecondition
	})
	if err != nil {
		t.Fatalf("enter %s: %v", learnerID, err)
	}
}

// eventually retries check until it passes or 10 s pass (read models
// follow the streams within moments).
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// user is a person using the console through plain HTTP (cookies kept).
type user struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// login signs in through the dev login page as who ("admin", "funder",
// "referent:<id>", "coordinator:<id>", "operator:<id>").
func (e *env) login(t *testing.T, who string) *user {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &user{t: t, base: e.URL, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	page := u.get("/connexion")
	form := url.Values{"_csrf": {u.token(page)}, "retour": {"/"}}
	kind, _, _ := strings.Cut(who, ":")
	form.Set("qui", kind)
	if kind != who {
		form.Set("qui_"+kind, who)
	}
	// A referent registered moments ago reaches the directory the login
	// page lists in moments: until then the login is refused (400).
	var res response
	deadline := time.Now().Add(10 * time.Second)
	for res = u.post("/connexion", form); res.status == http.StatusBadRequest && time.Now().Before(deadline); res = u.post("/connexion", form) {
		time.Sleep(20 * time.Millisecond)
	}
	if res.status != http.StatusOK {
		t.Fatalf("login as %s: %d\n%s", who, res.status, res.body)
	}
	u.csrf = u.token(res.body)
	return u
}

type response struct {
	status int
	body   string
	url    string
}

func (u *user) do(req *http.Request) response {
	u.t.Helper()
	res, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: string(b), url: res.Request.URL.Path}
}

func (u *user) get(path string) string {
	u.t.Helper()
	r := u.getResponse(path)
	if r.status != http.StatusOK {
		u.t.Fatalf("GET %s: %d\n%s", path, r.status, r.body)
	}
	return r.body
}

func (u *user) getResponse(path string) response {
	req, _ := http.NewRequest(http.MethodGet, u.base+path, nil)
	return u.do(req)
}

// post sends a form as the browser does (same origin), following the
// redirection.
func (u *user) post(path string, form url.Values) response {
	u.t.Helper()
	if u.csrf != "" && form.Get("_csrf") == "" {
		form.Set("_csrf", u.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, u.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return u.do(req)
}

func (u *user) token(page string) string {
	u.t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		u.t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// contract creates an #Avenir contract of an operator for a lot, valid
// this year.
func (e *env) contract(t *testing.T, operatorID, operatorName, reference string, territories ...string) string {
	t.Helper()
	return e.contractWith(t, contractTerms(operatorID, operatorName, reference, territories...))
}

// contractTerms are the terms e.contract gives: #Avenir, from 60 days ago
// for most of a year, 12,50 € a trainee hour, 45 € a group hour.
func contractTerms(operatorID, operatorName, reference string, territories ...string) *fundingv1.ContractTerms {
	d := today()
	return &fundingv1.ContractTerms{
		OperatorId: operatorID, OperatorName: operatorName, Reference: reference, TerritoryCodes: territories,
		Programme:  commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR,
		PeriodFrom: date(d.AddDays(-60)), PeriodTo: date(d.AddDays(300)),
		TraineeHourRateCents: 1250, GroupHourRateCents: 4500, AnnualEnvelopeCents: 50_000_000,
		DailyCapMinutes: 420, WeeklyCapMinutes: 2100, MaxGroupSize: 12,
	}
}

// contractWith creates a contract of the given terms.
func (e *env) contractWith(t *testing.T, terms *fundingv1.ContractTerms) string {
	t.Helper()
	res, err := e.Admin.Funding.CreateContract(ctx(t), &fundingv1.CreateContractRequest{RequestId: uuid.NewString(), Terms: terms})
	if err != nil {
		t.Fatalf("create contract %s: %v", terms.GetReference(), err)
	}
	return res.GetContract().GetContractId()
}

// enrol enrols a learner (in the pathway) with a contract's accompaniment
// from day, once pathway knows the contract.
func (e *env) enrol(t *testing.T, learner, contract string, day civil.Date) {
	t.Helper()
	requestID := uuid.NewString()
	eventually(t, "the learner is enrolled", func() bool {
		_, err := e.Admin.Pathway.Enrol(ctx(t), &pathwayv1.EnrolRequest{
			RequestId: requestID, LearnerId: learner, ContractId: contract,
			Kind: pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT, FromDate: date(day),
		})
		return err == nil
	})
}
