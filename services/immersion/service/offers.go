package service

import (
	"context"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	"github.com/avenir-normandie/avenir/services/immersion/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/auth"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/ident"
	"github.com/avenir-normandie/avenir/services/platform/paging"
	"github.com/avenir-normandie/avenir/services/platform/projection"
)

// The offers read model (offersProjection), from the offers' events on
// IMMERSION: each offer folded as its aggregate folds it, indexed by the
// accreditation's last day so that ListOffers walks offers in its order.
// An offer holds nothing personal (an operator's platform, its trades,
// its accreditation, an admin's reason for a withdrawal).
//
//	offer:<id>                 domain.Offer, JSON
//	offers                     index of every offer, "<accredited to>/<offer id>"
//	offer-operator:<id>        index of the operator's offers, same members
//	offer-territory:<code>     index of the offers of the territory's platforms, same members
func offerKey(id string) string            { return "offer:" + id }
func offerOperatorIndex(id string) string  { return "offer-operator:" + id }
func offerTerritoryIndex(c string) string  { return "offer-territory:" + c }
func offerMember(o domain.Offer) string    { return o.Profile.AccreditedTo.String() + "/" + o.ID }
func offerOfMember(member string) string   { return memberSession(member) }
func offerMemberDate(member string) string { return memberDate(member) }

const offersIndex = "offers"

// offerMembers are the index members of an offer: where it is listed.
func offerMembers(o domain.Offer) map[string]string {
	out := map[string]string{offersIndex: offerMember(o), offerOperatorIndex(o.Profile.OperatorID): offerMember(o)}
	if t := o.Profile.Platform.Territory; t != "" {
		out[offerTerritoryIndex(t)] = offerMember(o)
	}
	return out
}

func (s *Service) projectOffer(ctx context.Context, ev event.Event) ([]projection.Op, error) {
	d, ok := decode(ev)
	if !ok {
		return nil, nil
	}
	var id string
	switch e := d.(type) {
	case domain.OfferPublished:
		id = e.OfferID
	case domain.OfferUpdated:
		id = e.OfferID
	case domain.OfferWithdrawn:
		id = e.OfferID
	case domain.SessionAttached:
		id = e.OfferID
	default:
		return nil, nil
	}
	before, found, err := projection.GetJSON[domain.Offer](ctx, s.store, offersProjection, offerKey(id))
	if err != nil {
		return nil, err
	}
	if _, published := d.(domain.OfferPublished); !found && !published {
		return nil, nil // nothing to change without the publication
	}
	after := domain.EvolveOffer(before, d)
	op, err := projection.PutJSON(offerKey(id), after)
	if err != nil {
		return nil, err
	}
	ops := []projection.Op{op}
	now := offerMembers(after)
	if found {
		for index, m := range offerMembers(before) {
			if now[index] != m {
				ops = append(ops, projection.IndexRemove(index, m))
			}
		}
	}
	for index, m := range now {
		ops = append(ops, projection.IndexAdd(index, m))
	}
	return ops, nil
}

// ListOffers implements immersionv1.ImmersionServiceServer, from the offers
// read model: admins and referents list every offer (the catalogue), an
// operator its own (operator_id is always its own). Withdrawn offers only
// when asked; accreditation_expiring_before stops the walk at the first
// offer accredited until that day or later.
func (s *Service) ListOffers(ctx context.Context, req *immersionv1.ListOffersRequest) (*immersionv1.ListOffersResponse, error) {
	var v apperr.Violations
	caller, _ := auth.FromContext(ctx)
	territory, operator := req.GetTerritoryCode(), req.GetOperatorId()
	ident.OptionalTerritory(&v, "territory_code", territory)
	if caller.Role == auth.RoleOperator {
		operator = caller.OperatorID
	} else {
		ident.OptionalCode(&v, "operator_id", operator)
	}
	before := civilpb.OptionalDate(&v, "accreditation_expiring_before", req.GetAccreditationExpiringBefore())
	size := paging.Size(&v, req.GetPageSize())
	query := paging.Fingerprint("offers", territory, operator, boolString(req.GetIncludeWithdrawn()), before.String())
	after := paging.Decode(&v, req.GetPageToken(), query)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := &immersionv1.ListOffersResponse{}
	if caller.Role == auth.RoleOperator && operator == "" {
		return out, nil // never read as "every operator"
	}
	index := offersIndex
	switch {
	case operator != "":
		index = offerOperatorIndex(operator)
	case territory != "":
		index = offerTerritoryIndex(territory)
	}
	last := ""
	err := projection.Scan(ctx, s.store, offersProjection, index, projection.RangeQuery{After: after, Limit: scanPage}, func(members []string) (bool, error) {
		keys := make([]string, len(members))
		for i, m := range members {
			keys[i] = offerKey(offerOfMember(m))
		}
		offers, err := projection.GetManyJSON[domain.Offer](ctx, s.store, offersProjection, keys)
		if err != nil {
			return false, err
		}
		for i, m := range members {
			if !before.IsZero() && offerMemberDate(m) >= before.String() {
				return false, nil
			}
			o := offers[i]
			switch {
			case o == nil, o.Withdrawn && !req.GetIncludeWithdrawn(),
				operator != "" && o.Profile.OperatorID != operator,
				territory != "" && o.Profile.Platform.Territory != territory,
				!seesOffer(caller, o.Profile.OperatorID):
				continue
			}
			if len(out.Offers) == size {
				out.NextPageToken = paging.Encode(query, last)
				return false, nil
			}
			out.Offers = append(out.Offers, s.offerView(*o))
			last = m
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
