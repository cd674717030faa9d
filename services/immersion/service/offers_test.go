package service_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/servicetest"
)

// listOffers lists the offers, every page of size, and returns their ids.
func listOffers(t *testing.T, c immersionv1.ImmersionServiceClient, req *immersionv1.ListOffersRequest) ([]string, []*immersionv1.Offer) {
	t.Helper()
	req = proto.Clone(req).(*immersionv1.ListOffersRequest)
	var ids []string
	var offers []*immersionv1.Offer
	for range 20 {
		resp, err := c.ListOffers(ctx(t), req)
		if err != nil {
			t.Fatalf("ListOffers %v: %v", req, err)
		}
		if req.GetPageSize() > 0 && len(resp.GetOffers()) > int(req.GetPageSize()) {
			t.Fatalf("a page of %d offers, asked %d", len(resp.GetOffers()), req.GetPageSize())
		}
		for _, o := range resp.GetOffers() {
			ids = append(ids, o.GetOfferId())
		}
		offers = append(offers, resp.GetOffers()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return ids, offers
		}
	}
	t.Fatal("the pages never end")
	return nil, nil
}

// ListOffers lists offers by accreditation end then id, each as GetOffer
// answers it, filtered by territory, operator, withdrawal and accreditation
// end, page by page: every offer for staff, its own for an operator.
func TestListOffers(t *testing.T) {
	t.Parallel()
	e := start(t, servicetest.Options{})
	until := func(p *immersionv1.OfferProfile, days int) *immersionv1.OfferProfile {
		p.AccreditedTo = civilpb.FromDate(today.AddDays(days))
		return p
	}
	inCaen := func(p *immersionv1.OfferProfile) *immersionv1.OfferProfile {
		p.Platform = &immersionv1.TechnicalPlatform{Name: "Plateau bois", Address: "2 quai de Juillet, Caen", CommuneCode: "14118", TerritoryCode: "T01"}
		return p
	}
	long := publishOffer(t, e, until(offerProfile("op-5"), 200))
	soon := publishOffer(t, e, until(offerProfile("op-6"), 30))
	caen := publishOffer(t, e, inCaen(until(offerProfile("op-5"), 10)))
	gone := publishOffer(t, e, until(offerProfile("op-6"), 60))
	if _, err := e.admin.WithdrawOffer(ctx(t), &immersionv1.WithdrawOfferRequest{RequestId: event.NewID(), OfferId: gone, Reason: "Plateau fermé"}); err != nil {
		t.Fatal(err)
	}
	// Moved to Caen, and its accreditation shortened: listed where it is now.
	moved := publishOffer(t, e, until(offerProfile("op-5"), 300))
	if _, err := e.admin.UpdateOffer(ctx(t), &immersionv1.UpdateOfferRequest{
		RequestId: event.NewID(), OfferId: moved, Profile: inCaen(until(offerProfile("op-5"), 5)),
	}); err != nil {
		t.Fatal(err)
	}
	scheduleSession(t, e.admin, long, 10, 5, 4)
	e.CaughtUp(t)

	referent, operator, fund := e.as(t, referentT05), e.as(t, operator5), e.as(t, funder)
	before := func(days int) *commonv1.Date { return civilpb.FromDate(today.AddDays(days)) }
	for _, c := range []struct {
		name   string
		client immersionv1.ImmersionServiceClient
		req    *immersionv1.ListOffersRequest
		want   []string
	}{
		{"every offer", e.admin, &immersionv1.ListOffersRequest{}, []string{moved, caen, soon, long}},
		{"a referent", referent, &immersionv1.ListOffersRequest{}, []string{moved, caen, soon, long}},
		{"withdrawn too", e.admin, &immersionv1.ListOffersRequest{IncludeWithdrawn: true}, []string{moved, caen, soon, gone, long}},
		{"pages of 1", e.admin, &immersionv1.ListOffersRequest{IncludeWithdrawn: true, PageSize: 1}, []string{moved, caen, soon, gone, long}},
		{"pages of 2", referent, &immersionv1.ListOffersRequest{PageSize: 2}, []string{moved, caen, soon, long}},
		{"in T05", e.admin, &immersionv1.ListOffersRequest{TerritoryCode: "T05"}, []string{soon, long}},
		{"in T01", referent, &immersionv1.ListOffersRequest{TerritoryCode: "T01"}, []string{moved, caen}},
		{"of op-5", e.admin, &immersionv1.ListOffersRequest{OperatorId: "op-5"}, []string{moved, caen, long}},
		{"of op-6 in T05, withdrawn too", e.admin, &immersionv1.ListOffersRequest{OperatorId: "op-6", TerritoryCode: "T05", IncludeWithdrawn: true}, []string{soon, gone}},
		{"of op-5 in T05", e.admin, &immersionv1.ListOffersRequest{OperatorId: "op-5", TerritoryCode: "T05"}, []string{long}},
		{"expiring within 30 days", e.admin, &immersionv1.ListOffersRequest{AccreditationExpiringBefore: before(31)}, []string{moved, caen, soon}},
		{"expiring before the 30th day", referent, &immersionv1.ListOffersRequest{AccreditationExpiringBefore: before(30)}, []string{moved, caen}},
		{"expiring within 60 days, withdrawn too", e.admin, &immersionv1.ListOffersRequest{AccreditationExpiringBefore: before(61), IncludeWithdrawn: true, PageSize: 1},
			[]string{moved, caen, soon, gone}},
		{"an operator: its own", operator, &immersionv1.ListOffersRequest{}, []string{moved, caen, long}},
		{"an operator: never another's", operator, &immersionv1.ListOffersRequest{OperatorId: "op-6", IncludeWithdrawn: true}, []string{moved, caen, long}},
		{"an operator in T05", operator, &immersionv1.ListOffersRequest{TerritoryCode: "T05", PageSize: 1}, []string{long}},
	} {
		got, offers := listOffers(t, c.client, c.req)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		// Each offer as GetOffer answers it, its sessions included.
		for _, o := range offers {
			one, err := e.admin.GetOffer(ctx(t), &immersionv1.GetOfferRequest{OfferId: o.GetOfferId()})
			if err != nil || !proto.Equal(one.GetOffer(), o) {
				t.Errorf("%s: listed %v\nGetOffer %v %v", c.name, o, one.GetOffer(), err)
			}
		}
	}
	if _, offers := listOffers(t, e.admin, &immersionv1.ListOffersRequest{OperatorId: "op-5", TerritoryCode: "T05"}); len(offers) != 1 || len(offers[0].GetSessionIds()) != 1 {
		t.Fatalf("the offer with a session: %v", offers)
	}

	_, err := fund.ListOffers(ctx(t), &immersionv1.ListOffersRequest{})
	servicetest.Refused(t, err, codes.PermissionDenied)
	_, err = e.admin.ListOffers(ctx(t), &immersionv1.ListOffersRequest{
		TerritoryCode: "X", OperatorId: "op 5", AccreditationExpiringBefore: &commonv1.Date{Year: 2026, Month: 2, Day: 30}, PageSize: -1,
	})
	servicetest.Refused(t, err, codes.InvalidArgument, "territory_code", "operator_id", "accreditation_expiring_before", "page_size")
	first, err := e.admin.ListOffers(ctx(t), &immersionv1.ListOffersRequest{PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	_, err = e.admin.ListOffers(ctx(t), &immersionv1.ListOffersRequest{PageSize: 1, IncludeWithdrawn: true, PageToken: first.GetNextPageToken()})
	servicetest.Refused(t, err, codes.InvalidArgument, "page_token")
}
