// Package ident checks the identifiers requests carry: idempotency keys,
// aggregate ids (UUIDs), territory codes and the codes of external parties
// (operators, sessions). One rule each, shared by every service and by the
// token verifier, so that an identifier valid in one place is valid in all.
// It is pure: domain packages may use it.
package ident

import (
	"fmt"
	"regexp"
	"unicode"

	"github.com/google/uuid"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// MaxRequestIDLength bounds idempotency keys.
const MaxRequestIDLength = 128

// MaxCodeLength bounds the codes of external parties.
const MaxCodeLength = 64

// CheckRequestID validates a command's idempotency key: 1 to 128 printable
// characters without spaces. It returns a description of the problem, or "".
func CheckRequestID(id string) string {
	switch {
	case id == "":
		return "is required (an idempotency key chosen by the caller, e.g. a UUID)"
	case len(id) > MaxRequestIDLength:
		return fmt.Sprintf("must be at most %d bytes", MaxRequestIDLength)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return "must be printable characters without spaces"
		}
	}
	return ""
}

// CheckID validates an aggregate identifier: the canonical lowercase UUID
// form avenir assigns. It returns a description of the problem, or "".
func CheckID(id string) string {
	if id == "" {
		return "is required"
	}
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return "must be a UUID in canonical lowercase form"
	}
	return ""
}

var territoryCode = regexp.MustCompile(`^T[0-9]{2}$`)

// CheckTerritory validates a territory code: T followed by two digits
// (T01..T18 in Normandy; the list itself is intake's reference data). It
// returns a description of the problem, or "".
func CheckTerritory(code string) string {
	switch {
	case code == "":
		return "is required"
	case !territoryCode.MatchString(code):
		return fmt.Sprintf("%q is not a territory code: T followed by two digits, such as T05", code)
	}
	return ""
}

// CheckCode validates the code of an external party (an operator, a group
// session of an operator): 1 to 64 ASCII letters, digits, dashes or
// underscores, so that it can name keys and subjects. It returns a
// description of the problem, or "".
func CheckCode(code string) string {
	if code == "" {
		return "is required"
	}
	if len(code) > MaxCodeLength {
		return fmt.Sprintf("must be at most %d characters", MaxCodeLength)
	}
	for _, c := range code {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "must be ASCII letters, digits, dashes or underscores"
		}
	}
	return ""
}

// RequestID records on v the problem of a command's request id, as field
// "request_id".
func RequestID(v *apperr.Violations, requestID string) {
	add(v, "request_id", CheckRequestID(requestID))
}

// ID records on v the problem of the id in field.
func ID(v *apperr.Violations, field, id string) { add(v, field, CheckID(id)) }

// OptionalID records on v the problem of the id in field, when one is given.
func OptionalID(v *apperr.Violations, field, id string) {
	if id != "" {
		ID(v, field, id)
	}
}

// Territory records on v the problem of the territory code in field.
func Territory(v *apperr.Violations, field, code string) { add(v, field, CheckTerritory(code)) }

// OptionalTerritory records on v the problem of the territory code in field
// (a filter, say), when one is given.
func OptionalTerritory(v *apperr.Violations, field, code string) {
	if code != "" {
		Territory(v, field, code)
	}
}

// Code records on v the problem of the code in field.
func Code(v *apperr.Violations, field, code string) { add(v, field, CheckCode(code)) }

// OptionalCode records on v the problem of the code in field, when one is
// given.
func OptionalCode(v *apperr.Violations, field, code string) {
	if code != "" {
		Code(v, field, code)
	}
}

// add records problem on v for field, unless there is none.
func add(v *apperr.Violations, field, problem string) {
	if problem != "" {
		v.Add(field, problem)
	}
}
