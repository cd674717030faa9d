package service

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// Page sizes of the list calls.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// pageSize reads a request's page_size: 0 means the default, larger values
// are capped.
func pageSize(v *apperr.Violations, n int32) int {
	switch {
	case n < 0:
		v.Add("page_size", "must not be negative")
	case n == 0:
		return defaultPageSize
	}
	return min(int(n), maxPageSize)
}

// pageToken is where the next page starts: after the index member After of
// a listing whose filters have the fingerprint Query. Clients see it as an
// opaque string.
type pageToken struct {
	Query string `json:"q"`
	After string `json:"a"`
}

// fingerprint identifies a listing's query by its filters, so that a token
// is only used with the filters it was made for.
func fingerprint(filters ...string) string {
	h := fnv.New64a()
	for _, f := range filters {
		fmt.Fprintf(h, "%q;", f)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func encodePageToken(query, after string) string {
	if after == "" {
		return ""
	}
	b, _ := json.Marshal(pageToken{Query: query, After: after}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken returns where the page starts ("" from the beginning).
func decodePageToken(v *apperr.Violations, token, query string) string {
	if token == "" {
		return ""
	}
	var t pageToken
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
