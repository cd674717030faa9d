package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
	"github.com/avenir-normandie/avenir/services/notify/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// entry is a notification in the inbox read model (notify-inbox).
type entry struct {
	ID               string     `json:"id"`
	Recipient        string     `json:"recipient"`
	Kind             int32      `json:"kind"`
	LearnerID        string     `json:"learner_id,omitempty"`
	SessionID        string     `json:"session_id,omitempty"`
	From             civil.Date `json:"from"`
	To               civil.Date `json:"to"`
	WasWaitlisted    bool       `json:"was_waitlisted,omitempty"`
	PreviousReferent bool       `json:"previous_referent,omitempty"`
	HoursBefore      int        `json:"hours_before,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	Read             bool       `json:"read,omitempty"`
	Email            int32      `json:"email"`
	// Member is the notification in its recipient's indexes: newest first.
	Member string `json:"member"`
}

func (e entry) notification() domain.Notification {
	return domain.Notification{
		ID: e.ID, Recipient: e.Recipient, Kind: domain.Kind(e.Kind), LearnerID: e.LearnerID, SessionID: e.SessionID,
		From: e.From, To: e.To, WasWaitlisted: e.WasWaitlisted, PreviousReferent: e.PreviousReferent, HoursBefore: e.HoursBefore,
	}
}

func entryKey(id string) string { return "n/" + id }

// recipientIndex names a recipient's indexes: all notifications ("r/") and
// the unread ones ("u/"), by a hash of the recipient.
func recipientIndex(prefix, recipient string) string {
	h := sha256.Sum256([]byte(recipient))
	return prefix + hex.EncodeToString(h[:16])
}

// projectInbox keeps every notification and, per recipient, the index of
// all of them and of the unread ones, newest first.
func (s *Service) projectInbox(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	if m, ok := ev.Data.(*notifyv1.NotificationCreated); ok {
		n := createdFromProto(m)
		e := entry{
			ID: n.ID, Recipient: n.Recipient, Kind: int32(n.Kind), LearnerID: n.LearnerID, SessionID: n.SessionID,
			From: n.From, To: n.To, WasWaitlisted: n.WasWaitlisted, PreviousReferent: n.PreviousReferent, HoursBefore: n.HoursBefore,
			CreatedAt: ev.Time, Email: int32(notifyv1.EmailStatus_EMAIL_STATUS_NOT_SENT),
			// Later sequences sort first.
			Member: fmt.Sprintf("%016x/%s", math.MaxUint64-ev.Sequence, n.ID),
		}
		put, err := projection.PutJSON(entryKey(n.ID), e)
		if err != nil {
			return nil, err
		}
		return []projection.Op{put,
			projection.IndexAdd(recipientIndex("r/", e.Recipient), e.Member),
			projection.IndexAdd(recipientIndex("u/", e.Recipient), e.Member)}, nil
	}
	var id string
	switch m := ev.Data.(type) {
	case *notifyv1.NotificationRead:
		id = m.GetNotificationId()
	case *notifyv1.NotificationSent:
		id = m.GetNotificationId()
	case *notifyv1.NotificationFailed:
		id = m.GetNotificationId()
	default:
		return nil, nil
	}
	e, found, err := projection.GetJSON[entry](ctx, s.store, inboxProjection, entryKey(id))
	if err != nil || !found {
		return nil, err
	}
	var ops []projection.Op
	switch ev.Data.(type) {
	case *notifyv1.NotificationRead:
		e.Read = true
		ops = append(ops, projection.IndexRemove(recipientIndex("u/", e.Recipient), e.Member))
	case *notifyv1.NotificationSent:
		e.Email = int32(notifyv1.EmailStatus_EMAIL_STATUS_SENT)
	case *notifyv1.NotificationFailed:
		e.Email = int32(notifyv1.EmailStatus_EMAIL_STATUS_FAILED)
	}
	put, err := projection.PutJSON(entryKey(id), e)
	if err != nil {
		return nil, err
	}
	return append(ops, put), nil
}

// MaxPageSize bounds a page of notifications.
const MaxPageSize = 100

// ListNotifications implements notifyv1.NotificationServiceServer.
func (s *Service) ListNotifications(ctx context.Context, req *notifyv1.ListNotificationsRequest) (*notifyv1.ListNotificationsResponse, error) {
	p, recipient := recipientOf(ctx)
	var v apperr.Violations
	size := min(paging.Size(&v, req.GetPageSize()), MaxPageSize)
	if req.GetPageSize() == 0 {
		size = 20
	}
	if r := req.GetRecipient(); r != "" {
		switch {
		case p.Role != auth.RoleAdmin:
			return nil, apperr.PermissionDenied("only admins read another person's notifications")
		case len(r) > 300 || !strings.Contains(r, ":"):
			v.Add("recipient", "must be <role>:<id>, such as learner:<id>")
		}
		recipient = r
	}
	prefix := "r/"
	if req.GetUnreadOnly() {
		prefix = "u/"
	}
	index := recipientIndex(prefix, recipient)
	fp := paging.Fingerprint("notifications", recipient, prefix)
	after := paging.Decode(&v, req.GetPageToken(), fp)
	if err := v.Err(); err != nil {
		return nil, err
	}
	members, err := s.store.Range(ctx, inboxProjection, index, projection.RangeQuery{After: after, Limit: size + 1})
	if err != nil {
		return nil, apperr.Unavailable("notifications read model").WithCause(err)
	}
	resp := &notifyv1.ListNotificationsResponse{}
	if len(members) > size {
		members = members[:size]
		resp.NextPageToken = paging.Encode(fp, members[size-1])
	}
	ids := make([]string, len(members))
	for i, m := range members {
		_, ids[i], _ = strings.Cut(m, "/")
	}
	entries, err := projection.GetManyJSONOf[entry](ctx, s.store, inboxProjection, ids, entryKey)
	if err != nil {
		return nil, apperr.Unavailable("notifications read model").WithCause(err)
	}
	for _, e := range entries {
		if e != nil {
			resp.Notifications = append(resp.Notifications, s.view(*e))
		}
	}
	unread, err := s.store.Count(ctx, inboxProjection, recipientIndex("u/", recipient))
	if err != nil {
		return nil, apperr.Unavailable("notifications read model").WithCause(err)
	}
	resp.UnreadCount = int32(unread)
	return resp, nil
}

// view is the wire form of an inbox entry.
func (s *Service) view(e entry) *notifyv1.Notification {
	t := render(e.notification(), s.cfg.ConsoleURL)
	return &notifyv1.Notification{
		NotificationId: e.ID, Kind: notifyv1.NotificationKind(e.Kind), Recipient: e.Recipient,
		Title: t.Title, Body: t.Body, Link: t.Link, CreatedAt: timestamppb.New(e.CreatedAt),
		Read: e.Read, EmailStatus: notifyv1.EmailStatus(e.Email),
		LearnerId: e.LearnerID, SessionId: e.SessionID,
		FromDate: civilpb.FromDate(e.From), ToDate: civilpb.FromDate(e.To),
	}
}

// MarkRead implements notifyv1.NotificationServiceServer: the caller's own
// notifications only (another's is not found).
func (s *Service) MarkRead(ctx context.Context, req *notifyv1.MarkReadRequest) (*notifyv1.MarkReadResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	ident.ID(&v, "notification_id", req.GetNotificationId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	_, recipient := recipientOf(ctx)
	out, err := s.notifications.Execute(ctx, req.GetNotificationId(), s.deps.Command(ctx, req.GetRequestId()), func(st domain.Notification) ([]domain.Event, error) {
		if st.Recipient != recipient {
			return nil, apperr.NotFound("notification %s not found", req.GetNotificationId())
		}
		return domain.MarkRead(st)
	})
	if err != nil {
		return nil, err
	}
	n := out.State
	e := entry{
		ID: n.ID, Recipient: n.Recipient, Kind: int32(n.Kind), LearnerID: n.LearnerID, SessionID: n.SessionID,
		From: n.From, To: n.To, WasWaitlisted: n.WasWaitlisted, PreviousReferent: n.PreviousReferent, HoursBefore: n.HoursBefore,
		Read: n.Read, Email: int32(notifyv1.EmailStatus_EMAIL_STATUS_NOT_SENT),
	}
	if len(out.History) > 0 {
		e.CreatedAt = out.History[0].Time
	}
	switch {
	case n.Sent:
		e.Email = int32(notifyv1.EmailStatus_EMAIL_STATUS_SENT)
	case n.Failed:
		e.Email = int32(notifyv1.EmailStatus_EMAIL_STATUS_FAILED)
	}
	return &notifyv1.MarkReadResponse{Notification: s.view(e)}, nil
}

// GetPreferences implements notifyv1.NotificationServiceServer.
func (s *Service) GetPreferences(ctx context.Context, _ *notifyv1.GetPreferencesRequest) (*notifyv1.GetPreferencesResponse, error) {
	_, recipient := recipientOf(ctx)
	p, err := s.loadPreferences(ctx, recipient)
	if err != nil {
		return nil, err
	}
	return &notifyv1.GetPreferencesResponse{Preferences: preferencesToProto(p)}, nil
}

// SetPreferences implements notifyv1.NotificationServiceServer.
func (s *Service) SetPreferences(ctx context.Context, req *notifyv1.SetPreferencesRequest) (*notifyv1.SetPreferencesResponse, error) {
	var v apperr.Violations
	ident.RequestID(&v, req.GetRequestId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	_, recipient := recipientOf(ctx)
	want := domain.Preferences{Email: req.GetEmail(), EmailKinds: kindsFromProto(req.GetEmailKinds())}
	out, err := s.preferences.Execute(ctx, recipientKey(recipient), s.deps.Command(ctx, req.GetRequestId()), func(st domain.Preferences) ([]domain.Event, error) {
		if !st.Set {
			st = domain.DefaultPreferences(recipient)
		}
		return domain.SetPreferences(st, want)
	})
	if err != nil {
		return nil, err
	}
	p := out.State
	if !p.Set {
		p = domain.DefaultPreferences(recipient)
	}
	return &notifyv1.SetPreferencesResponse{Preferences: preferencesToProto(p)}, nil
}

func preferencesToProto(p domain.Preferences) *notifyv1.Preferences {
	return &notifyv1.Preferences{Recipient: p.Recipient, Email: p.Email, EmailKinds: kindsToProto(p.EmailKinds), Set: p.Set}
}
