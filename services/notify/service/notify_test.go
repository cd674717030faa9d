package service_test

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"google.golang.org/grpc/codes"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	notify "github.com/avenir-normandie/avenir/services/notify/service"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// mailServer is a real SMTP server (go-smtp) in the test's process, which
// can be stopped and started again on the same address.
type mailServer struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	srv  *smtp.Server
	got  []received
	// reject answers every RCPT with this code when not zero.
	reject int
}

type received struct {
	To        string
	Subject   string
	MessageID string
	Body      string
}

func startMailServer(t *testing.T) *mailServer {
	m := &mailServer{t: t, addr: "127.0.0.1:0"}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *mailServer) start() {
	m.t.Helper()
	lis, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.t.Fatalf("smtp listen: %v", err)
	}
	m.addr = lis.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{m: m}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

func (m *mailServer) stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (m *mailServer) url() string { return "smtp://" + m.addr + "?from=avenir@avenir.test" }

func (m *mailServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

func (m *mailServer) to(addr string) []received {
	var out []received
	for _, r := range m.messages() {
		if r.To == addr {
			out = append(out, r)
		}
	}
	return out
}

type session struct {
	m  *mailServer
	to string
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error {
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.mu.Lock()
	code := s.m.reject
	s.m.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, Message: "refused for " + to}
	}
	s.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.got = append(s.m.got, received{To: s.to, Subject: subject, MessageID: msg.Header.Get("Message-ID"), Body: string(body)})
	return nil
}

// contacts are learners' addresses as intake would give them.
type contacts struct {
	mu     sync.Mutex
	emails map[string]string
	erased map[string]bool
	// eraseNew: the learners booked from now on are erased.
	eraseNew bool
}

func (c *contacts) LearnerEmail(_ context.Context, id string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.erased[id] {
		return "", true, nil
	}
	return c.emails[id], false, nil
}

type world struct {
	env      *servicetest.Env
	mail     *mailServer
	contacts *contacts
	client   func(p auth.Principal) notifyv1.NotificationServiceClient
	build    servicetest.Builder
}

var (
	referentP = auth.Principal{Subject: "ref-1", Role: auth.RoleReferent, ReferentID: "0d6f7a1c-4b3e-4f0a-9d57-5c3f2a1b0001", Territories: []string{"T01"}}
	operatorP = auth.Principal{Subject: "op-1", Role: auth.RoleOperator, OperatorID: "OP01"}
)

const (
	referentEmail = "referente@avenir.test"
	operatorEmail = "plateau@avenir.test"
	learnerEmail  = "personne@avenir.test"
)

func newWorld(t *testing.T, tune func(*notify.Config)) *world {
	t.Helper()
	w := &world{mail: startMailServer(t), contacts: &contacts{emails: map[string]string{}, erased: map[string]bool{}}}
	mailer, err := notify.ParseSMTPURL(w.mail.url(), "")
	if err != nil {
		t.Fatal(err)
	}
	mailer.Timeout = 2 * time.Second
	cfg := notify.Config{Mailer: mailer, Contacts: w.contacts, ConsoleURL: "https://console.avenir.test",
		EmailMaxDeliver: 200, EmailBackOff: []time.Duration{50 * time.Millisecond}}
	if tune != nil {
		tune(&cfg)
	}
	w.build = func(d platform.Deps) (platform.Service, error) { return notify.New(d, cfg) }
	w.env = servicetest.Start(t, servicetest.Options{}, w.build)
	w.client = func(p auth.Principal) notifyv1.NotificationServiceClient {
		return notifyv1.NewNotificationServiceClient(w.env.ConnAs(t, p))
	}
	return w
}

func (w *world) setPreferences(t *testing.T, p auth.Principal, email string, kinds ...notifyv1.NotificationKind) {
	t.Helper()
	if _, err := w.client(p).SetPreferences(context.Background(), &notifyv1.SetPreferencesRequest{
		RequestId: event.NewID(), Email: email, EmailKinds: kinds,
	}); err != nil {
		t.Fatalf("set preferences: %v", err)
	}
}

func allKinds() []notifyv1.NotificationKind {
	return []notifyv1.NotificationKind{
		notifyv1.NotificationKind_NOTIFICATION_KIND_PLACE_BOOKED, notifyv1.NotificationKind_NOTIFICATION_KIND_WAITLIST_PROMOTED,
		notifyv1.NotificationKind_NOTIFICATION_KIND_BOOKING_CANCELLED, notifyv1.NotificationKind_NOTIFICATION_KIND_REFERENT_ASSIGNED,
		notifyv1.NotificationKind_NOTIFICATION_KIND_REFERENT_HANDOVER, notifyv1.NotificationKind_NOTIFICATION_KIND_SESSION_REMINDER,
	}
}

func date(y, m, d int32) *commonv1.Date { return &commonv1.Date{Year: y, Month: m, Day: d} }

// book assigns the learner to the referent and books it a place on a new
// session of the operator; it returns the learner and session ids.
func (w *world) book(t *testing.T) (learner, session string) {
	t.Helper()
	learner, session = event.NewID(), event.NewID()
	w.contacts.mu.Lock()
	if w.contacts.eraseNew {
		w.contacts.erased[learner] = true
	} else {
		w.contacts.emails[learner] = learnerEmail
	}
	w.contacts.mu.Unlock()
	w.env.Publish(t, "avenir.referent.assignment."+learner+".assigned", &referentv1.ReferentAssigned{
		LearnerId: learner, ReferentId: referentP.ReferentID, TerritoryCode: "T01", EpisodeNumber: 1,
		FromDate: date(2026, 11, 20), Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_AUTOMATIC,
		Explanation: "spécialité handicap (RQTH)",
	})
	w.env.Publish(t, "avenir.immersion.session."+session+".scheduled", &immersionv1.SessionScheduled{
		SessionId: session, OfferId: event.NewID(), OperatorId: operatorP.OperatorID, TerritoryCode: "T01",
		FromDate: date(2026, 12, 7), ToDate: date(2026, 12, 11), DailyMinutes: 420, Capacity: 2,
	})
	w.triggersCaughtUp(t)
	w.env.Publish(t, "avenir.immersion.session."+session+".booked", &immersionv1.PlaceBooked{
		SessionId: session, LearnerId: learner, Booked: 1, Capacity: 2, OperatorId: operatorP.OperatorID,
		FromDate: date(2026, 12, 7), ToDate: date(2026, 12, 11),
	})
	w.triggersCaughtUp(t)
	return learner, session
}

// triggersCaughtUp waits for the read models and the consumers that
// create notifications (not for the e-mails, which may be retrying).
func (w *world) triggersCaughtUp(t *testing.T) {
	t.Helper()
	for _, name := range []string{"notify-sessions", "notify-referents", "notify-immersion", "notify-referent", "notify-inbox"} {
		w.env.ConsumerCaughtUp(t, name)
	}
}

func created(t *testing.T, env *servicetest.Env) []*notifyv1.NotificationCreated {
	var out []*notifyv1.NotificationCreated
	for _, ev := range env.Events(t, notify.Stream, "avenir.notify.notification.*.created") {
		out = append(out, ev.Data.(*notifyv1.NotificationCreated))
	}
	return out
}

func ofKind(ns []*notifyv1.NotificationCreated, k notifyv1.NotificationKind) []string {
	var recipients []string
	for _, n := range ns {
		if n.GetKind() == k {
			recipients = append(recipients, n.GetRecipient())
		}
	}
	slices.Sort(recipients)
	return recipients
}

// waitConsumer waits until a durable consumer has nothing pending.
func waitConsumer(t *testing.T, env *servicetest.Env, stream, name string) {
	t.Helper()
	servicetest.Eventually(t, 20*time.Second, func() error {
		c, err := env.JS.Consumer(context.Background(), stream, name)
		if err != nil {
			return err
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumPending > 0 || info.NumAckPending > 0 {
			return fmt.Errorf("%s: %d pending, %d unacked", name, info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

func TestBookingNotifiesEachRecipientOnceEvenWhenDeliveredAgain(t *testing.T) {
	w := newWorld(t, nil)
	w.setPreferences(t, referentP, referentEmail, allKinds()...)
	w.setPreferences(t, operatorP, operatorEmail, allKinds()...)
	learner, session := w.book(t)

	booked := notifyv1.NotificationKind_NOTIFICATION_KIND_PLACE_BOOKED
	want := []string{"learner:" + learner, "operator:" + operatorP.OperatorID, "referent:" + referentP.ReferentID}
	if got := ofKind(created(t, w.env), booked); !slices.Equal(got, want) {
		t.Fatalf("booking notifications for %v, want %v", got, want)
	}
	servicetest.Eventually(t, 10*time.Second, func() error {
		if n := len(w.mail.messages()); n != 5 { // 3 for the booking, 2 for the assignment
			return fmt.Errorf("%d e-mails", n)
		}
		return nil
	})
	for _, addr := range []string{learnerEmail, referentEmail, operatorEmail} {
		if !slices.ContainsFunc(w.mail.to(addr), func(r received) bool { return strings.Contains(r.Body, "du 07/12/2026 au 11/12/2026") }) {
			t.Errorf("no booking e-mail with the session's dates to %s: %+v", addr, w.mail.to(addr))
		}
	}
	op := w.mail.to(operatorEmail)[0]
	if !strings.Contains(op.Body, "https://console.avenir.test/reservations/"+session+"/"+learner) {
		t.Errorf("operator's e-mail without the console link:\n%s", op.Body)
	}
	if !strings.HasPrefix(op.MessageID, "<notification.") || !strings.HasSuffix(op.MessageID, "@avenir.test>") {
		t.Errorf("Message-ID %q", op.MessageID)
	}

	// The triggering events delivered again (consumers recreated from the
	// start, read models rebuilt): nothing more is created or sent.
	ctx := context.Background()
	for _, c := range []struct{ stream, name string }{{"IMMERSION", "notify-immersion"}, {"REFERENT", "notify-referent"}, {notify.Stream, notify.EmailConsumer}} {
		if err := w.env.Running.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.env.JS.DeleteConsumer(ctx, c.stream, c.name); err != nil {
			t.Fatalf("delete %s: %v", c.name, err)
		}
	}
	w.env.Rebuild(t, projection.NewMemory(), w.build)
	for _, c := range []struct{ stream, name string }{{"IMMERSION", "notify-immersion"}, {"REFERENT", "notify-referent"}, {notify.Stream, notify.EmailConsumer}} {
		waitConsumer(t, w.env, c.stream, c.name)
	}
	if got := ofKind(created(t, w.env), booked); !slices.Equal(got, want) {
		t.Fatalf("after redelivery, booking notifications for %v, want %v", got, want)
	}
	if n := len(created(t, w.env)); n != 5 {
		t.Fatalf("after redelivery, %d notifications, want 5", n)
	}
	if n := len(w.mail.messages()); n != 5 {
		t.Fatalf("after redelivery, %d e-mails, want 5", n)
	}
	if n := len(w.env.Events(t, notify.Stream, "avenir.notify.notification.*.sent")); n != 5 {
		t.Fatalf("%d sent records, want 5", n)
	}
}

func TestMailServerDownForAWhileLosesNothingAndSendsNothingTwice(t *testing.T) {
	w := newWorld(t, nil)
	w.setPreferences(t, referentP, referentEmail, allKinds()...)
	w.setPreferences(t, operatorP, operatorEmail, allKinds()...)
	w.mail.stop()
	w.book(t)
	time.Sleep(500 * time.Millisecond) // several failed attempts
	if n := len(w.mail.messages()); n != 0 {
		t.Fatalf("%d e-mails while the server is down", n)
	}
	if n := len(w.env.Events(t, notify.Stream, "avenir.notify.notification.*.failed")); n != 0 {
		t.Fatalf("%d failures recorded while retrying: %v", n, w.env.Events(t, notify.Stream, "avenir.notify.notification.*.failed")[0].Data)
	}
	w.mail.start()
	servicetest.Eventually(t, 20*time.Second, func() error {
		if n := len(w.env.Events(t, notify.Stream, "avenir.notify.notification.*.sent")); n != 5 {
			return fmt.Errorf("%d sent", n)
		}
		return nil
	})
	waitConsumer(t, w.env, notify.Stream, notify.EmailConsumer)
	seen := map[string]bool{}
	for _, m := range w.mail.messages() {
		if seen[m.MessageID] {
			t.Errorf("message %s sent twice", m.MessageID)
		}
		seen[m.MessageID] = true
	}
	if len(seen) != 5 {
		t.Fatalf("%d e-mails, want 5", len(seen))
	}
}

func TestRetriesExhaustedRecordFailureAndDeadLetter(t *testing.T) {
	w := newWorld(t, func(c *notify.Config) {
		c.EmailMaxDeliver = 3
		c.EmailBackOff = []time.Duration{20 * time.Millisecond}
	})
	w.mail.stop()
	learner, _ := w.book(t) // the learner's address only: 2 notifications by e-mail
	servicetest.Eventually(t, 20*time.Second, func() error {
		if n := len(w.env.Events(t, notify.Stream, "avenir.notify.notification.*.failed")); n != 2 {
			return fmt.Errorf("%d failed", n)
		}
		return nil
	})
	for _, ev := range w.env.Events(t, notify.Stream, "avenir.notify.notification.*.failed") {
		f := ev.Data.(*notifyv1.NotificationFailed)
		if !strings.Contains(f.GetReason(), "connection refused") || f.GetDeliveries() != 3 {
			t.Errorf("failure %+v", f)
		}
		if strings.Contains(f.GetReason(), learnerEmail) {
			t.Errorf("the reason names the address: %s", f.GetReason())
		}
	}
	dead := w.env.Events(t, consumer.DLQStream, consumer.DLQSubjectPrefix+notify.EmailConsumer)
	if len(dead) != 2 || dead[0].Header.Get(consumer.HeaderDLQReason) == "" {
		t.Fatalf("dead letters %d", len(dead))
	}
	// The learner's notifications read as failed (admins read anyone's).
	admin := w.client(auth.Principal{Subject: "adm", Role: auth.RoleAdmin})
	servicetest.Eventually(t, 10*time.Second, func() error {
		resp, err := admin.ListNotifications(context.Background(), &notifyv1.ListNotificationsRequest{Recipient: "learner:" + learner})
		if err != nil {
			return err
		}
		if len(resp.GetNotifications()) != 2 {
			return fmt.Errorf("%d notifications", len(resp.GetNotifications()))
		}
		for _, n := range resp.GetNotifications() {
			if n.GetEmailStatus() != notifyv1.EmailStatus_EMAIL_STATUS_FAILED {
				return fmt.Errorf("e-mail %v", n.GetEmailStatus())
			}
		}
		return nil
	})

	// A refusal for good fails at once.
	w.mail.start()
	w.mail.mu.Lock()
	w.mail.reject = 550
	w.mail.mu.Unlock()
	w.book(t)
	servicetest.Eventually(t, 20*time.Second, func() error {
		if n := len(w.env.Events(t, notify.Stream, "avenir.notify.notification.*.failed")); n != 4 {
			return fmt.Errorf("%d failed", n)
		}
		return nil
	})
	evs := w.env.Events(t, notify.Stream, "avenir.notify.notification.*.failed")
	if f := evs[3].Data.(*notifyv1.NotificationFailed); !strings.Contains(f.GetReason(), "550") || f.GetDeliveries() != 1 {
		t.Errorf("refusal recorded as %+v", f)
	}
}

func TestInAppListMarkReadAndUnreadCount(t *testing.T) {
	w := newWorld(t, func(c *notify.Config) { c.Mailer = nil }) // --dev without --smtp-url
	w.book(t)
	w.book(t)
	ctx := context.Background()
	ref := w.client(referentP)
	list := func(req *notifyv1.ListNotificationsRequest) *notifyv1.ListNotificationsResponse {
		t.Helper()
		resp, err := ref.ListNotifications(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	all := list(&notifyv1.ListNotificationsRequest{})
	if len(all.GetNotifications()) != 4 || all.GetUnreadCount() != 4 {
		t.Fatalf("%d notifications, %d unread, want 4 and 4", len(all.GetNotifications()), all.GetUnreadCount())
	}
	first := all.GetNotifications()[0]
	if first.GetKind() != notifyv1.NotificationKind_NOTIFICATION_KIND_PLACE_BOOKED || first.GetEmailStatus() != notifyv1.EmailStatus_EMAIL_STATUS_NOT_SENT {
		t.Fatalf("newest first: got %v", first)
	}
	if !strings.HasPrefix(first.GetLink(), "https://console.avenir.test/reservations/") {
		t.Fatalf("link %q", first.GetLink())
	}
	// Pages of one, newest first, end to end.
	var paged []string
	req := &notifyv1.ListNotificationsRequest{PageSize: 1}
	for {
		resp := list(req)
		for _, n := range resp.GetNotifications() {
			paged = append(paged, n.GetNotificationId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	var ids []string
	for _, n := range all.GetNotifications() {
		ids = append(ids, n.GetNotificationId())
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("pages %v, want %v", paged, ids)
	}

	// Another person cannot mark it, nor see it.
	if _, err := w.client(operatorP).MarkRead(ctx, &notifyv1.MarkReadRequest{RequestId: event.NewID(), NotificationId: first.GetNotificationId()}); err == nil {
		t.Fatal("an operator marked a referent's notification")
	} else {
		servicetest.Refused(t, err, codes.NotFound)
	}
	ops, err := w.client(operatorP).ListNotifications(ctx, &notifyv1.ListNotificationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ops.GetNotifications() {
		if n.GetRecipient() != "operator:"+operatorP.OperatorID {
			t.Fatalf("an operator reads %s's notification", n.GetRecipient())
		}
	}
	if _, err := w.client(operatorP).ListNotifications(ctx, &notifyv1.ListNotificationsRequest{Recipient: "referent:" + referentP.ReferentID}); err == nil {
		t.Fatal("an operator listed a referent's notifications")
	}

	for range 2 { // twice: idempotent
		resp, err := ref.MarkRead(ctx, &notifyv1.MarkReadRequest{RequestId: event.NewID(), NotificationId: first.GetNotificationId()})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetNotification().GetRead() {
			t.Fatal("not read after MarkRead")
		}
	}
	if n := len(w.env.Events(t, notify.Stream, "avenir.notify.notification.*.read")); n != 1 {
		t.Fatalf("%d read events, want 1", n)
	}
	w.env.CaughtUp(t)
	if got := list(&notifyv1.ListNotificationsRequest{}); got.GetUnreadCount() != 3 || !got.GetNotifications()[0].GetRead() {
		t.Fatalf("after a read: %d unread", got.GetUnreadCount())
	}
	unread := list(&notifyv1.ListNotificationsRequest{UnreadOnly: true})
	if len(unread.GetNotifications()) != 3 || slices.ContainsFunc(unread.GetNotifications(), func(n *notifyv1.Notification) bool { return n.GetRead() }) {
		t.Fatalf("unread filter: %d", len(unread.GetNotifications()))
	}
}

func TestPreferencesOffNoEmailButInApp(t *testing.T) {
	w := newWorld(t, nil)
	// An address, but no kind by e-mail; the operator gives none.
	w.setPreferences(t, referentP, referentEmail)
	prefs, err := w.client(referentP).GetPreferences(context.Background(), &notifyv1.GetPreferencesRequest{})
	if err != nil || prefs.GetPreferences().GetEmail() != referentEmail || len(prefs.GetPreferences().GetEmailKinds()) != 0 || !prefs.GetPreferences().GetSet() {
		t.Fatalf("preferences %v, %v", prefs, err)
	}
	_, err = w.client(referentP).SetPreferences(context.Background(), &notifyv1.SetPreferencesRequest{RequestId: event.NewID(), Email: "pas une adresse"})
	servicetest.Refused(t, err, codes.InvalidArgument, "email")

	w.book(t)
	// An erased learner gets nothing either.
	w.contacts.mu.Lock()
	w.contacts.eraseNew = true
	w.contacts.mu.Unlock()
	w.book(t)
	waitConsumer(t, w.env, notify.Stream, notify.EmailConsumer)
	if got := w.mail.to(referentEmail); len(got) != 0 {
		t.Fatalf("%d e-mails to a referent who wants none", len(got))
	}
	if n := len(w.mail.messages()); n != 2 { // the first learner's assignment and booking
		t.Fatalf("%d e-mails, want 2: %+v", n, w.mail.messages())
	}
	resp, err := w.client(referentP).ListNotifications(context.Background(), &notifyv1.ListNotificationsRequest{})
	if err != nil || len(resp.GetNotifications()) != 4 {
		t.Fatalf("in-app: %d, %v", len(resp.GetNotifications()), err)
	}
}

func TestNoSpecialCategoryDataInAnyEmail(t *testing.T) {
	w := newWorld(t, nil)
	w.setPreferences(t, referentP, referentEmail, allKinds()...)
	w.setPreferences(t, operatorP, operatorEmail, allKinds()...)
	learner, session := w.book(t)
	w.env.Publish(t, "avenir.immersion.session."+session+".booking_cancelled", &immersionv1.BookingCancelled{
		SessionId: session, LearnerId: learner, Cause: immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT,
		Reason: "problème de santé, RQTH en cours",
	})
	w.triggersCaughtUp(t)
	w.env.Publish(t, "avenir.referent.assignment."+learner+".assigned", &referentv1.ReferentAssigned{
		LearnerId: learner, ReferentId: "0d6f7a1c-4b3e-4f0a-9d57-5c3f2a1b0002", PreviousReferentId: referentP.ReferentID,
		TerritoryCode: "T01", EpisodeNumber: 1, FromDate: date(2026, 11, 27),
		Reason: referentv1.AssignmentReason_ASSIGNMENT_REASON_HANDOVER, Explanation: "handicap moteur",
	})
	w.env.CaughtUp(t)
	servicetest.Eventually(t, 10*time.Second, func() error {
		if n := len(w.mail.messages()); n != 10 { // 2 + 3 + 3 (cancellation) + 2 (handover: learner, previous referent)
			return fmt.Errorf("%d e-mails", n)
		}
		return nil
	})
	forbidden := []string{"rqth", "handicap", "santé", "sante", "médical", "medical", "maladie", "frein", "travailleur handicapé", "invalidité"}
	for _, m := range w.mail.messages() {
		text := strings.ToLower(m.Subject + "\n" + m.Body)
		for _, word := range forbidden {
			if strings.Contains(text, word) {
				t.Errorf("e-mail to %s holds %q:\n%s", m.To, word, m.Body)
			}
		}
		if strings.Contains(m.Body, learner) && m.To == learnerEmail {
			t.Errorf("the learner's e-mail shows its internal id")
		}
	}
	cancelled := w.mail.to(operatorEmail)
	if !slices.ContainsFunc(cancelled, func(r received) bool {
		return r.Subject == "Réservation annulée sur votre session d'immersion" && strings.Contains(r.Body, "du 07/12/2026 au 11/12/2026")
	}) {
		t.Errorf("no cancellation e-mail to the host: %+v", cancelled)
	}
	if !slices.ContainsFunc(w.mail.to(referentEmail), func(r received) bool { return r.Subject == "Passation effectuée" }) {
		t.Errorf("no handover e-mail to the previous referent")
	}
}

func TestRemindersAt72_48_24HoursSkippedAfterACancellation(t *testing.T) {
	w := newWorld(t, func(c *notify.Config) { c.Mailer = nil })
	svc := w.env.Services[0].(*notify.Service)
	ctx := context.Background()
	learner, session := w.book(t)
	other := event.NewID()
	w.env.Publish(t, "avenir.immersion.session."+session+".booked", &immersionv1.PlaceBooked{
		SessionId: session, LearnerId: other, Booked: 2, Capacity: 2, OperatorId: operatorP.OperatorID,
		FromDate: date(2026, 12, 7), ToDate: date(2026, 12, 11),
	})
	w.triggersCaughtUp(t)
	start := time.Date(2026, 12, 7, notify.SessionStartHour, 0, 0, 0, paris(t))
	reminders := func() map[string][]int32 {
		got := map[string][]int32{}
		for _, n := range created(t, w.env) {
			if n.GetKind() == notifyv1.NotificationKind_NOTIFICATION_KIND_SESSION_REMINDER {
				got[n.GetRecipient()] = append(got[n.GetRecipient()], n.GetHoursBefore())
			}
		}
		return got
	}
	run := func(at time.Time) {
		t.Helper()
		w.env.SetNow(at)
		for range 2 { // twice: the second run finds everything done
			if err := svc.RunReminders(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(start.Add(-73 * time.Hour))
	if got := reminders(); len(got) != 0 {
		t.Fatalf("reminders before their time: %v", got)
	}
	run(start.Add(-72 * time.Hour))
	// The other learner's booking is cancelled between the first and the
	// second reminder.
	w.env.Publish(t, "avenir.immersion.session."+session+".booking_cancelled", &immersionv1.BookingCancelled{
		SessionId: session, LearnerId: other, Cause: immersionv1.CancellationCause_CANCELLATION_CAUSE_REFERENT,
	})
	w.triggersCaughtUp(t)
	run(start.Add(-47 * time.Hour))
	run(start.Add(-23*time.Hour - 59*time.Minute))
	run(start.Add(time.Hour)) // started: nothing
	want := map[string][]int32{
		"learner:" + learner:               {72, 48, 24},
		"learner:" + other:                 {72},
		"operator:" + operatorP.OperatorID: {72, 48, 24},
	}
	got := reminders()
	if len(got) != len(want) {
		t.Fatalf("reminders %v, want %v", got, want)
	}
	for r, hours := range want {
		if !slices.Equal(got[r], hours) {
			t.Errorf("%s: reminders %v, want %v", r, got[r], hours)
		}
	}
	// The learner reads when; the texts name nobody.
	w.env.CaughtUp(t)
	resp, err := w.client(auth.Principal{Subject: "adm", Role: auth.RoleAdmin}).ListNotifications(ctx,
		&notifyv1.ListNotificationsRequest{Recipient: "learner:" + learner, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := resp.GetNotifications()[0]; n.GetTitle() != "Rappel : immersion dans 24 heures" || !strings.Contains(n.GetBody(), "du 07/12/2026 au 11/12/2026") {
		t.Fatalf("latest reminder %q: %q", n.GetTitle(), n.GetBody())
	}
}

func paris(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
