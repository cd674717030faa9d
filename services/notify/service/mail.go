package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Mail is one e-mail.
type Mail struct {
	To, Subject, Body string
	// MessageID is the Message-ID header, without angle brackets: derived
	// from the notification id, so that a message sent twice (a crash
	// between the server's answer and the record) is one message for the
	// mail systems that deduplicate on it.
	MessageID string
}

// Mailer sends e-mails. An error wrapping ErrRejected is final (the server
// refused the message for good); any other is worth retrying.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ErrRejected marks a message an SMTP server refused for good (a 5xx
// answer): retrying would not help.
var ErrRejected = errors.New("rejected by the mail server")

// SMTPPasswordEnv holds the SMTP password when --smtp-url has none.
const SMTPPasswordEnv = "AVENIR_SMTP_PASSWORD"

// SMTP sends e-mails through an SMTP server with the standard library's
// client: implicit TLS (smtps://, port 465 by default) or STARTTLS when
// the server offers it (smtp://, port 587 by default), PLAIN
// authentication when a user is given (the client refuses it without TLS
// but on loopback).
type SMTP struct {
	Host, Port string
	// ImplicitTLS: smtps://.
	ImplicitTLS bool
	User        string
	Password    string
	// From is the sender address.
	From string
	// Timeout bounds one message's dialogue; default 30 s.
	Timeout time.Duration
	// TLS configures TLS; default: the host's name checked against the
	// system roots.
	TLS *tls.Config
}

// ParseSMTPURL reads smtp[s]://user:pass@host:port?from=avenir@example.fr;
// password, when not empty, replaces the URL's (the environment's
// AVENIR_SMTP_PASSWORD).
func ParseSMTPURL(raw, password string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	m := &SMTP{Host: u.Hostname(), Port: u.Port()}
	switch u.Scheme {
	case "smtp":
		if m.Port == "" {
			m.Port = "587"
		}
	case "smtps":
		m.ImplicitTLS = true
		if m.Port == "" {
			m.Port = "465"
		}
	default:
		return nil, fmt.Errorf("smtp url: scheme must be smtp or smtps, got %q", u.Scheme)
	}
	if m.Host == "" {
		return nil, errors.New("smtp url: no host")
	}
	if u.User != nil {
		m.User = u.User.Username()
		m.Password, _ = u.User.Password()
	}
	if password != "" {
		m.Password = password
	}
	m.From = u.Query().Get("from")
	if a, err := mail.ParseAddress(m.From); err != nil || a.Address != m.From {
		return nil, errors.New("smtp url: ?from= must be the sender's address (avenir@example.fr)")
	}
	return m, nil
}

// String describes the server without the password.
func (m *SMTP) String() string {
	scheme := "smtp"
	if m.ImplicitTLS {
		scheme = "smtps"
	}
	return fmt.Sprintf("%s://%s from %s", scheme, net.JoinHostPort(m.Host, m.Port), m.From)
}

// Send implements Mailer.
func (m *SMTP) Send(ctx context.Context, msg Mail) (err error) {
	timeout := m.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(m.Host, m.Port)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	tlsConf := m.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: m.Host, MinVersion: tls.VersionTLS12}
	}
	if m.ImplicitTLS {
		conn = tls.Client(conn, tlsConf)
	}
	c, err := smtp.NewClient(conn, m.Host)
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	if !m.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return classify(err)
			}
		}
	}
	if m.User != "" {
		if err := c.Auth(smtp.PlainAuth("", m.User, m.Password, m.Host)); err != nil {
			return classify(err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return classify(err)
	}
	if err := c.Rcpt(msg.To); err != nil {
		return classify(err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(m.message(msg)); err != nil {
		return classify(err)
	}
	if err := w.Close(); err != nil {
		return classify(err)
	}
	// The message is accepted: a failing QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// message builds the RFC 5322 message: UTF-8 text, quoted-printable.
func (m *SMTP) message(msg Mail) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", m.From)
	h("To", msg.To)
	h("Subject", mime.QEncoding.Encode("utf-8", msg.Subject))
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+msg.MessageID+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(msg.Body, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// classify marks a permanent SMTP refusal (5xx) as ErrRejected.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("smtp: %w: %w", ErrRejected, err)
	}
	return fmt.Errorf("smtp: %w", err)
}

// messageID is the Message-ID of a notification's e-mail.
func messageID(notificationID, from string) string {
	domain := "avenir.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = d
	}
	return "notification." + notificationID + "@" + domain
}
