package natsx

import (
	"fmt"
	"strings"
)

// Account names of a NATS cluster configured from the permission table.
const (
	// Account holds the avenir streams and every identity of the table.
	Account = "AVENIR"
	// SystemAccount is the NATS system account (server monitoring).
	SystemAccount = "SYS"
)

// PasswordVariable is the environment variable holding the password of
// identity in a NATS server configuration written by RenderAccounts, e.g.
// INTAKE_PASSWORD.
func PasswordVariable(identity string) string {
	return strings.ToUpper(identity) + "_PASSWORD"
}

// RenderAccounts writes the accounts of a NATS server configuration (the
// configuration file syntax): account AVENIR, with JetStream, holding one
// user per identity whose password is $<NAME>_PASSWORD and whose
// permissions are the table's, and the system account SYS with the user
// sys ($SYS_PASSWORD).
func RenderAccounts(ids []Identity) string {
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	w(0, "accounts {")
	w(1, "%s: {", Account)
	w(2, "jetstream: enabled")
	w(2, "users: [")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte('\n')
		}
		w(3, "# %s: %s.", id.Name, id.Role)
		if id.Unrestricted {
			w(3, "{ user: %s, password: $%s }", id.Name, PasswordVariable(id.Name))
			continue
		}
		w(3, "{")
		w(4, "user: %s, password: $%s", id.Name, PasswordVariable(id.Name))
		w(4, "permissions: {")
		w(5, "publish: {")
		w(6, "allow: [")
		for _, g := range id.Publish {
			w(7, "# %s", g.Why)
			for _, s := range g.Subjects {
				w(7, "%q", s)
			}
		}
		w(6, "]")
		if len(id.PublishDeny) > 0 {
			w(6, "deny: [")
			for _, s := range id.PublishDeny {
				w(7, "%q", s)
			}
			w(6, "]")
		}
		w(5, "}")
		w(5, `subscribe: { allow: [">"] }`)
		w(4, "}")
		w(3, "}")
	}
	w(2, "]")
	w(1, "}")
	w(1, "%s: {", SystemAccount)
	w(2, "users: [")
	w(3, "{ user: sys, password: $%s }", PasswordVariable("sys"))
	w(2, "]")
	w(1, "}")
	w(0, "}")
	w(0, "system_account: %s", SystemAccount)
	return b.String()
}

// Markers of the section of a NATS configuration file that RenderAccounts
// writes.
const (
	GeneratedBegin = "# BEGIN GENERATED"
	GeneratedEnd   = "# END GENERATED"
)

// ReplaceGenerated replaces the section between the GeneratedBegin and
// GeneratedEnd lines of conf (both kept) by section.
func ReplaceGenerated(conf, section string) (string, error) {
	begin := strings.Index(conf, GeneratedBegin)
	if begin < 0 {
		return "", fmt.Errorf("natsx: no %q line", GeneratedBegin)
	}
	nl := strings.IndexByte(conf[begin:], '\n')
	if nl < 0 {
		return "", fmt.Errorf("natsx: nothing after %q", GeneratedBegin)
	}
	start := begin + nl + 1
	end := strings.Index(conf[start:], GeneratedEnd)
	if end < 0 {
		return "", fmt.Errorf("natsx: no %q line after %q", GeneratedEnd, GeneratedBegin)
	}
	return conf[:start] + section + conf[start+end:], nil
}
