// Package service is notify as the avenir binary runs it: consumers of the
// IMMERSION and REFERENT streams that turn bookings, waitlist promotions,
// cancellations, assignments and handovers into notifications for the
// people concerned (appended to NOTIFY, once per recipient and triggering
// event), a consumer of NOTIFY that sends each one by e-mail through SMTP
// when its recipient wants it, a consumer of the dead letters that records
// the e-mails given up, and the gRPC API of NotificationService: each
// person's notifications (read model), read marks and preferences.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/consumer"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

const (
	// Name is the service's name in --services and in ce-source.
	Name = "notify"
	// Stream holds every notify event.
	Stream = "NOTIFY"

	immersionStream = "IMMERSION"
	referentStream  = "REFERENT"

	// Read models (projection names double as durable consumer names).
	inboxProjection     = "notify-inbox"
	sessionsProjection  = "notify-sessions"
	referentsProjection = "notify-referents"
	// Durable consumers that act.
	immersionConsumer = "notify-immersion"
	referentConsumer  = "notify-referent"
	// EmailConsumer sends the e-mails; its dead letters are on
	// avenir.dlq.notify-email.
	EmailConsumer  = "notify-email"
	failedConsumer = "notify-failed"
)

// Defaults of the e-mail retries: about an hour and a half before giving
// up, so a mail server down for a while loses nothing.
var (
	DefaultEmailMaxDeliver = 10
	DefaultEmailBackOff    = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute}
)

// Config is notify's own configuration.
type Config struct {
	// Mailer sends the e-mails; nil: none is sent, notifications are kept
	// in-app (the dev server without --smtp-url).
	Mailer Mailer
	// Contacts gives a learner's e-mail address at send time (intake's
	// API); nil: learners get no e-mail.
	Contacts Contacts
	// ConsoleURL prefixes the links to the console's pages; empty: the
	// links are paths.
	ConsoleURL string
	// EmailMaxDeliver and EmailBackOff tune the e-mail retries; zero:
	// the defaults.
	EmailMaxDeliver int
	EmailBackOff    []time.Duration
}

// Service implements notifyv1.NotificationServiceServer.
type Service struct {
	notifyv1.UnimplementedNotificationServiceServer
	deps          platform.Deps
	cfg           Config
	log           *slog.Logger
	store         projection.Store
	notifications *eventstore.Aggregates[domain.Notification, domain.Event]
	preferences   *eventstore.Aggregates[domain.Preferences, domain.Event]
}

var _ platform.Service = (*Service)(nil)

// New builds the notify service.
func New(deps platform.Deps, cfg Config) (*Service, error) {
	if cfg.EmailMaxDeliver < 0 {
		return nil, errors.New("notify: negative e-mail MaxDeliver")
	}
	if cfg.EmailMaxDeliver == 0 {
		cfg.EmailMaxDeliver = DefaultEmailMaxDeliver
	}
	if len(cfg.EmailBackOff) == 0 {
		cfg.EmailBackOff = DefaultEmailBackOff
	}
	events, err := eventstore.New(deps.JS, eventstore.Options{Source: Name, Sealer: deps.Sealer()})
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return &Service{
		deps: deps, cfg: cfg, log: deps.Logger.With("service", Name), store: deps.Projections,
		notifications: eventstore.NewAggregates(events, notificationKind),
		preferences:   eventstore.NewAggregates(events, preferencesKind),
	}, nil
}

// Name implements platform.Service.
func (s *Service) Name() string { return Name }

// Streams lists the streams the service owns (see platform.Service).
func Streams() []natsx.StreamSpec {
	return []natsx.StreamSpec{{
		Name:        Stream,
		Subjects:    []string{"avenir.notify.>"},
		Description: "notify: notifications made from the other contexts' events, their e-mails' fate and read marks, and each person's preferences",
	}}
}

// Streams implements platform.Service.
func (s *Service) Streams() []natsx.StreamSpec { return Streams() }

// Policy implements platform.Service: everybody reads and marks their own
// notifications and keeps their own preferences (checked in the handlers).
func (s *Service) Policy() auth.Policy {
	people := []auth.Role{auth.RoleAdmin, auth.RoleReferent, auth.RoleOperator, auth.RoleFunder}
	return auth.Policy{
		notifyv1.NotificationService_ListNotifications_FullMethodName: people,
		notifyv1.NotificationService_MarkRead_FullMethodName:          people,
		notifyv1.NotificationService_GetPreferences_FullMethodName:    people,
		notifyv1.NotificationService_SetPreferences_FullMethodName:    people,
	}
}

// Register implements platform.Service.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	notifyv1.RegisterNotificationServiceServer(r, s)
}

// Wiring implements platform.Service.
func (s *Service) Wiring() platform.Wiring {
	backoff := []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second, 30 * time.Second}
	return platform.Wiring{
		Projections: []projector.Spec{
			{
				Name: inboxProjection, Stream: Stream,
				FilterSubjects: []string{notificationPrefix + ">"},
				Project:        s.projectInbox,
			},
			{
				Name: sessionsProjection, Stream: immersionStream,
				FilterSubjects: []string{"avenir.immersion.session.*.scheduled", "avenir.immersion.session.*.booked", "avenir.immersion.session.*.booking_cancelled"},
				Project:        s.projectSession,
			},
			{
				Name: referentsProjection, Stream: referentStream,
				FilterSubjects: []string{"avenir.referent.assignment.*.assigned", "avenir.referent.assignment.*.pending", "avenir.referent.assignment.*.ended"},
				Project:        s.projectReferent,
			},
		},
		Consumers: []platform.Consumer{
			{Spec: consumer.Spec{
				Stream: immersionStream, Name: immersionConsumer,
				FilterSubjects: []string{"avenir.immersion.session.*.booked", "avenir.immersion.session.*.booking_cancelled"},
				BackOff:        backoff,
			}, Handle: s.onImmersion, After: []string{sessionsProjection}}, // reads the sessions
			{Spec: consumer.Spec{
				Stream: referentStream, Name: referentConsumer,
				FilterSubjects: []string{"avenir.referent.assignment.*.assigned"},
				BackOff:        backoff,
			}, Handle: s.onReferent},
			{Spec: consumer.Spec{
				Stream: Stream, Name: EmailConsumer,
				FilterSubjects: []string{notificationPrefix + "*.created"},
				MaxDeliver:     s.cfg.EmailMaxDeliver,
				BackOff:        s.cfg.EmailBackOff,
			}, Handle: s.onCreated},
			{Spec: consumer.Spec{
				Stream: consumer.DLQStream, Name: failedConsumer,
				FilterSubjects: []string{consumer.DLQSubjectPrefix + EmailConsumer},
				BackOff:        backoff,
			}, Handle: s.onDeadLetter},
		},
		Jobs: []platform.Job{{Name: remindersJob, Every: time.Minute, Run: s.RunReminders}},
	}
}

// serviceCommand is the metadata of a command the service runs itself, in
// reaction to an event.
func (s *Service) serviceCommand(requestID string) eventstore.Command {
	return eventstore.Command{RequestID: requestID, Actor: "service:" + Name, Time: s.deps.Now()}
}

// recipientOf is who the caller is as a recipient: referents by referent
// id, operators by operator id (the organisation), others by role and
// token subject (auth.Principal.Actor).
func recipientOf(ctx context.Context) (auth.Principal, string) {
	p, _ := auth.FromContext(ctx)
	return p, p.Actor()
}
