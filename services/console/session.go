package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/avenir-normandie/avenir/services/platform/auth"
)

// Session lifetimes: a session ends after IdleTimeout without a request,
// after MaxSessionAge in any case, and when its access token expires.
const (
	DefaultIdleTimeout = 30 * time.Minute
	MaxSessionAge      = 10 * time.Hour
	// loginTimeout bounds the time between the start of a login and its end.
	loginTimeout = 10 * time.Minute
)

// session is one signed-in person: the access token the console calls the
// API with, the principal it was verified to, and the token that every form
// of the session carries (CSRF).
type session struct {
	id        string
	token     string
	principal auth.Principal
	csrf      string
	expires   time.Time // absolute end: token expiry or MaxSessionAge
	lastSeen  time.Time
	// endSession is the identity provider's logout address, if any.
	endSession string

	mu    sync.Mutex
	flash string // a message for the next page
}

// sessions keeps the sessions of this console process in memory: a restart
// signs everyone out, and several replicas need sticky sessions (ADR 0068).
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	idle time.Duration
	now  func() time.Time
}

func newSessions(idle time.Duration, now func() time.Time) *sessions {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	return &sessions{byID: map[string]*session{}, idle: idle, now: now}
}

// create opens a session for a verified token.
func (s *sessions) create(token string, p auth.Principal, expires time.Time) *session {
	now := s.now()
	if limit := now.Add(MaxSessionAge); expires.IsZero() || expires.After(limit) {
		expires = limit
	}
	sess := &session{id: randomToken(), token: token, principal: p, csrf: randomToken(), expires: expires, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.byID[sess.id] = sess
	return sess
}

// get returns the live session of id and records the activity; nil when it
// is unknown or expired (and then forgotten).
func (s *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[id]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.expires) || now.Sub(sess.lastSeen) >= s.idle {
		delete(s.byID, id)
		return nil
	}
	sess.lastSeen = now
	return sess
}

// end forgets a session (logout).
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// sweepLocked forgets expired sessions; called on each creation, so the
// map stays bounded by the sessions of the last idle period.
func (s *sessions) sweepLocked(now time.Time) {
	for id, sess := range s.byID {
		if !now.Before(sess.expires) || now.Sub(sess.lastSeen) >= s.idle {
			delete(s.byID, id)
		}
	}
}

// randomToken is 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares two secrets in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// cookies names and writes the console's cookies: __Host- prefixed and
// Secure over HTTPS, plain names on a loopback HTTP address (dev).
type cookies struct{ secure bool }

func (c cookies) name(base string) string {
	if c.secure {
		return "__Host-" + base
	}
	return base
}

func (c cookies) set(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: c.name(base), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (c cookies) clear(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{
		Name: c.name(base), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (c cookies) get(r *http.Request, base string) string {
	ck, err := r.Cookie(c.name(base))
	if err != nil {
		return ""
	}
	return ck.Value
}

// setFlash keeps a message for the next page of the session (after a
// redirection).
func (s *session) setFlash(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flash = msg
}

// takeFlash returns the kept message, once.
func (s *session) takeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := s.flash
	s.flash = ""
	return msg
}
