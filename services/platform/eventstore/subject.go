package eventstore

import (
	"errors"
	"fmt"
	"strings"
)

// validFilter checks that filter is a NATS subject filter: non-empty tokens
// without white space, where "*" and ">" only appear as whole tokens and ">"
// only as the last one.
func validFilter(filter string) error {
	if filter == "" {
		return errors.New("eventstore: empty subject filter")
	}
	toks := strings.Split(filter, ".")
	for i, tok := range toks {
		switch {
		case tok == "*":
		case tok == ">":
			if i != len(toks)-1 {
				return fmt.Errorf("eventstore: subject filter %q: \">\" must be the last token", filter)
			}
		case tok == "" || strings.ContainsAny(tok, " \t\r\n*>"):
			return fmt.Errorf("eventstore: subject filter %q: invalid token %q", filter, tok)
		}
	}
	return nil
}

// matches reports whether the concrete subject matches the valid filter.
func matches(filter, subject string) bool {
	for {
		ftok, frest, fmore := strings.Cut(filter, ".")
		stok, srest, smore := strings.Cut(subject, ".")
		switch {
		case ftok == ">":
			return true
		case ftok != "*" && ftok != stok:
			return false
		case !fmore || !smore:
			return fmore == smore
		}
		filter, subject = frest, srest
	}
}
