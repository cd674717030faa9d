package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	"github.com/avenir-normandie/avenir/services/needs/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projection/monthly"
)

// Frozen months (docs/adr/0065-erasure-retention-and-access.md). The
// summary of a month counts what the analyses completed in it say; those
// analyses' contents are personal data, which an erasure destroys, and a
// read model rebuilt after it would count them empty. So each month is
// frozen as anonymous exact counts once every fact of it is recorded: from
// the first day of the month after next (the services' clock), a job
// appends SummaryFrozen on avenir.needs.statistics.<YYYY-MM>.frozen with
// the month's buckets as GetAnalysisSummary reads them that day, with an
// expected last subject sequence of 0, so each month is frozen once
// whatever the number of replicas. Every month from the first with a
// completed analysis is frozen, empty ones too, so that "frozen" is a fact
// intake can read before it erases anyone.
//
// The summary reads frozen months from these events (frozen:<YYYY-MM> in
// the analyses read model) and later months live. A frozen month never
// changes again: a revision completed later of an analysis completed in it
// counts in its own month, and what the revised version counted stays in
// the frozen month (its live bucket, no longer read, still withdraws it).

// statisticsPrefix begins the subjects of the months frozen:
// avenir.needs.statistics.<YYYY-MM>.frozen.
const statisticsPrefix = "avenir.needs.statistics."

func frozenSubject(m civil.Month) string { return statisticsPrefix + m.String() + ".frozen" }

// Keys of the analyses read model (analyses.go lists them).
const firstCompletedKey = "first-completed"

func frozenKey(m civil.Month) string { return "frozen:" + m.String() }

// storedFrozen is a month's SummaryFrozen as the read model keeps it: the
// exact counts of each territory.
type storedFrozen struct {
	Territories map[string]storedBucket `json:"territories,omitempty"`
}

// freezeCatchUp bounds the wait of a freeze for the analyses read model to
// reach the end of NEEDS.
const freezeCatchUp = 10 * time.Second

// firstCompleted is the month of the first completion, zero when none.
func (s *Service) firstCompleted(ctx context.Context) (civil.Month, error) {
	b, err := s.store.Get(ctx, analysesProjection, firstCompletedKey)
	if errors.Is(err, projection.ErrNotFound) {
		return civil.Month{}, nil
	}
	if err != nil {
		return civil.Month{}, err
	}
	m, err := civil.ParseMonth(string(b))
	if err != nil {
		return civil.Month{}, fmt.Errorf("needs: stored %s %q: %w", firstCompletedKey, b, err)
	}
	return m, nil
}

// projectFrozen keeps a month's frozen counts.
func projectFrozen(m *needsv1.SummaryFrozen) ([]projection.Op, error) {
	month := civilpb.Month(m.GetMonth())
	if !month.Valid() {
		return nil, nil
	}
	f := storedFrozen{Territories: map[string]storedBucket{}}
	for _, t := range m.GetTerritories() {
		f.Territories[t.GetTerritoryCode()] = bucketOfTally(t)
	}
	op, err := projection.PutJSON(frozenKey(month), f)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

// FreezeSummaries freezes the summary of every month due and not frozen
// yet, in order: from the first month with a completed analysis to the
// month before last (the services' clock). It runs as the job
// "needs-freeze-summary"; running it twice, or on two replicas at once,
// freezes each month once.
func (s *Service) FreezeSummaries(ctx context.Context) error {
	first, err := s.firstCompleted(ctx)
	if err != nil || first == (civil.Month{}) {
		return err
	}
	today := s.deps.Today()
	current := civil.MonthOf(today)
	var due []civil.Month
	for m := first; m.Next().Next().Compare(current) <= 0; m = m.Next() {
		due = append(due, m)
	}
	if len(due) == 0 {
		return nil
	}
	frozen, err := s.frozen(ctx, due)
	if err != nil {
		return err
	}
	due = slices.DeleteFunc(due, func(m civil.Month) bool { _, ok := frozen[m]; return ok })
	if len(due) == 0 {
		return nil
	}
	// The buckets must hold every completion and revision stored so far.
	if err := s.caughtUp(ctx); err != nil {
		return err
	}
	for _, m := range due {
		if err := s.freeze(ctx, m, today); err != nil {
			return err
		}
	}
	return nil
}

// freeze appends the frozen summary of month m from its live buckets,
// unless another run froze it first.
func (s *Service) freeze(ctx context.Context, m civil.Month, today civil.Date) error {
	buckets, err := monthly.Load[storedBucket](ctx, s.store, analysesProjection, []string{""}, m, m)
	if err != nil {
		return err
	}
	msg := &needsv1.SummaryFrozen{Month: civilpb.FromMonth(m), FrozenOn: civilpb.FromDate(today)}
	for _, t := range slices.Sorted(maps.Keys(buckets)) {
		msg.Territories = append(msg.Territories, tallyOf(t, buckets[t][m]))
	}
	subject := frozenSubject(m)
	cmd := eventstore.Command{RequestID: "freeze/" + m.String(), Actor: "service:" + Name, Time: s.deps.Now()}
	_, err = s.analyses.Store().Append(ctx, Stream, subject, 0, cmd, event.Draft{Subject: subject, AggregateID: m.String(), Data: msg})
	if errors.Is(err, eventstore.ErrConflict) {
		return nil // frozen by another run
	}
	if err != nil {
		return fmt.Errorf("needs: freeze the summary of %s: %w", m, err)
	}
	s.log.InfoContext(ctx, "summary frozen", "month", m.String(), "territories", len(msg.Territories))
	return nil
}

// caughtUp waits until the analyses read model has applied every NEEDS
// event stored when it is called.
func (s *Service) caughtUp(ctx context.Context) error {
	st, err := s.deps.JS.Stream(ctx, Stream)
	if err != nil {
		return fmt.Errorf("needs: stream %s: %w", Stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("needs: stream %s: %w", Stream, err)
	}
	if err := projection.WaitApplied(ctx, s.store, analysesProjection, info.State.LastSeq, freezeCatchUp); err != nil {
		return fmt.Errorf("needs: the analyses read model is behind %s, the freeze waits: %w", Stream, err)
	}
	return nil
}

// frozen reads the frozen counts of the months given that are frozen.
func (s *Service) frozen(ctx context.Context, months []civil.Month) (map[civil.Month]storedFrozen, error) {
	keys := make([]string, len(months))
	for i, m := range months {
		keys[i] = frozenKey(m)
	}
	values, err := projection.GetManyJSON[storedFrozen](ctx, s.store, analysesProjection, keys)
	if err != nil {
		return nil, err
	}
	out := map[civil.Month]storedFrozen{}
	for i, v := range values {
		if v != nil {
			out[months[i]] = *v
		}
	}
	return out, nil
}

// withFrozen replaces, in the live buckets of the territories under
// prefixes, the months from..to that are frozen by their frozen counts.
// A territory left without a bucket in the period is dropped.
func (s *Service) withFrozen(ctx context.Context, live map[string]map[civil.Month]domain.Bucket, prefixes []string, from, to civil.Month) error {
	var months []civil.Month
	for m := from; m.Compare(to) <= 0; m = m.Next() {
		months = append(months, m)
	}
	frozen, err := s.frozen(ctx, months)
	if err != nil {
		return err
	}
	for m, f := range frozen {
		for _, buckets := range live {
			delete(buckets, m)
		}
		for t, sb := range f.Territories {
			if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(t+"/", p) }) {
				continue
			}
			if live[t] == nil {
				live[t] = map[civil.Month]domain.Bucket{}
			}
			live[t][m] = sb.bucket()
		}
	}
	maps.DeleteFunc(live, func(_ string, buckets map[civil.Month]domain.Bucket) bool { return len(buckets) == 0 })
	return nil
}

// tallyOf is a territory's bucket as frozen: barriers in the order of
// domain.BarrierKinds (that of BarrierKind), trades by code.
func tallyOf(territory string, b storedBucket) *needsv1.SummaryTally {
	t := &needsv1.SummaryTally{TerritoryCode: territory, FirstVersions: int32(b.Completed), Revisions: int32(b.Revisions)}
	for _, k := range domain.BarrierKinds {
		if n := b.Barriers[k]; n > 0 {
			t.Barriers = append(t.Barriers, &needsv1.BarrierTally{Kind: barrierKinds[k], Count: int32(n)})
		}
	}
	for _, code := range slices.Sorted(maps.Keys(b.Trades)) {
		if n := b.Trades[code]; n > 0 {
			t.Trades = append(t.Trades, &needsv1.TradeTally{RomeCode: code, Count: int32(n)})
		}
	}
	return t
}

// bucketOfTally is the inverse of tallyOf; a barrier of a kind this version
// does not know is left out, as the live summary would.
func bucketOfTally(t *needsv1.SummaryTally) storedBucket {
	b := storedBucket{Completed: int(t.GetFirstVersions()), Revisions: int(t.GetRevisions())}
	for _, bt := range t.GetBarriers() {
		k := platform.FromWire(barrierKinds, bt.GetKind())
		if k == "" || bt.GetCount() <= 0 {
			continue
		}
		if b.Barriers == nil {
			b.Barriers = map[domain.BarrierKind]int{}
		}
		b.Barriers[k] += int(bt.GetCount())
	}
	for _, tt := range t.GetTrades() {
		if tt.GetCount() <= 0 {
			continue
		}
		if b.Trades == nil {
			b.Trades = map[string]int{}
		}
		b.Trades[tt.GetRomeCode()] += int(tt.GetCount())
	}
	return b
}
