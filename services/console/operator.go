package console

import (
	"context"
	"net/http"
	"slices"
	"strings"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// enrolledRow is a learner enrolled with the operator, as its home lists it.
type enrolledRow struct {
	LearnerID, Name, Territory string
	Enrolment                  *pathwayv1.Enrolment
}

// sessionRow is one of the operator's #Action sessions with its attendees.
type sessionRow struct {
	SessionID  string
	Trades     []string
	From, To   *commonv1.Date
	Attendees  []string // names of the learners holding a place
	Waitlisted int
}

// operatorHome is a training operator's home: its contracts, the learners
// enrolled with it today (by name), its #Action sessions with their
// attendees. Hour reports and statements come with the console's next part.
func (c *Console) operatorHome(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	op := s.principal.OperatorID
	contracts, err := c.contracts(ctx, op)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	listings, err := paging.All(func(token string) ([]*pathwayv1.EnrolmentListing, string, error) {
		res, err := c.api.Pathway.ListEnrolments(ctx, &pathwayv1.ListEnrolmentsRequest{
			OperatorId: op, ActiveOn: civilpb.FromDate(c.today()), PageSize: 200, PageToken: token,
		})
		return res.GetEnrolments(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	bookings, err := paging.All(func(token string) ([]*immersionv1.Booking, string, error) {
		res, err := c.api.Immersion.ListBookings(ctx, &immersionv1.ListBookingsRequest{OperatorId: op, PageSize: 200, PageToken: token})
		return res.GetBookings(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	ids := make([]string, 0, len(listings)+len(bookings))
	for _, l := range listings {
		ids = append(ids, l.GetLearnerId())
	}
	for _, b := range bookings {
		ids = append(ids, b.GetLearnerId())
	}
	names, err := c.learnerNames(ctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	enrolled := make([]enrolledRow, len(listings))
	for i, l := range listings {
		enrolled[i] = enrolledRow{LearnerID: l.GetLearnerId(), Name: nameOr(names, l.GetLearnerId()), Territory: l.GetTerritoryCode(), Enrolment: l.GetEnrolment()}
	}
	slices.SortFunc(enrolled, func(a, b enrolledRow) int { return strings.Compare(a.Name, b.Name) })
	c.pages.render(w, r, s, http.StatusOK, "home_operator", map[string]any{
		"Title": "Accueil", "Contracts": contracts, "Enrolled": enrolled, "Sessions": sessionRows(bookings, names),
	})
}

// sessionRows groups an operator's bookings by session, sessions by date.
func sessionRows(bookings []*immersionv1.Booking, names map[string]string) []sessionRow {
	bySession := map[string]*sessionRow{}
	var order []string
	for _, b := range bookings {
		row, ok := bySession[b.GetSessionId()]
		if !ok {
			row = &sessionRow{SessionID: b.GetSessionId(), Trades: b.GetRomeCodes(), From: b.GetFromDate(), To: b.GetToDate()}
			bySession[b.GetSessionId()] = row
			order = append(order, b.GetSessionId())
		}
		switch b.GetStatus() {
		case immersionv1.BookingStatus_BOOKING_STATUS_BOOKED:
			row.Attendees = append(row.Attendees, nameOr(names, b.GetLearnerId()))
		case immersionv1.BookingStatus_BOOKING_STATUS_WAITLISTED:
			row.Waitlisted++
		}
	}
	out := make([]sessionRow, 0, len(order))
	for _, id := range order {
		row := bySession[id]
		slices.Sort(row.Attendees)
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b sessionRow) int {
		return civilpb.Date(a.From).Compare(civilpb.Date(b.From))
	})
	return out
}

// contracts lists the contracts the caller reads, of one operator when
// operatorID is given.
func (c *Console) contracts(ctx context.Context, operatorID string) ([]*fundingv1.Contract, error) {
	return paging.All(func(token string) ([]*fundingv1.Contract, string, error) {
		res, err := c.api.Funding.ListContracts(ctx, &fundingv1.ListContractsRequest{OperatorId: operatorID, PageSize: 500, PageToken: token})
		return res.GetContracts(), res.GetNextPageToken(), err
	})
}
