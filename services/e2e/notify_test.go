package e2e

import (
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/avenir/server/servertest"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// inbox is a real SMTP server (go-smtp) in the test's process.
type inbox struct {
	mu  sync.Mutex
	got map[string][]string // recipient → subjects
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{b: b}, nil }

type inboxSession struct {
	b  *inbox
	to []string
}

func (s *inboxSession) Reset()                               {}
func (s *inboxSession) Logout() error                        { return nil }
func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *inboxSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, to := range s.to {
		s.b.got[to] = append(s.b.got[to], subject)
	}
	return nil
}

func (b *inbox) subjects(to string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got[to])
}

// TestNotificationsEndToEnd: a learner entering the pathway gets a
// referent; the dev server's notify service writes to the learner at the
// address intake holds (read through intake's API under notify's own
// identity), and the referent reads the notification in-app.
func TestNotificationsEndToEnd(t *testing.T) {
	box := &inbox{got: map[string][]string{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })

	cfg := servertest.Dev(filepath.Join(t.TempDir(), "data"))
	cfg.Notify.SMTPURL = "smtp://" + lis.Addr().String() + "?from=avenir@region.test"
	addrs, _ := servertest.Run(t, cfg)
	rf := referentv1.NewReferentServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir, admin))
	reg, err := rf.RegisterReferent(callCtx(t), &referentv1.RegisterReferentRequest{RequestId: "notify-referent", Profile: &referentv1.ReferentProfile{
		Name: "Anne Leroy", Organisation: "AFPA Alençon", TerritoryCodes: []string{"T13"}, Capacity: 20,
		Languages: []string{"fr"}, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	refID := reg.GetReferent().GetReferentId()
	coordinator := referent
	coordinator.Coordinator = true
	conn := dialAs(t, addrs.GRPC, cfg.DataDir, coordinator)
	learner, err := intakev1.NewIntakeServiceClient(conn).RegisterLearner(callCtx(t), &intakev1.RegisterLearnerRequest{
		RequestId: "notify-learner", FamilyName: "Durand", GivenName: "Théo",
		BirthDate: &commonv1.Date{Year: 2004, Month: 2, Day: 29}, TerritoryCode: "T13",
		Contact: &intakev1.Contact{Email: "theo.durand@exemple.test", CommuneCode: "61001"},
		Situation: &intakev1.Situation{
			EducationLevel: intakev1.EducationLevel_EDUCATION_LEVEL_3, ReferralSource: intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := learner.GetLearner().GetLearnerId()
	servicetest.Eventually(t, 10*time.Second, func() error {
		_, err := pathwayv1.NewPathwayServiceClient(conn).EnterPathway(callCtx(t), &pathwayv1.EnterPathwayRequest{
			RequestId: "notify-enter", LearnerId: id, EntryDate: civilpb.FromDate(civil.Of(time.Now())),
		})
		return err
	})
	servicetest.Eventually(t, 20*time.Second, func() error {
		if got := box.subjects("theo.durand@exemple.test"); !slices.Equal(got, []string{"Votre référent pédagogique"}) {
			return fmt.Errorf("the learner received %q", got)
		}
		return nil
	})
	anne := notifyv1.NewNotificationServiceClient(dialAs(t, addrs.GRPC, cfg.DataDir,
		auth.Principal{Subject: "e2e-anne", Role: auth.RoleReferent, ReferentID: refID, Territories: []string{"T13"}}))
	servicetest.Eventually(t, 10*time.Second, func() error {
		resp, err := anne.ListNotifications(callCtx(t), &notifyv1.ListNotificationsRequest{})
		if err != nil {
			return err
		}
		if n := resp.GetNotifications(); len(n) != 1 || resp.GetUnreadCount() != 1 ||
			n[0].GetTitle() != "Une nouvelle personne vous est confiée" || !strings.HasSuffix(n[0].GetLink(), "/personnes/"+id) {
			return fmt.Errorf("Anne reads %v", resp)
		}
		return nil
	})
}
