// Package paging is how list calls page: a page size with a default and a
// cap, and opaque page tokens that continue a listing only with the filters
// it was made for.
package paging

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// Page sizes of the list calls.
const (
	DefaultSize = 50
	MaxSize     = 200
)

// Size reads a request's page_size: 0 means the default, larger values are
// capped, a negative one is a violation on page_size.
func Size(v *apperr.Violations, n int32) int {
	switch {
	case n < 0:
		v.Add("page_size", "must not be negative")
	case n == 0:
		return DefaultSize
	}
	return min(int(n), MaxSize)
}

// cursor is where the next page starts: after the index member After of
// a listing whose filters have the fingerprint Query. Clients see it as an
// opaque string.
type cursor struct {
	Query string `json:"q"`
	After string `json:"a"`
}

// Fingerprint identifies a listing's query by its filters, so that a token
// is only used with the filters it was made for.
func Fingerprint(filters ...string) string {
	h := fnv.New64a()
	for _, f := range filters {
		fmt.Fprintf(h, "%q;", f)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// Encode makes the token of the page that starts after the index member
// after, in the listing of fingerprint query; "" when there is no next page.
func Encode(query, after string) string {
	if after == "" {
		return ""
	}
	b, _ := json.Marshal(cursor{Query: query, After: after}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns where the page of token starts ("" from the beginning); a
// token of another listing, or of other filters, is a violation on
// page_token.
func Decode(v *apperr.Violations, token, query string) string {
	if token == "" {
		return ""
	}
	var t cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Query != query || t.After == "" {
		v.Add("page_token", "is not a next_page_token of this listing with these filters")
		return ""
	}
	return t.After
}

// All gathers every page of a listing, for clients: next fetches the page
// after token ("" for the first) and returns its items and the next page's
// token, "" after the last page. A listing that hands back a token it gave
// before is refused rather than read forever. An empty listing is an empty,
// non-nil slice (JSON "[]").
func All[T any](next func(token string) ([]T, string, error)) ([]T, error) {
	out := []T{}
	seen := map[string]bool{}
	token := ""
	for {
		items, nextToken, err := next(token)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if nextToken == "" {
			return out, nil
		}
		if seen[nextToken] {
			return nil, fmt.Errorf("paging: the listing repeats its page token %q", nextToken)
		}
		seen[nextToken] = true
		token = nextToken
	}
}
