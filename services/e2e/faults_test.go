package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/projection/redistest"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// The faults an operator meets: Redis dying under load, Redis losing its
// data, a stream filling up. Each runs the whole server in process against
// a private redis-server it kills, flushes and restarts.

// registration is one RegisterLearner call of a burst and what it answered.
type registration struct {
	req  *intakev1.RegisterLearnerRequest
	id   string // the learner registered, when the call answered OK
	code codes.Code
}

func person(requestID string, n int) *intakev1.RegisterLearnerRequest {
	return &intakev1.RegisterLearnerRequest{
		RequestId: requestID, FamilyName: "Burst", GivenName: fmt.Sprintf("Personne %d", n),
		BirthDate: &commonv1.Date{Year: 1990 + int32(n%20), Month: 1 + int32(n%12), Day: 1 + int32(n%28)}, TerritoryCode: "T05",
		Contact: &intakev1.Contact{CommuneCode: "27229", Phone: "02 32 00 00 00"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
		},
	}
}

// Redis is killed in the middle of a burst of registrations and contact
// updates, then restarted (empty). Every call answers OK or Unavailable,
// never Internal; every retry with the same request id answers the stored
// result (the same learner); no request was stored twice; and the read
// models come back complete.
func TestRedisKilledDuringAWriteBurst(t *testing.T) {
	redis := redistest.StartServer(t)
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.RedisURL, cfg.RedisPrefix = redis.URL(), "avenir:"
	addrs, _ := servertest.Run(t, cfg)
	intake := intakev1.NewIntakeServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, admin))

	var (
		mu      sync.Mutex
		regs    []*registration
		updates = map[string]codes.Code{} // request id → first answer
		n       atomic.Int32
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := int(n.Add(1))
				r := &registration{req: person(fmt.Sprintf("burst-%d-%d", w, i), k)}
				resp, err := intake.RegisterLearner(callCtx(t), r.req)
				r.code, r.id = status.Code(err), resp.GetLearner().GetLearnerId()
				mu.Lock()
				regs = append(regs, r)
				mu.Unlock()
				if r.code != codes.OK {
					// A client backs off before its next call: without it
					// six workers spin on fast refusals and pile up
					// millions of calls while Redis is down.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				// The learner's contact changes: this decision reads the
				// assignments read model, so it is refused while Redis is down.
				upd := &intakev1.UpdateContactRequest{RequestId: "phone-" + r.req.GetRequestId(), LearnerId: r.id, Phone: proto.String("06 12 34 56 78")}
				_, err = intake.UpdateContact(callCtx(t), upd)
				mu.Lock()
				updates[upd.GetRequestId()] = status.Code(err)
				mu.Unlock()
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // a burst before the fault
	redis.Kill()
	// The burst goes on with Redis down, for two seconds; meanwhile the
	// server says it is not ready, and why.
	down := time.Now()
	servicetest.Eventually(t, 10*time.Second, func() error {
		if b := readyz(t, addrs.Admin); b.Ready || !slices.Contains(b.Failed, "read-model store") {
			return fmt.Errorf("/readyz with Redis down: ready=%v, failed %v", b.Ready, b.Failed)
		}
		return nil
	})
	time.Sleep(2*time.Second - time.Since(down))
	redis.Start()
	time.Sleep(500 * time.Millisecond) // and once it is back, empty
	close(stop)
	wg.Wait()

	var ok, unavailable int
	for _, r := range regs {
		switch r.code {
		case codes.OK:
			ok++
		case codes.Unavailable:
			unavailable++
		default:
			t.Errorf("registration %s answered %v: only OK or Unavailable are honest", r.req.GetRequestId(), r.code)
		}
	}
	var updated, refused int
	for id, code := range updates {
		switch code {
		case codes.OK:
			updated++
		case codes.Unavailable:
			refused++
		default:
			t.Errorf("update %s answered %v: only OK or Unavailable are honest", id, code)
		}
	}
	t.Logf("%d registrations: %d OK, %d Unavailable; %d updates: %d OK, %d Unavailable", len(regs), ok, unavailable, len(updates), updated, refused)
	if ok == 0 || len(updates) == 0 {
		t.Fatal("the burst stored nothing")
	}

	// Every call retried with its request id answers the stored result.
	learners := map[string]string{} // learner id → request id
	for _, r := range regs {
		resp, err := intake.RegisterLearner(callCtx(t), r.req)
		if err != nil {
			t.Fatalf("retry of %s: %v", r.req.GetRequestId(), err)
		}
		id := resp.GetLearner().GetLearnerId()
		if r.code == codes.OK && id != r.id {
			t.Fatalf("retry of %s answered learner %s, the first call %s", r.req.GetRequestId(), id, r.id)
		}
		if other, dup := learners[id]; dup {
			t.Fatalf("requests %s and %s registered the same learner", other, r.req.GetRequestId())
		}
		learners[id] = r.req.GetRequestId()
	}
	for id := range updates {
		learner := strings.TrimPrefix(id, "phone-")
		var lid string
		for l, req := range learners {
			if req == learner {
				lid = l
			}
		}
		resp, err := intake.UpdateContact(callCtx(t), &intakev1.UpdateContactRequest{RequestId: id, LearnerId: lid, Phone: proto.String("06 12 34 56 78")})
		if err != nil || resp.GetLearner().GetContact().GetPhone() != "+33612345678" {
			t.Fatalf("retry of %s: %v %v", id, resp, err)
		}
	}
	// One learner per request in the stream, and the read model rebuilt
	// after Redis came back empty finds them all.
	servicetest.Eventually(t, 30*time.Second, func() error {
		found := 0
		page := ""
		for {
			resp, err := intake.SearchLearners(callCtx(t), &intakev1.SearchLearnersRequest{FamilyNamePrefix: "burst", PageSize: 100, PageToken: page})
			if err != nil {
				return err
			}
			found += len(resp.GetLearners())
			if page = resp.GetNextPageToken(); page == "" {
				break
			}
		}
		if found != len(learners) {
			return fmt.Errorf("search finds %d learners, %d registered", found, len(learners))
		}
		return nil
	})
	waitReady(t, addrs.Admin)
}

// Redis loses everything while the server serves (FLUSHALL, then a restart
// without persistence): the read models notice, rebuild from the streams
// without a restart, and answer exactly what they answered before.
func TestReadModelsHealAfterRedisLosesItsData(t *testing.T) {
	redis := redistest.StartServer(t)
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.RedisURL = redis.URL()
	addrs, _ := servertest.Run(t, cfg)
	conn := dialAs(t, addrs.GRPC, cfg.DataDir, admin)
	intake, pathway, referents := intakev1.NewIntakeServiceClient(conn), pathwayv1.NewPathwayServiceClient(conn), referentv1.NewReferentServiceClient(conn)

	ref, err := referents.RegisterReferent(callCtx(t), &referentv1.RegisterReferentRequest{RequestId: "heal-ref", Profile: &referentv1.ReferentProfile{
		Name: "Anne Leroy", Organisation: "AFPA Évreux", TerritoryCodes: []string{"T05"}, Capacity: 20,
		Languages: []string{"fr"}, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		reg, err := intake.RegisterLearner(callCtx(t), person(fmt.Sprintf("heal-%d", i), i))
		if err != nil {
			t.Fatal(err)
		}
		// Pathway learns of the registration from INTAKE within moments.
		servicetest.Eventually(t, 10*time.Second, func() error {
			_, err := pathway.EnterPathway(callCtx(t), &pathwayv1.EnterPathwayRequest{RequestId: fmt.Sprintf("heal-enter-%d", i),
				LearnerId: reg.GetLearner().GetLearnerId(), EntryDate: civilpb.FromDate(civil.Of(time.Now()))})
			return err
		})
	}
	// What the read models answer, once every learner is assigned.
	read := func() (string, error) {
		learners, err := intake.SearchLearners(callCtx(t), &intakev1.SearchLearnersRequest{FamilyNamePrefix: "burst"})
		if err != nil {
			return "", err
		}
		if len(learners.GetLearners()) != 5 {
			return "", fmt.Errorf("search finds %d learners", len(learners.GetLearners()))
		}
		pathways, err := pathway.ListPathways(callCtx(t), &pathwayv1.ListPathwaysRequest{TerritoryCode: "T05"})
		if err != nil {
			return "", err
		}
		caseload, err := referents.ListCaseload(callCtx(t), &referentv1.ListCaseloadRequest{ReferentId: ref.GetReferent().GetReferentId()})
		if err != nil {
			return "", err
		}
		timeline, err := pathway.GetTimeline(callCtx(t), &pathwayv1.GetTimelineRequest{LearnerId: learners.GetLearners()[0].GetLearnerId()})
		if err != nil {
			return "", err
		}
		if len(caseload.GetLearners()) != 5 {
			return "", fmt.Errorf("caseload of %d learners", len(caseload.GetLearners()))
		}
		var b strings.Builder
		for _, m := range []proto.Message{learners, pathways, caseload, timeline} {
			fmt.Fprintf(&b, "%v\n", m)
		}
		return b.String(), nil
	}
	var before string
	servicetest.Eventually(t, 30*time.Second, func() (err error) { before, err = read(); return err })

	for _, loss := range []struct {
		name string
		lose func()
	}{
		{"FLUSHALL", redis.FlushAll},
		{"a restart without persistence", func() { redis.Kill(); redis.Start() }},
	} {
		loss.lose()
		servicetest.Eventually(t, 30*time.Second, func() error {
			after, err := read()
			if err != nil {
				return err
			}
			if after != before {
				return fmt.Errorf("after %s the read models answer\n%s\nwhere they answered\n%s", loss.name, after, before)
			}
			return nil
		})
		waitReady(t, addrs.Admin)
	}
}

// A full stream refuses writes with ResourceExhausted, saying which stream
// and what to do; /readyz says it too; nothing acknowledged is lost, and the
// other streams still take writes.
func TestAFullStream(t *testing.T) {
	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.StreamMaxBytes = 1 << 20
	addrs, _ := servertest.Run(t, cfg)
	conn := dialAs(t, addrs.GRPC, cfg.DataDir, admin)
	intake, pathway := intakev1.NewIntakeServiceClient(conn), pathwayv1.NewPathwayServiceClient(conn)

	var (
		mu       sync.Mutex
		stored   []string
		refusals []error
		wg       sync.WaitGroup
		n        atomic.Int32
	)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				req := person(fmt.Sprintf("fill-%d-%d", w, i), int(n.Add(1)))
				req.FamilyName = strings.Repeat("Remplissage", 8) // bigger events fill the stream sooner
				resp, err := intake.RegisterLearner(callCtx(t), req)
				mu.Lock()
				if err == nil {
					stored = append(stored, resp.GetLearner().GetLearnerId())
				} else {
					refusals = append(refusals, err)
				}
				full := len(refusals) >= 3
				mu.Unlock()
				if full || i > 5000 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(refusals) == 0 {
		t.Fatalf("%d learners fitted in a 1 MiB stream", len(stored))
	}
	for _, err := range refusals {
		if status.Code(err) != codes.ResourceExhausted || status.Convert(err).Message() != "the INTAKE stream is full: raise --stream-max-bytes" {
			t.Fatalf("a write to the full stream answered %v", err)
		}
	}
	t.Logf("%d learners stored, then the INTAKE stream refused writes", len(stored))

	checks := readyz(t, addrs.Admin)
	if checks.Ready || !slices.Contains(checks.Failed, "stream INTAKE") {
		t.Fatalf("/readyz with INTAKE full: %+v", checks)
	}
	// Nothing acknowledged was lost.
	for _, id := range stored {
		if _, err := intake.GetLearner(callCtx(t), &intakev1.GetLearnerRequest{LearnerId: id}); err != nil {
			t.Fatalf("learner %s, stored before the stream filled up: %v", id, err)
		}
	}
	// PATHWAY has room: the learners stored can still enter the pathway.
	if _, err := pathway.EnterPathway(callCtx(t), &pathwayv1.EnterPathwayRequest{RequestId: "after-full", LearnerId: stored[0],
		EntryDate: civilpb.FromDate(civil.Of(time.Now()))}); err != nil {
		t.Fatalf("entering the pathway with INTAKE full: %v", err)
	}
}

// readyBody is the JSON of /readyz.
type readyBody struct {
	Ready  bool     `json:"ready"`
	Failed []string `json:"failed"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

func readyz(t *testing.T, admin string) readyBody {
	t.Helper()
	req, err := http.NewRequestWithContext(callCtx(t), http.MethodGet, "http://"+admin+"/readyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b readyBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	if (resp.StatusCode == http.StatusOK) != b.Ready {
		t.Fatalf("/readyz answered %d with ready=%v", resp.StatusCode, b.Ready)
	}
	return b
}

// waitReady waits until /readyz answers 200.
func waitReady(t *testing.T, admin string) {
	t.Helper()
	servicetest.Eventually(t, 30*time.Second, func() error {
		if b := readyz(t, admin); !b.Ready {
			return fmt.Errorf("not ready: %v", b.Failed)
		}
		return nil
	})
}
