package service

import (
	"context"
	"slices"
	"strconv"

	pathwaycontract "github.com/avenir-normandie/avenir/proto/contract/pathway"
	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
	"github.com/avenir-normandie/avenir/services/platform/projector"
)

// The facts of other contexts that hold an erasure back (domain.
// ErasureBlocker) and date the retention (domain.RetentionBasis), each in a
// read model of intake's, projected from the generated messages of the
// publishing context:
//
//	intake-episodes (PATHWAY)
//	  value  episodes:<learner>   the learner's episodes: entry and exit days by number
//	  index  frozen               "YYYY-MM": months whose breakdowns are frozen (BreakdownsFrozen)
//	intake-analyses (NEEDS)
//	  value  completions:<learner> the months in which analyses of the learner were completed
//	  index  frozen               "YYYY-MM": months whose needs summary is frozen (SummaryFrozen)
//	intake-lines (FUNDING)
//	  value  lines:<learner>      the statements (contract, billing period) billing lines of the learner
//	  value  closed:<contract>:<YYYY-MM>  the statement is closed (StatementClosed)
//
// Lines are trainee hours (reported, corrected, flagged: a flag bills a
// reversal or an anomaly on its period), group hours (each attendee) and
// flat fees.
const (
	episodesProjection = "intake-episodes"
	analysesProjection = "intake-analyses"
	linesProjection    = "intake-lines"
	frozenIndex        = "frozen"

	needsStream   = "NEEDS"
	fundingStream = "FUNDING"
)

func episodesKey(learnerID string) string    { return "episodes:" + learnerID }
func completionsKey(learnerID string) string { return "completions:" + learnerID }
func linesKey(learnerID string) string       { return "lines:" + learnerID }
func closedKey(contract string, period civil.Month) string {
	return "closed:" + contract + ":" + period.String()
}

// storedEpisodes is the value of episodesKey: the episodes by number.
type storedEpisodes map[string]storedEpisode

type storedEpisode struct {
	Entry string `json:"entry,omitempty"` // YYYY-MM-DD
	Exit  string `json:"exit,omitempty"`  // YYYY-MM-DD; "" while open
}

// storedLines is the value of linesKey: billing periods (YYYY-MM) by
// contract.
type storedLines map[string][]string

// factSpecs are the read models of the facts of other contexts.
func (s *Service) factSpecs() []projector.Spec {
	return []projector.Spec{
		{
			Name: episodesProjection, Stream: pathwaycontract.Stream,
			FilterSubjects: []string{
				"avenir.pathway.pathway.*.entered", "avenir.pathway.pathway.*.exited", "avenir.pathway.pathway.*.exit_backdated",
				"avenir.pathway.statistics.*.frozen",
			},
			Project: s.projectEpisodes,
		},
		{
			Name: analysesProjection, Stream: needsStream,
			FilterSubjects: []string{"avenir.needs.analysis.*.completed", "avenir.needs.statistics.*.frozen"},
			Project:        s.projectAnalyses,
		},
		{
			Name: linesProjection, Stream: fundingStream,
			FilterSubjects: []string{
				"avenir.funding.hours.*.reported", "avenir.funding.hours.*.corrected", "avenir.funding.hours.*.flagged",
				"avenir.funding.group.*.reported", "avenir.funding.fees.*.claimed", "avenir.funding.statement.*.closed",
			},
			Project: s.projectLines,
		},
	}
}

func (s *Service) projectEpisodes(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		learner string
		number  int32
		entry   *commonv1.Date
		exit    *commonv1.Date
	)
	switch m := ev.Data.(type) {
	case *pathwayv1.BreakdownsFrozen:
		return frozen(m.GetMonth()), nil
	case *pathwayv1.PathwayEntered:
		learner, number, entry = m.GetLearnerId(), m.GetEpisodeNumber(), m.GetEntryDate()
	case *pathwayv1.PathwayExited:
		learner, number, entry, exit = m.GetLearnerId(), m.GetEpisodeNumber(), m.GetEntryDate(), m.GetExitDate()
	case *pathwayv1.ExitBackdated:
		learner, number, exit = m.GetLearnerId(), m.GetEpisodeNumber(), m.GetExitDate()
	default:
		return nil, nil
	}
	if learner == "" {
		return nil, nil
	}
	stored, _, err := projection.GetJSON[storedEpisodes](ctx, s.store, episodesProjection, episodesKey(learner))
	if err != nil {
		return nil, err
	}
	if stored == nil {
		stored = storedEpisodes{}
	}
	n := strconv.Itoa(int(number))
	e := stored[n]
	if d := civilpb.Date(entry); d.Valid() {
		e.Entry = d.String()
	}
	if d := civilpb.Date(exit); d.Valid() {
		e.Exit = d.String()
	}
	stored[n] = e
	op, err := projection.PutJSON(episodesKey(learner), stored)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

func (s *Service) projectAnalyses(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	switch m := ev.Data.(type) {
	case *needsv1.SummaryFrozen:
		return frozen(m.GetMonth()), nil
	case *needsv1.AnalysisCompleted:
		d := civilpb.Date(m.GetCompletedOn())
		if m.GetLearnerId() == "" || !d.Valid() {
			return nil, nil
		}
		months, _, err := projection.GetJSON[[]string](ctx, s.store, analysesProjection, completionsKey(m.GetLearnerId()))
		if err != nil {
			return nil, err
		}
		month := civil.MonthOf(d).String()
		if slices.Contains(months, month) {
			return nil, nil
		}
		months = append(months, month)
		slices.Sort(months)
		op, err := projection.PutJSON(completionsKey(m.GetLearnerId()), months)
		if err != nil {
			return nil, err
		}
		return []projection.Op{op}, nil
	}
	return nil, nil
}

// billed is one learner's line on the statement of contract for period.
type billed struct {
	learner, contract string
	period            *commonv1.Month
}

func (s *Service) projectLines(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var lines []billed
	switch m := ev.Data.(type) {
	case *fundingv1.StatementClosed:
		p := civilpb.Month(m.GetPeriod())
		if m.GetContractId() == "" || !p.Valid() {
			return nil, nil
		}
		return []projection.Op{projection.Put(closedKey(m.GetContractId(), p), []byte{1})}, nil
	case *fundingv1.TraineeHoursReported:
		for _, l := range m.GetLines() {
			lines = append(lines, billed{m.GetLearnerId(), m.GetContractId(), l.GetBillingPeriod()})
		}
	case *fundingv1.TraineeLineCorrected:
		lines = append(lines, billed{m.GetLearnerId(), m.GetContractId(), m.GetBillingPeriod()})
	case *fundingv1.TraineeLinesFlagged:
		lines = append(lines, billed{m.GetLearnerId(), m.GetContractId(), m.GetBillingPeriod()})
	case *fundingv1.GroupHoursReported:
		for _, a := range m.GetAttendeeLearnerIds() {
			lines = append(lines, billed{a, m.GetContractId(), m.GetBillingPeriod()})
		}
	case *fundingv1.FlatFeeClaimed:
		lines = append(lines, billed{m.GetLearnerId(), m.GetContractId(), m.GetBillingPeriod()})
	default:
		return nil, nil
	}
	// The learners' values, each changed once for all its lines.
	changed := map[string]storedLines{}
	var order []string
	for _, l := range lines {
		p := civilpb.Month(l.period)
		if l.learner == "" || l.contract == "" || !p.Valid() {
			continue
		}
		stored, ok := changed[l.learner]
		if !ok {
			var err error
			if stored, _, err = projection.GetJSON[storedLines](ctx, s.store, linesProjection, linesKey(l.learner)); err != nil {
				return nil, err
			}
			if stored == nil {
				stored = storedLines{}
			}
			changed[l.learner] = stored
			order = append(order, l.learner)
		}
		if period := p.String(); !slices.Contains(stored[l.contract], period) {
			stored[l.contract] = append(stored[l.contract], period)
			slices.Sort(stored[l.contract])
		}
	}
	ops := make([]projection.Op, 0, len(order))
	for _, learner := range order {
		op, err := projection.PutJSON(linesKey(learner), changed[learner])
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// frozen records a frozen month.
func frozen(m *commonv1.Month) []projection.Op {
	month := civilpb.Month(m)
	if !month.Valid() {
		return nil
	}
	return []projection.Op{projection.IndexAdd(frozenIndex, month.String())}
}

// factReader reads the facts of learners, the frozen months once.
type factReader struct {
	s                          *Service
	pathwayFrozen, needsFrozen map[string]bool
}

// newFactReader reads the frozen months.
func (s *Service) newFactReader(ctx context.Context) (*factReader, error) {
	r := &factReader{s: s}
	var err error
	if r.pathwayFrozen, err = s.frozenMonths(ctx, episodesProjection); err != nil {
		return nil, err
	}
	if r.needsFrozen, err = s.frozenMonths(ctx, analysesProjection); err != nil {
		return nil, err
	}
	return r, nil
}

// frozenMonths reads the frozen months of a read model.
func (s *Service) frozenMonths(ctx context.Context, name string) (map[string]bool, error) {
	out := map[string]bool{}
	err := projection.Scan(ctx, s.store, name, frozenIndex, projection.RangeQuery{Limit: projection.MaxRangeLimit}, func(members []string) (bool, error) {
		for _, m := range members {
			out[m] = true
		}
		return true, nil
	})
	return out, err
}

// erasureFacts reads the facts of other contexts about learner id.
func (s *Service) erasureFacts(ctx context.Context, id string) (domain.ErasureFacts, error) {
	r, err := s.newFactReader(ctx)
	if err != nil {
		return domain.ErasureFacts{}, err
	}
	facts, err := r.facts(ctx, []string{id})
	if err != nil {
		return domain.ErasureFacts{}, err
	}
	return facts[0], nil
}

// facts reads the facts of learners ids, in their order.
func (r *factReader) facts(ctx context.Context, ids []string) ([]domain.ErasureFacts, error) {
	s := r.s
	episodes, err := projection.GetManyJSONOf[storedEpisodes](ctx, s.store, episodesProjection, ids, episodesKey)
	if err != nil {
		return nil, err
	}
	completions, err := projection.GetManyJSONOf[[]string](ctx, s.store, analysesProjection, ids, completionsKey)
	if err != nil {
		return nil, err
	}
	lines, err := projection.GetManyJSONOf[storedLines](ctx, s.store, linesProjection, ids, linesKey)
	if err != nil {
		return nil, err
	}
	// Which statements are closed: one read for every pair of every
	// learner.
	type pair struct {
		learner int
		sp      domain.StatementPeriod
	}
	var pairs []pair
	var keys []string
	for i, l := range lines {
		if l == nil {
			continue
		}
		for contract, periods := range *l {
			for _, p := range periods {
				month, err := civil.ParseMonth(p)
				if err != nil {
					continue
				}
				pairs = append(pairs, pair{i, domain.StatementPeriod{Contract: contract, Period: month}})
				keys = append(keys, closedKey(contract, month))
			}
		}
	}
	closed, err := getMany(ctx, s.store, linesProjection, keys)
	if err != nil {
		return nil, err
	}
	out := make([]domain.ErasureFacts, len(ids))
	for i, p := range pairs {
		if closed[i] == nil {
			out[p.learner].OpenStatements = append(out[p.learner].OpenStatements, p.sp)
		}
	}
	for i := range ids {
		f := &out[i]
		if episodes[i] != nil {
			for n, e := range *episodes[i] {
				number, _ := strconv.Atoi(n)
				entry, _ := civil.Parse(e.Entry)
				exit, _ := civil.Parse(e.Exit)
				f.Episodes = append(f.Episodes, domain.Episode{Number: number, Entry: entry, Exit: exit})
				if entry.Valid() && !r.pathwayFrozen[civil.MonthOf(entry).String()] {
					f.UnfrozenEntryMonths = append(f.UnfrozenEntryMonths, civil.MonthOf(entry))
				}
			}
			slices.SortFunc(f.Episodes, func(a, b domain.Episode) int { return a.Number - b.Number })
		}
		if completions[i] != nil {
			for _, m := range *completions[i] {
				month, err := civil.ParseMonth(m)
				if err == nil && !r.needsFrozen[m] {
					f.UnfrozenCompletionMonths = append(f.UnfrozenCompletionMonths, month)
				}
			}
		}
	}
	return out, nil
}

// getMany is Store.GetMany a chunk of keys at a time.
func getMany(ctx context.Context, store projection.Store, name string, keys []string) ([][]byte, error) {
	out := make([][]byte, 0, len(keys))
	for chunk := range slices.Chunk(keys, projection.MaxRangeLimit) {
		values, err := store.GetMany(ctx, name, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, values...)
	}
	return out, nil
}
