package platform

import (
	"fmt"
	"unicode"

	"github.com/google/uuid"
)

// MaxRequestIDLength bounds idempotency keys.
const MaxRequestIDLength = 128

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
