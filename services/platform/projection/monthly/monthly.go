// Package monthly stores one value per territory and month in a projection:
// the buckets behind the funders' monthly figures. Reading a year of a
// territory reads twelve values, whatever the number of learners.
//
// Keys are month:<territory>/<YYYY-MM>; the index "months" lists the
// members <territory>/<YYYY-MM> in territory then month order.
package monthly

import (
	"context"
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

// Get returns the stored value of a bucket, as JSON, the zero value when it
// has none yet.
func Get[T any](ctx context.Context, store projection.Store, proj, member string) (T, error) {
	v, _, err := projection.GetJSON[T](ctx, store, proj, Key(member))
	return v, err
}

// Put writes a bucket's value, as JSON, and indexes it.
func Put(member string, value any) ([]projection.Op, error) {
	op, err := projection.PutJSON(Key(member), value)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op, projection.IndexAdd(Index, member)}, nil
}

// Load reads the buckets of the territories whose members start with one
// of prefixes ("" for every territory, "T05/" for one), for the months
// from..to (a zero from: since the first), by territory and month.
func Load[T any](ctx context.Context, store projection.Store, proj string, prefixes []string, from, to civil.Month) (map[string]map[civil.Month]T, error) {
	var members []string
	for _, prefix := range prefixes {
		err := projection.Scan(ctx, store, proj, Index, projection.RangeQuery{Prefix: prefix, Limit: projection.MaxRangeLimit}, func(page []string) (bool, error) {
			for _, m := range page {
				if _, month, ok := Parse(m); ok && month.Compare(to) <= 0 && (from == civil.Month{} || month.Compare(from) >= 0) {
					members = append(members, m)
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := map[string]map[civil.Month]T{}
	for chunk := range slices.Chunk(members, projection.MaxRangeLimit) {
		keys := make([]string, len(chunk))
		for i, m := range chunk {
			keys[i] = Key(m)
		}
		values, err := projection.GetManyJSON[T](ctx, store, proj, keys)
		if err != nil {
			return nil, err
		}
		for i, v := range values {
			if v == nil {
				continue
			}
			territory, month, _ := Parse(chunk[i])
			if out[territory] == nil {
				out[territory] = map[civil.Month]T{}
			}
			out[territory][month] = *v
		}
	}
	return out, nil
}
