package service

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	"github.com/avenir-normandie/avenir/services/funding/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// Page sizes of ListLearnerLines.
const (
	DefaultLearnerLinesPage = 100
	MaxLearnerLinesPage     = 500
)

// lineCursor is where a line stands in a learner's lines: by date, then
// contract, operator line id, and its place in the contract's books (a
// line and its reversal share their id).
type lineCursor struct {
	Date     string `json:"d"`
	Contract string `json:"c"`
	Line     string `json:"l"`
	N        int    `json:"n"`
}

func (a lineCursor) compare(b lineCursor) int {
	return cmp.Or(strings.Compare(a.Date, b.Date), strings.Compare(a.Contract, b.Contract), strings.Compare(a.Line, b.Line), cmp.Compare(a.N, b.N))
}

// learnerLine is a line of a learner's with its place.
type learnerLine struct {
	at   lineCursor
	line *fundingv1.LearnerLine
}

// ListLearnerLines implements fundingv1.FundingServiceServer, from the books
// read model: every statement line naming the learner (its trainee hours,
// their corrections and reversals, the group hours it attended, its flat
// fees) across contracts, with the statement billing it, by date, then
// contract and operator line id. A group line lists the learner alone among
// its attendees: the others are other people's data. A learner funding
// never billed has no line (the list is empty, not an error); an erased
// learner's lines are listed as they are, under its id. Admins read every
// learner's; referents those of the learners they act for (per the
// caseload read model, the learner's territory per the learners read
// model), without amounts: every money field zeroed, amounts_hidden set.
func (s *Service) ListLearnerLines(ctx context.Context, req *fundingv1.ListLearnerLinesRequest) (*fundingv1.ListLearnerLinesResponse, error) {
	var v apperr.Violations
	learner := req.GetLearnerId()
	ident.ID(&v, "learner_id", learner)
	size := DefaultLearnerLinesPage
	switch n := req.GetPageSize(); {
	case n < 0 || n > MaxLearnerLinesPage:
		v.Addf("page_size", "1 to %d lines (0: %d)", MaxLearnerLinesPage, DefaultLearnerLinesPage)
	case n > 0:
		size = int(n)
	}
	query := paging.Fingerprint("learner-lines", learner)
	var after *lineCursor
	if token := paging.Decode(&v, req.GetPageToken(), query); token != "" {
		after = &lineCursor{}
		if err := json.Unmarshal([]byte(token), after); err != nil {
			v.Add("page_token", "is not a next_page_token of this listing with these filters")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	if caller.Role != auth.RoleAdmin {
		known, err := s.learners(ctx, []string{learner})
		if err != nil {
			return nil, err
		}
		scope, err := s.caseload.Scope(ctx, learner, known[learner].Territory)
		if err != nil {
			return nil, err
		}
		if !readsLearnerLines(caller, scope) {
			return nil, auth.Denied("learner", learner)
		}
	}
	amounts := seesAmounts(caller)
	var contracts []string
	err := projection.Scan(ctx, s.store, booksProjection, learnerContractsIndex(learner), projection.RangeQuery{Limit: scanPage}, func(ids []string) (bool, error) {
		contracts = append(contracts, ids...)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	var lines []learnerLine
	for _, c := range contracts {
		err := s.withBooks(ctx, c, func(b *domain.Books) error {
			for i, e := range b.Entries {
				if e.LearnerID != learner && !slices.Contains(e.Attendees, learner) {
					continue
				}
				at := lineCursor{Date: e.Date.String(), Contract: c, Line: e.LineID, N: i}
				if after != nil && at.compare(*after) <= 0 {
					continue
				}
				line := entryToProto(e)
				if e.Unit == domain.UnitGroupHour {
					line.AttendeeLearnerIds = []string{learner}
				}
				if !amounts {
					// Every money field of the line.
					line.RateCents, line.AmountCents = 0, 0
				}
				lines = append(lines, learnerLine{at: at, line: &fundingv1.LearnerLine{
					ContractId: c, OperatorId: b.Terms.OperatorID, Period: civilpb.FromMonth(e.Period), StatementClosed: b.Closed[e.Period], Line: line,
				}})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(lines, func(a, b learnerLine) int { return a.at.compare(b.at) })
	out := &fundingv1.ListLearnerLinesResponse{AmountsHidden: !amounts}
	for i, l := range lines {
		if i == size {
			b, err := json.Marshal(lines[i-1].at)
			if err != nil {
				return nil, err
			}
			out.NextPageToken = paging.Encode(query, string(b))
			break
		}
		out.Lines = append(out.Lines, l.line)
	}
	return out, nil
}
