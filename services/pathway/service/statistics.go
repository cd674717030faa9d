package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/pathway/domain"
	"github.com/avenir-normandie/avenir/services/platform"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/eventstore"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Breakdowns frozen by month (docs/adr/0065-erasure-retention-and-access.md):
// the breakdowns count what intake recorded of each learner entering the
// pathway, personal data that erasure destroys. Once every entry of a month
// is recorded (domain.FreezeDay), a job counts the month's entries as
// GetBreakdowns counts them and appends the exact counts per territory,
// BreakdownsFrozen, on avenir.pathway.statistics.<YYYY-MM>.frozen; from
// then on GetBreakdowns reads the month from that event, never from the
// learners again, so erasing a learner changes no published figure.
//
// The frozen months read model (frozenProjection), from PATHWAY:
//
//	month:<YYYY-MM>   the BreakdownsFrozen event, protobuf
//	index months      <YYYY-MM>, one per frozen month
const (
	frozenProjection = "pathway-frozen-breakdowns"
	frozenIndex      = "months"
	// DefaultFreezeEvery is how often the freezing job runs when
	// Config.FreezeEvery does not say.
	DefaultFreezeEvery = 30 * time.Second
	freezeJob          = "pathway-freeze-breakdowns"
)

var frozenSubjects = []string{"avenir.pathway.statistics.*.frozen"}

func frozenKey(m civil.Month) string { return "month:" + m.String() }

// frozenSubject is the subject of the frozen breakdowns of month m.
func frozenSubject(m civil.Month) string {
	return "avenir.pathway.statistics." + m.String() + ".frozen"
}

// projectFrozen keeps each month's frozen breakdowns; the first event of a
// month is its counts (the job appends one only, but should another come,
// it changes nothing).
func (s *Service) projectFrozen(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	m, ok := ev.Data.(*pathwayv1.BreakdownsFrozen)
	if !ok {
		return nil, nil
	}
	month := civilpb.Month(m.GetMonth())
	if !month.Valid() {
		return nil, nil
	}
	if _, err := s.store.Get(ctx, frozenProjection, frozenKey(month)); err == nil {
		return nil, nil
	} else if !errors.Is(err, projection.ErrNotFound) {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	return []projection.Op{projection.Put(frozenKey(month), b), projection.IndexAdd(frozenIndex, month.String())}, nil
}

// frozenMonths reads the frozen breakdowns of the months from..to.
func (s *Service) frozenMonths(ctx context.Context, from, to civil.Month) (map[civil.Month]*pathwayv1.BreakdownsFrozen, error) {
	var months []civil.Month
	first, last := from.String(), to.String()
	err := projection.Scan(ctx, s.store, frozenProjection, frozenIndex, projection.RangeQuery{Limit: projection.MaxRangeLimit},
		func(members []string) (bool, error) {
			for _, m := range members {
				if m > last {
					return false, nil
				}
				if month, err := civil.ParseMonth(m); err == nil && m >= first {
					months = append(months, month)
				}
			}
			return true, nil
		})
	if err != nil || len(months) == 0 {
		return nil, err
	}
	keys := make([]string, len(months))
	for i, m := range months {
		keys[i] = frozenKey(m)
	}
	values, err := s.store.GetMany(ctx, frozenProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[civil.Month]*pathwayv1.BreakdownsFrozen, len(months))
	for i, b := range values {
		if b == nil {
			continue
		}
		var f pathwayv1.BreakdownsFrozen
		if err := proto.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("pathway: frozen breakdowns of %s: %w", months[i], err)
		}
		out[months[i]] = &f
	}
	return out, nil
}

// entryFacts are the episodes entered in the months from..to but those of
// skip, in the territories keep keeps, each with what intake recorded of
// its learner on the entry date (the learners read model).
func (s *Service) entryFacts(ctx context.Context, from, to civil.Month, skip map[civil.Month]*pathwayv1.BreakdownsFrozen,
	keep func(territory string) bool) ([]domain.EntryFact, error) {
	tails, err := s.scanTailsExcept(ctx, episodesProjection, enteredIndex, from, to, func(month string) bool {
		m, err := civil.ParseMonth(month)
		return err == nil && skip[m] != nil
	})
	if err != nil {
		return nil, err
	}
	eps, err := s.episodes(ctx, tails)
	if err != nil {
		return nil, err
	}
	kept := eps[:0]
	for _, se := range eps {
		if keep(se.Territory) {
			kept = append(kept, se)
		}
	}
	ids := make([]string, len(kept))
	for i, se := range kept {
		ids[i] = se.Learner
	}
	ls, err := s.learners(ctx, ids)
	if err != nil {
		return nil, err
	}
	entries := make([]domain.EntryFact, len(kept))
	for i, se := range kept {
		entries[i] = domain.EntryOf(ls[i], se.Territory, textDate(se.Entry))
	}
	return entries, nil
}

// frozenRows are the counts of the frozen months, one row per month and
// territory keep keeps.
func frozenRows(frozen map[civil.Month]*pathwayv1.BreakdownsFrozen, keep func(territory string) bool) []domain.BreakdownRow {
	var rows []domain.BreakdownRow
	for _, f := range frozen {
		for _, t := range f.GetTerritories() {
			if keep(t.GetTerritoryCode()) {
				rows = append(rows, rowOf(t))
			}
		}
	}
	return rows
}

// rowOf reads a territory's frozen counts; the learners whose age or level
// was unknown count in the entries only, as live.
func rowOf(t *pathwayv1.TerritoryTally) domain.BreakdownRow {
	r := domain.NewBreakdownRow(t.GetTerritoryCode())
	r.Entries, r.RQTH, r.QPV, r.ZRR, r.RSA = int(t.GetEntries()), int(t.GetRqth()), int(t.GetQpv()), int(t.GetZrr()), int(t.GetRsa())
	for _, b := range t.GetAgeBands() {
		if band := platform.FromWire(ageBands, b.GetBand()); band != domain.AgeUnknown {
			r.Bands[band] += int(b.GetCount())
		}
	}
	for _, l := range t.GetEducationLevels() {
		if level := platform.FromWire(educationLevels, l.GetLevel()); level != domain.EducationUnknown {
			r.Education[level] += int(l.GetCount())
		}
	}
	return r
}

// tallyOf is the frozen form of a territory's exact counts.
func tallyOf(r domain.BreakdownRow) *pathwayv1.TerritoryTally {
	t := &pathwayv1.TerritoryTally{
		TerritoryCode: r.Territory, Entries: int32(r.Entries),
		Rqth: int32(r.RQTH), Qpv: int32(r.QPV), Zrr: int32(r.ZRR), Rsa: int32(r.RSA),
	}
	if n := r.UnknownBand(); n > 0 {
		t.AgeBands = append(t.AgeBands, &pathwayv1.AgeBandTally{Band: pathwayv1.AgeBand_AGE_BAND_UNSPECIFIED, Count: int32(n)})
	}
	for _, b := range domain.AgeBands {
		if n := r.Bands[b]; n > 0 {
			t.AgeBands = append(t.AgeBands, &pathwayv1.AgeBandTally{Band: ageBands[b], Count: int32(n)})
		}
	}
	if n := r.UnknownEducation(); n > 0 {
		t.EducationLevels = append(t.EducationLevels, &pathwayv1.EducationLevelTally{Level: intakev1.EducationLevel_EDUCATION_LEVEL_UNSPECIFIED, Count: int32(n)})
	}
	for _, l := range domain.EducationLevels {
		if n := r.Education[l]; n > 0 {
			t.EducationLevels = append(t.EducationLevels, &pathwayv1.EducationLevelTally{Level: educationLevels[l], Count: int32(n)})
		}
	}
	return t
}

func everyTerritory(string) bool { return true }

// FreezeBreakdowns freezes the breakdowns of every month whose freeze day
// (domain.FreezeDay) has come on the services' clock and that is not
// frozen yet, from the month of the first entry on; a month without
// entries gets empty counts, so that its being frozen is a fact others
// read (intake, before it erases a learner). Each month is appended once
// (expected last subject sequence 0): a replica that froze it first wins,
// with the same counts. It is the job of Wiring; tests call it directly.
func (s *Service) FreezeBreakdowns(ctx context.Context) error {
	first, ok, err := s.firstEntryMonth(ctx)
	if err != nil || !ok {
		return err
	}
	today := s.deps.Today()
	last := domain.LastFrozenMonth(today)
	if last.Compare(first) < 0 {
		return nil
	}
	frozen, err := s.frozenMonths(ctx, first, last)
	if err != nil {
		return err
	}
	checked := false
	for m := first; m.Compare(last) <= 0; m = m.Next() {
		if frozen[m] != nil {
			continue
		}
		if !checked {
			// The counts are final only over read models that hold every
			// entry recorded before the freeze day, and every situation.
			if err := s.readModelsHold(ctx); err != nil {
				return err
			}
			checked = true
		}
		if err := s.freeze(ctx, m, today); err != nil {
			return fmt.Errorf("pathway: freeze the breakdowns of %s: %w", m, err)
		}
	}
	return nil
}

// readModelsHold waits until the read models the breakdowns read hold
// every event of their streams stored when it is called (at most
// catchUpWait): an entry recorded just before a month's freeze day is
// counted in it. Those stored later cannot be of a month due (the domain
// refuses entries in months whose freeze day has come).
func (s *Service) readModelsHold(ctx context.Context) error {
	for _, rm := range []struct {
		name, stream string
		filters      []string
	}{
		{episodesProjection, Stream, []string{"avenir.pathway.pathway.*.entered"}},
		{learnersProjection, intakeStream, learnerSubjects},
	} {
		st, err := s.deps.JS.Stream(ctx, rm.stream)
		if err != nil {
			return fmt.Errorf("pathway: stream %s: %w", rm.stream, err)
		}
		var last uint64
		for _, f := range rm.filters {
			msg, err := st.GetLastMsgForSubject(ctx, f)
			switch {
			case errors.Is(err, jetstream.ErrMsgNotFound):
			case err != nil:
				return fmt.Errorf("pathway: last event of %s: %w", f, err)
			default:
				last = max(last, msg.Sequence)
			}
		}
		deadline := time.Now().Add(catchUpWait)
		for {
			done, err := s.store.Checkpoint(ctx, rm.name)
			if err != nil {
				return err
			}
			if done >= last {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("pathway: read model %s is at sequence %d of %s, not yet %d: freezing at the next run", rm.name, done, rm.stream, last)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// catchUpWait bounds how long the freezing job waits for the read models.
const catchUpWait = 10 * time.Second

// firstEntryMonth is the month of the earliest entry the episodes read
// model holds; false when there is none.
func (s *Service) firstEntryMonth(ctx context.Context) (civil.Month, bool, error) {
	members, err := s.store.Range(ctx, episodesProjection, enteredIndex, projection.RangeQuery{Limit: 1})
	if err != nil || len(members) == 0 {
		return civil.Month{}, false, err
	}
	month, _, _ := strings.Cut(members[0], "/")
	m, err := civil.ParseMonth(month)
	if err != nil {
		return civil.Month{}, false, fmt.Errorf("pathway: entered index member %q: %w", members[0], err)
	}
	return m, true, nil
}

// freeze counts the entries of month m and appends its frozen breakdowns,
// unless another run did.
func (s *Service) freeze(ctx context.Context, m civil.Month, today civil.Date) error {
	entries, err := s.entryFacts(ctx, m, m, nil, everyTerritory)
	if err != nil {
		return err
	}
	rows, _ := domain.BreakdownReport(entries, nil)
	msg := &pathwayv1.BreakdownsFrozen{Month: civilpb.FromMonth(m), FrozenOn: civilpb.FromDate(today)}
	for _, r := range rows {
		msg.Territories = append(msg.Territories, tallyOf(r))
	}
	subject := frozenSubject(m)
	_, err = s.pathways.Store().Append(ctx, Stream, subject, 0,
		// One request id per month: a concurrent run's append is the same
		// message, which the stream stores once.
		eventstore.Command{RequestID: "freeze-breakdowns-" + m.String(), Actor: "service:" + Name, Time: s.deps.Now()},
		event.Draft{Subject: subject, AggregateID: m.String(), Data: msg})
	if errors.Is(err, eventstore.ErrConflict) {
		return nil // frozen already, by another replica or an earlier run
	}
	if err == nil {
		s.log.InfoContext(ctx, "breakdowns frozen", "month", m.String(), "territories", len(msg.Territories))
	}
	return err
}
