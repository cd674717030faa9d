package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The learners read model (learnersProjection), from the PATHWAY stream:
// each learner's territory (the latest its events carry), dated episodes,
// enrolments (with which contract, from and to when) and the facts that
// trigger flat fees (analyses completed, immersions done, exits to
// employment or qualifying training), in the order they happened.
//
//	learner:<id>                 storedLearner, JSON
//	contract-learners:<contract>  index of the learners ever enrolled with the contract
func learnerKey(id string) string { return "learner:" + id }

func contractLearnersIndex(contractID string) string { return "contract-learners:" + contractID }

type storedEpisode struct {
	Number int    `json:"n"`
	Entry  string `json:"entry"`
	Exit   string `json:"exit,omitempty"`
}

type storedEnrolment struct {
	Number   int    `json:"n"`
	Episode  int    `json:"episode"`
	Contract string `json:"contract"`
	Operator string `json:"operator"`
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
}

type storedFact struct {
	Type domain.FeeType `json:"type"`
	Ref  string         `json:"ref"`
	Date string         `json:"date"`
}

type storedLearner struct {
	Territory  string            `json:"territory,omitempty"`
	Episodes   []storedEpisode   `json:"episodes,omitempty"`
	Enrolments []storedEnrolment `json:"enrolments,omitempty"`
	Facts      []storedFact      `json:"facts,omitempty"`
}

func parseDate(s string) civil.Date {
	d, _ := civil.Parse(s)
	return d
}

// learner is the domain's view of a stored learner.
func (l storedLearner) learner(id string) domain.Learner {
	out := domain.Learner{ID: id, Territory: l.Territory}
	for _, e := range l.Episodes {
		ep := domain.Episode{Number: e.Number, Entry: parseDate(e.Entry)}
		if e.Exit != "" {
			ep.Exit = parseDate(e.Exit)
		}
		out.Episodes = append(out.Episodes, ep)
	}
	for _, e := range l.Enrolments {
		en := domain.Enrolment{Number: e.Number, Episode: e.Episode, ContractID: e.Contract, OperatorID: e.Operator, From: parseDate(e.From)}
		if e.To != "" {
			en.To = parseDate(e.To)
		}
		out.Enrolments = append(out.Enrolments, en)
	}
	return out
}

func (l storedLearner) facts() []domain.Fact {
	out := make([]domain.Fact, 0, len(l.Facts))
	for _, f := range l.Facts {
		out = append(out, domain.Fact{Type: f.Type, Ref: f.Ref, Date: parseDate(f.Date)})
	}
	return out
}

// exitFee is the flat fee an exit reason triggers.
func exitFee(r pathwayv1.ExitReason) domain.FeeType {
	switch r {
	case pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG,
		pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT, pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY,
		pathwayv1.ExitReason_EXIT_REASON_SELF_EMPLOYED:
		return domain.FeeExitToEmployment
	case pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING:
		return domain.FeeExitToQualifyingTraining
	}
	return domain.FeeUnspecified
}

func episodeRef(n int32) string { return "episode-" + strconv.Itoa(int(n)) }

func (s *Service) projectLearner(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		id, territory string
		apply         func(*storedLearner)
		index         []projection.Op
	)
	fact := func(l *storedLearner, f storedFact) {
		if f.Type == domain.FeeUnspecified || f.Ref == "" {
			return
		}
		if !slices.ContainsFunc(l.Facts, func(o storedFact) bool { return o.Type == f.Type && o.Ref == f.Ref }) {
			l.Facts = append(l.Facts, f)
		}
	}
	switch m := ev.Data.(type) {
	case *pathwayv1.PathwayEntered:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		apply = func(l *storedLearner) {
			l.Episodes = slices.DeleteFunc(l.Episodes, func(e storedEpisode) bool { return e.Number == int(m.GetEpisodeNumber()) })
			l.Episodes = append(l.Episodes, storedEpisode{Number: int(m.GetEpisodeNumber()), Entry: civilpb.Date(m.GetEntryDate()).String()})
		}
	case *pathwayv1.PathwayExited:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		apply = func(l *storedLearner) {
			exit := civilpb.Date(m.GetExitDate()).String()
			i := slices.IndexFunc(l.Episodes, func(e storedEpisode) bool { return e.Number == int(m.GetEpisodeNumber()) })
			if i >= 0 {
				l.Episodes[i].Exit = exit
			} else {
				l.Episodes = append(l.Episodes, storedEpisode{Number: int(m.GetEpisodeNumber()), Entry: civilpb.Date(m.GetEntryDate()).String(), Exit: exit})
			}
			fact(l, storedFact{Type: exitFee(m.GetReason()), Ref: episodeRef(m.GetEpisodeNumber()), Date: exit})
		}
	case *pathwayv1.NeedsAnalysisNoted:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		apply = func(l *storedLearner) {
			fact(l, storedFact{Type: domain.FeeNeedsAnalysisCompleted, Ref: m.GetAnalysisId(), Date: civilpb.Date(m.GetCompletedOn()).String()})
		}
	case *pathwayv1.ImmersionNoted:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		typ := domain.FeeImmersionPartiallyCompleted
		if m.GetCompleted() {
			typ = domain.FeeImmersionCompleted
		}
		apply = func(l *storedLearner) {
			fact(l, storedFact{Type: typ, Ref: m.GetSessionId(), Date: civilpb.Date(m.GetRecordedOn()).String()})
		}
	case *pathwayv1.LearnerEnrolled:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		if m.GetContractId() != "" && id != "" {
			index = append(index, projection.IndexAdd(contractLearnersIndex(m.GetContractId()), id))
		}
		apply = func(l *storedLearner) {
			n := int(m.GetEnrolmentNumber())
			l.Enrolments = slices.DeleteFunc(l.Enrolments, func(e storedEnrolment) bool { return e.Number == n })
			l.Enrolments = append(l.Enrolments, storedEnrolment{
				Number: n, Episode: int(m.GetEpisodeNumber()), Contract: m.GetContractId(), Operator: m.GetOperatorId(),
				From: civilpb.Date(m.GetFromDate()).String(),
			})
		}
	case *pathwayv1.EnrolmentEnded:
		id, territory = m.GetLearnerId(), m.GetTerritoryCode()
		apply = func(l *storedLearner) {
			i := slices.IndexFunc(l.Enrolments, func(e storedEnrolment) bool { return e.Number == int(m.GetEnrolmentNumber()) })
			if i < 0 {
				// The enrolment is unknown: it never reached funding, so
				// nothing was billable under it.
				s.log.WarnContext(ctx, "enrolment ended before it was known, ignored", "learner_id", m.GetLearnerId(),
					"enrolment_number", m.GetEnrolmentNumber(), "event_id", ev.ID)
				return
			}
			l.Enrolments[i].To = civilpb.Date(m.GetToDate()).String()
		}
	default:
		// exit_backdated adds nothing (its exited comes in the same batch),
		// but the checkpoint passes it, which the exit consumer waits for.
		return nil, nil
	}
	l, _, err := projection.GetJSON[storedLearner](ctx, s.store, learnersProjection, learnerKey(id))
	if err != nil {
		return nil, err
	}
	apply(&l)
	if territory != "" {
		l.Territory = territory
	}
	op, err := projection.PutJSON(learnerKey(id), l)
	if err != nil {
		return nil, err
	}
	return append([]projection.Op{op}, index...), nil
}

// learners reads what the read model knows of learners, by id (unknown
// learners are absent), a thousand a round trip.
func (s *Service) learners(ctx context.Context, ids []string) (map[string]storedLearner, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	vals, err := projection.GetManyJSONOf[storedLearner](ctx, s.store, learnersProjection, ids, learnerKey)
	if err != nil {
		return nil, err
	}
	out := make(map[string]storedLearner, len(ids))
	for i, l := range vals {
		if l != nil {
			out[ids[i]] = *l
		}
	}
	return out, nil
}

// placements is the domain's view of learners: their territory, episodes
// and enrolments, and, with immersion, the minutes of their immersions by
// day (the immersions read model).
func (s *Service) placements(ctx context.Context, ids []string, immersion bool) (domain.Learners, map[string]storedLearner, error) {
	ls, err := s.learners(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make(domain.Learners, len(ls))
	for id, l := range ls {
		out[id] = l.learner(id)
	}
	if immersion {
		days, err := s.immersionDays(ctx, ids)
		if err != nil {
			return nil, nil, err
		}
		for id, d := range days {
			l := out.Get(id)
			l.Immersion = d
			out[id] = l
		}
	}
	return out, ls, nil
}

// The immersions read model (immersionsProjection), from the IMMERSION
// stream: each session's days and daily minutes, and each learner's
// immersions whose outcome is recorded (completed, or partially up to the
// last day present; a no-show or a cancelled booking counts none), whose
// minutes count against the caps of trainee hours.
//
//	session:<id>   storedSession, JSON
//	learner:<id>   storedImmersions, JSON
func sessionKey(id string) string { return "session:" + id }

type storedSession struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Daily int    `json:"daily"`
}

type storedOutcome struct {
	Session   string `json:"session"`
	From      string `json:"from"`
	To        string `json:"to"`
	Daily     int    `json:"daily"`
	Completed bool   `json:"completed,omitempty"`
	LastDay   string `json:"last_day,omitempty"`
}

type storedImmersions struct {
	Outcomes []storedOutcome `json:"outcomes,omitempty"`
}

func (s *Service) projectImmersion(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	var (
		learner string
		apply   func(*storedImmersions)
	)
	switch m := ev.Data.(type) {
	case *immersionv1.SessionScheduled:
		op, err := projection.PutJSON(sessionKey(m.GetSessionId()), storedSession{
			From: civilpb.Date(m.GetFromDate()).String(), To: civilpb.Date(m.GetToDate()).String(), Daily: int(m.GetDailyMinutes()),
		})
		if err != nil {
			return nil, err
		}
		return []projection.Op{op}, nil
	case *immersionv1.OutcomeRecorded:
		session, found, err := projection.GetJSON[storedSession](ctx, s.store, immersionsProjection, sessionKey(m.GetSessionId()))
		if err != nil {
			return nil, err
		}
		if !found {
			s.log.WarnContext(ctx, "immersion outcome of an unknown session, ignored", "session_id", m.GetSessionId(), "event_id", ev.ID)
			return nil, nil
		}
		learner = m.GetLearnerId()
		apply = func(l *storedImmersions) {
			l.Outcomes = slices.DeleteFunc(l.Outcomes, func(o storedOutcome) bool { return o.Session == m.GetSessionId() })
			o := storedOutcome{Session: m.GetSessionId(), From: session.From, To: session.To, Daily: session.Daily}
			switch m.GetStatus() {
			case immersionv1.OutcomeStatus_OUTCOME_STATUS_COMPLETED:
				o.Completed = true
			case immersionv1.OutcomeStatus_OUTCOME_STATUS_PARTIALLY_COMPLETED:
				o.LastDay = civilpb.Date(m.GetLastDayPresent()).String()
			default: // a no-show: no day counts
				return
			}
			l.Outcomes = append(l.Outcomes, o)
		}
	case *immersionv1.BookingCancelled:
		learner = m.GetLearnerId()
		apply = func(l *storedImmersions) {
			l.Outcomes = slices.DeleteFunc(l.Outcomes, func(o storedOutcome) bool { return o.Session == m.GetSessionId() })
		}
	default:
		return nil, nil
	}
	l, _, err := projection.GetJSON[storedImmersions](ctx, s.store, immersionsProjection, learnerKey(learner))
	if err != nil {
		return nil, err
	}
	apply(&l)
	op, err := projection.PutJSON(learnerKey(learner), l)
	if err != nil {
		return nil, err
	}
	return []projection.Op{op}, nil
}

// immersionDays reads the minutes of immersion by day of learners, by id
// (learners without any are absent).
func (s *Service) immersionDays(ctx context.Context, ids []string) (map[string]map[civil.Date]int, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	vals, err := projection.GetManyJSONOf[storedImmersions](ctx, s.store, immersionsProjection, ids, learnerKey)
	if err != nil {
		return nil, err
	}
	out := map[string]map[civil.Date]int{}
	for i, l := range vals {
		if l == nil || len(l.Outcomes) == 0 {
			continue
		}
		days := map[civil.Date]int{}
		for _, o := range l.Outcomes {
			for d, n := range domain.ImmersionDays(parseDate(o.From), parseDate(o.To), o.Daily, o.Completed, parseDate(o.LastDay)) {
				days[d] += n
			}
		}
		out[ids[i]] = days
	}
	return out, nil
}

// The books read model (booksProjection), from the whole FUNDING stream.
//
//	books:<contract>               the number of events of the contract logged
//	log:<contract>:<n>             the contract's n-th event (from 0), its payload as an Any
//	contract:<id>                  the contract's terms, ContractTerms
//	contracts                      index of every contract id
//	operator:<id>                  index of an operator's contract ids
//	territory:<code>               index of the contract ids covering a territory
//	line:<contract>:<line id>      the aggregate holding an operator line id: "<unit>/<ledger id>"
//	learner-ledgers:<learner>      index of a learner's hours ledgers, "<contract>/<YYYY>-W<WW>/<ledger id>"
//	                               (the learner's ledger of the week, or a former ledger of the contract)
//	programme:<n>                  index of the contract ids of a programme (its wire number)
//	programme-year:<n>:<YYYY>      a programme's figures for a year as set, storedProgrammeYear JSON
//	fee-fact:<learner>:<type>:<ref>  where a standard fact's fee was paid, domain.Payment JSON
//	learner-contracts:<learner>    index of the contract ids with lines naming the learner (its
//	                               trainee hours and corrections, group hours attended, flat fees)
//
// A contract's statements are domain.Books folded from its logged events,
// in stream order: the log is written one event at a time (O(event) per
// write, however big the books), and each process folds it into a cache
// that it brings up to date from the log before answering. The log keeps no
// personal field (a correction's reason): the books do not use them, so
// nothing personal is copied here, and a learner's erasure leaves the books,
// their statements and totals exactly as they were.
func booksKey(contractID string) string           { return "books:" + contractID }
func logKey(contractID string, n int) string      { return "log:" + contractID + ":" + strconv.Itoa(n) }
func contractKey(id string) string                { return "contract:" + id }
func operatorIndex(id string) string              { return "operator:" + id }
func territoryIndex(code string) string           { return "territory:" + code }
func lineKey(contractID, lineID string) string    { return "line:" + contractID + ":" + lineID }
func learnerLedgersIndex(learnerID string) string { return "learner-ledgers:" + learnerID }
func learnerContractsIndex(learnerID string) string {
	return "learner-contracts:" + learnerID
}

func programmeIndex(p domain.Programme) string { return "programme:" + strconv.Itoa(int(p)) }
func programmeYearKey(p domain.Programme, year int) string {
	return fmt.Sprintf("programme-year:%d:%04d", int(p), year)
}
func feeFactKey(learnerID string, t domain.FeeType, ref string) string {
	return fmt.Sprintf("fee-fact:%s:%d:%s", learnerID, int(t), ref)
}

const contractsIndex = "contracts"

// Owners of operator line ids, in lineKey values.
func hoursOwner(ledgerID string) string { return "hours/" + ledgerID }
func groupOwner(ledgerID string) string { return "group/" + ledgerID }
func feesOwner(ledgerID string) string  { return "fees/" + ledgerID }

func ledgerMember(contractID string, w domain.Week, ledgerID string) string {
	return fmt.Sprintf("%s/%04d-W%02d/%s", contractID, w.Year, w.Week, ledgerID)
}

func (s *Service) projectBooks(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	d, ok := decode(ev)
	if !ok {
		return nil, nil
	}
	if e, ok := d.(domain.ProgrammeYearSet); ok {
		op, err := projection.PutJSON(programmeYearKey(e.Programme, e.Year), domain.ProgrammeYear{
			ID: e.ID, Programme: e.Programme, Year: e.Year, Envelope: e.Envelope, Target: e.Target,
		})
		if err != nil {
			return nil, err
		}
		return []projection.Op{op}, nil
	}
	c := contractOf(d)
	if c == "" {
		return nil, nil
	}
	n, err := s.loggedCount(ctx, c)
	if err != nil {
		return nil, err
	}
	rec, err := anypb.New(impersonal(ev.Data))
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(rec)
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{projection.Put(logKey(c, n), b), projection.Put(booksKey(c), []byte(strconv.Itoa(n+1)))}
	switch e := d.(type) {
	case domain.ContractCreated, domain.ContractUpdated:
		var terms domain.Terms
		switch e := e.(type) {
		case domain.ContractCreated:
			terms = e.Terms
		case domain.ContractUpdated:
			terms = e.Terms
		}
		old, found, err := s.storedTerms(ctx, c)
		if err != nil {
			return nil, err
		}
		if found {
			for _, t := range old.Territories {
				if !slices.Contains(terms.Territories, t) {
					ops = append(ops, projection.IndexRemove(territoryIndex(t), c))
				}
			}
			if old.Programme != terms.Programme {
				ops = append(ops, projection.IndexRemove(programmeIndex(old.Programme), c))
			}
		}
		ops = append(ops, projection.IndexAdd(programmeIndex(terms.Programme), c))
		tb, err := proto.Marshal(termsToProto(terms))
		if err != nil {
			return nil, err
		}
		ops = append(ops, projection.Put(contractKey(c), tb), projection.IndexAdd(contractsIndex, c), projection.IndexAdd(operatorIndex(terms.OperatorID), c))
		for _, t := range terms.Territories {
			ops = append(ops, projection.IndexAdd(territoryIndex(t), c))
		}
	case domain.TraineeHoursReported:
		for _, l := range e.Lines {
			ops = append(ops, projection.Put(lineKey(c, l.ID), []byte(hoursOwner(e.LedgerID))))
		}
		ops = append(ops, projection.IndexAdd(learnerLedgersIndex(e.LearnerID), ledgerMember(c, e.Week, e.LedgerID)),
			projection.IndexAdd(learnerContractsIndex(e.LearnerID), c))
	case domain.TraineeLineCorrected:
		ops = append(ops, projection.Put(lineKey(c, e.LineID), []byte(hoursOwner(e.LedgerID))),
			projection.IndexAdd(learnerContractsIndex(e.LearnerID), c))
	case domain.GroupHoursReported:
		ops = append(ops, projection.Put(lineKey(c, e.Line.ID), []byte(groupOwner(e.LedgerID))))
		for _, a := range slices.Compact(slices.Sorted(slices.Values(e.Line.Attendees))) {
			ops = append(ops, projection.IndexAdd(learnerContractsIndex(a), c))
		}
	case domain.FlatFeeClaimed:
		ops = append(ops, projection.Put(lineKey(c, e.LineID), []byte(feesOwner(e.LedgerID))),
			projection.IndexAdd(learnerContractsIndex(e.LearnerID), c))
		if e.Type != domain.FeeCustom {
			op, err := projection.PutJSON(feeFactKey(e.LearnerID, e.Type, e.FactRef), domain.Payment{ContractID: c, OperatorID: e.OperatorID, LineID: e.LineID})
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// loggedCount is the number of events of the contract in the books log.
func (s *Service) loggedCount(ctx context.Context, contractID string) (int, error) {
	b, err := s.store.Get(ctx, booksProjection, booksKey(contractID))
	if errors.Is(err, projection.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, fmt.Errorf("funding: books of %s: bad count %q", contractID, b)
	}
	return n, nil
}

// storedTerms reads a contract's terms from the read model.
func (s *Service) storedTerms(ctx context.Context, id string) (domain.Terms, bool, error) {
	b, err := s.store.Get(ctx, booksProjection, contractKey(id))
	if errors.Is(err, projection.ErrNotFound) {
		return domain.Terms{}, false, nil
	}
	if err != nil {
		return domain.Terms{}, false, err
	}
	var t fundingv1.ContractTerms
	if err := proto.Unmarshal(b, &t); err != nil {
		return domain.Terms{}, false, fmt.Errorf("funding: stored contract %s: %w", id, err)
	}
	return termsFromProto(&t), true, nil
}

// owners reads the aggregates holding operator line ids of a contract, by
// line id (ids not used are absent).
func (s *Service) owners(ctx context.Context, contractID string, ids []string) (map[string]string, error) {
	out := make(map[string]string)
	for chunk := range slices.Chunk(ids, 1000) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = lineKey(contractID, id)
		}
		vals, err := s.store.GetMany(ctx, booksProjection, keys)
		if err != nil {
			return nil, err
		}
		for i, b := range vals {
			if b != nil {
				out[chunk[i]] = string(b)
			}
		}
	}
	return out, nil
}

// takenElsewhere is the domain's TakenElsewhere: a line id used by another
// aggregate than self, per the read model.
func takenElsewhere(owners map[string]string, self string) func(string) bool {
	return func(id string) bool {
		o, ok := owners[id]
		return ok && o != self
	}
}

// booksCache holds each contract's books as folded by this process.
type booksCache struct {
	mu sync.Mutex
	m  map[string]*cachedBooks
}

type cachedBooks struct {
	mu sync.Mutex
	n  int // events of the log folded
	b  *domain.Books
}

func (c *booksCache) entry(contractID string) *cachedBooks {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*cachedBooks{}
	}
	e := c.m[contractID]
	if e == nil {
		e = &cachedBooks{b: domain.NewBooks()}
		c.m[contractID] = e
	}
	return e
}

// withBooks calls fn with the contract's books as the read model holds
// them, brought up to date from the log; fn must not keep them.
func (s *Service) withBooks(ctx context.Context, contractID string, fn func(*domain.Books) error) error {
	e := s.books.entry(contractID)
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := s.loggedCount(ctx, contractID)
	if err != nil {
		return err
	}
	if n < e.n { // the store was rebuilt under us
		e.n, e.b = 0, domain.NewBooks()
	}
	for e.n < n {
		end := min(n, e.n+projection.MaxRangeLimit)
		keys := make([]string, 0, end-e.n)
		for i := e.n; i < end; i++ {
			keys = append(keys, logKey(contractID, i))
		}
		vals, err := s.store.GetMany(ctx, booksProjection, keys)
		if err != nil {
			return err
		}
		for i, b := range vals {
			if b == nil {
				return fmt.Errorf("funding: books of %s: event %d missing", contractID, e.n+i)
			}
			var rec anypb.Any
			if err := proto.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("funding: books of %s: event %d: %w", contractID, e.n+i, err)
			}
			msg, err := rec.UnmarshalNew()
			if err != nil {
				return fmt.Errorf("funding: books of %s: event %d: %w", contractID, e.n+i, err)
			}
			if d, ok := decodeData(msg); ok {
				e.b.Apply(d)
			}
		}
		e.n = end
	}
	return fn(e.b)
}

// snapshot is what the deciders need of a contract's books: the closed
// periods and the billed cents per contract year.
type snapshot struct {
	Closed domain.Closed
	Used   map[int]int64
}

func (s *Service) snapshot(ctx context.Context, contractID string) (snapshot, error) {
	var out snapshot
	err := s.withBooks(ctx, contractID, func(b *domain.Books) error {
		out.Closed = make(domain.Closed, len(b.Closed))
		for p, c := range b.Closed {
			out.Closed[p] = c
		}
		out.Used = b.Used()
		return nil
	})
	return out, err
}

// budget is the room of the contract years for deciding, from used.
func budgetOf(t domain.Terms, used map[int]int64) *domain.Budget {
	b := &domain.Budget{Terms: t, Used: make(map[int]int64, len(used))}
	for y, c := range used {
		b.Used[y] = c
	}
	return b
}

// waitBooks waits until the books read model has applied seq (the
// service's own writes), for at most booksWait.
func (s *Service) waitBooks(ctx context.Context, seq uint64) error {
	return projection.WaitApplied(ctx, s.store, booksProjection, seq, booksWait)
}

// lastSequence is the last sequence of a stream.
func (s *Service) lastSequence(ctx context.Context, stream string) (uint64, error) {
	st, err := s.deps.JS.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// scanPage is the page of the books' indexes walked at once.
const scanPage = 500

// splitMember reads "<contract>/<YYYY>-W<WW>/<ledger id>".
func splitMember(m string) (contractID string, w domain.Week, ledgerID string, ok bool) {
	parts := strings.Split(m, "/")
	if len(parts) != 3 {
		return "", domain.Week{}, "", false
	}
	if _, err := fmt.Sscanf(parts[1], "%04d-W%02d", &w.Year, &w.Week); err != nil {
		return "", domain.Week{}, "", false
	}
	return parts[0], w, parts[2], true
}

// formerLedgers reads, from the learners' ledger indexes, the former
// ledgers (one contract's, learner's and week's) of learners, by learner
// and week: their lines still count in the learner's ledger of the week.
func (s *Service) formerLedgers(ctx context.Context, learnerIDs []string) (map[domain.LedgerBatchKey][]string, error) {
	learnerIDs = slices.Compact(slices.Sorted(slices.Values(learnerIDs)))
	var mu sync.Mutex
	out := map[domain.LedgerBatchKey][]string{}
	err := s.parallel(ctx, len(learnerIDs), func(ctx context.Context, i int) error {
		learner := learnerIDs[i]
		return projection.Scan(ctx, s.store, booksProjection, learnerLedgersIndex(learner), projection.RangeQuery{Limit: scanPage}, func(members []string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range members {
				_, w, id, ok := splitMember(m)
				if !ok || id == hoursLedgerID(learner, w) {
					continue
				}
				k := domain.LedgerBatchKey{LearnerID: learner, Week: w}
				if !slices.Contains(out[k], id) {
					out[k] = append(out[k], id)
				}
			}
			return true, nil
		})
	})
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out, err
}

// ledgerWeek is a week of a learner's trainee hours: the former ledgers of
// the week and the contracts with lines in it.
type ledgerWeek struct {
	week      domain.Week
	former    []string
	contracts []string
}

// learnerWeeks reads the weeks of a learner's trainee hours from week from
// on, in order, from the learner's ledger index.
func (s *Service) learnerWeeks(ctx context.Context, learner string, from domain.Week) ([]ledgerWeek, error) {
	byWeek := map[domain.Week]*ledgerWeek{}
	err := projection.Scan(ctx, s.store, booksProjection, learnerLedgersIndex(learner), projection.RangeQuery{Limit: scanPage}, func(members []string) (bool, error) {
		for _, m := range members {
			c, w, id, ok := splitMember(m)
			if !ok || w.Year < from.Year || (w.Year == from.Year && w.Week < from.Week) {
				continue
			}
			lw := byWeek[w]
			if lw == nil {
				lw = &ledgerWeek{week: w}
				byWeek[w] = lw
			}
			if id != hoursLedgerID(learner, w) && !slices.Contains(lw.former, id) {
				lw.former = append(lw.former, id)
			}
			if !slices.Contains(lw.contracts, c) {
				lw.contracts = append(lw.contracts, c)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]ledgerWeek, 0, len(byWeek))
	for _, lw := range byWeek {
		slices.Sort(lw.former)
		out = append(out, *lw)
	}
	slices.SortFunc(out, func(a, b ledgerWeek) int {
		return cmp.Or(cmp.Compare(a.week.Year, b.week.Year), cmp.Compare(a.week.Week, b.week.Week))
	})
	return out, nil
}

// paidFacts reads where the facts' fees of one type were paid, per the
// books (claims made before the fact claims existed included), by fact
// ref.
func (s *Service) paidFacts(ctx context.Context, learnerID string, t domain.FeeType, facts []domain.Fact) (map[string]domain.Payment, error) {
	var keys, refs []string
	for _, f := range facts {
		if f.Type == t {
			keys, refs = append(keys, feeFactKey(learnerID, t, f.Ref)), append(refs, f.Ref)
		}
	}
	out := map[string]domain.Payment{}
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := projection.GetManyJSON[domain.Payment](ctx, s.store, booksProjection, keys)
	if err != nil {
		return nil, err
	}
	for i, p := range vals {
		if p != nil {
			out[refs[i]] = *p
		}
	}
	return out, nil
}
