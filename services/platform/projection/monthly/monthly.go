// Package monthly stores one value per territory and month in a projection:
// the buckets behind the funders' monthly figures. Reading a year of a
// territory reads twelve values, whatever the number of learners.
//
// Keys are month:<territory>/<YYYY-MM>; the index "months" lists the
// members <territory>/<YYYY-MM> in territory then month order.
package monthly

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Index lists the buckets of a projection.
const Index = "months"

// Member names the bucket of territory and month.
func Member(territory string, m civil.Month) string { return territory + "/" + m.String() }

// Key is the projection key of a bucket member.
func Key(member string) string { return "month:" + member }

// Parse splits a member into its territory and month.
func Parse(member string) (string, civil.Month, bool) {
	territory, month, ok := strings.Cut(member, "/")
	if !ok {
		return "", civil.Month{}, false
	}
	m, err := civil.ParseMonth(month)
	return territory, m, err == nil
}

// Get returns the stored value of a bucket, nil when it has none yet.
func Get(ctx context.Context, store projection.Store, proj, member string) ([]byte, error) {
	b, err := store.Get(ctx, proj, Key(member))
	if errors.Is(err, projection.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// Put writes a bucket's value and indexes it.
func Put(member string, value []byte) []projection.Op {
	return []projection.Op{projection.Put(Key(member), value), projection.IndexAdd(Index, member)}
}

// Load reads the buckets of the territories whose members start with one
// of prefixes ("" for every territory, "T05/" for one), for the months
// from..to (a zero from: since the first), by territory and month.
func Load(ctx context.Context, store projection.Store, proj string, prefixes []string, from, to civil.Month) (map[string]map[civil.Month][]byte, error) {
	var members []string
	for _, prefix := range prefixes {
		after := ""
		for {
			page, err := store.Range(ctx, proj, Index, projection.RangeQuery{Prefix: prefix, After: after, Limit: projection.MaxRangeLimit})
			if err != nil {
				return nil, err
			}
			for _, m := range page {
				if _, month, ok := Parse(m); ok && month.Compare(to) <= 0 && (from == civil.Month{} || month.Compare(from) >= 0) {
					members = append(members, m)
				}
			}
			if len(page) < projection.MaxRangeLimit {
				break
			}
			after = page[len(page)-1]
		}
	}
	out := map[string]map[civil.Month][]byte{}
	for chunk := range slices.Chunk(members, projection.MaxRangeLimit) {
		keys := make([]string, len(chunk))
		for i, m := range chunk {
			keys[i] = Key(m)
		}
		values, err := store.GetMany(ctx, proj, keys)
		if err != nil {
			return nil, err
		}
		for i, b := range values {
			if b == nil {
				continue
			}
			territory, month, _ := Parse(chunk[i])
			if out[territory] == nil {
				out[territory] = map[civil.Month][]byte{}
			}
			out[territory][month] = b
		}
	}
	return out, nil
}
