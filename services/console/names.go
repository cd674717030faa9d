package console

import (
	"context"
	"slices"
	"strings"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// erasedName is how people read a learner whose personal data was erased.
const erasedName = "personne effacée"

// maxBatch is the most learners one BatchGetLearners call answers.
const maxBatch = 200

// learnerNames resolves learner ids to the names people read, with one
// BatchGetLearners call per 200 ids: intake answers only the learners the
// caller may read. An id it does not answer is missing from the map.
func (c *Console) learnerNames(ctx context.Context, ids []string) (map[string]string, error) {
	ids = uniq(ids)
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += maxBatch {
		chunk := ids[start:min(start+maxBatch, len(ids))]
		res, err := c.api.Intake.BatchGetLearners(ctx, &intakev1.BatchGetLearnersRequest{LearnerIds: chunk})
		if err != nil {
			return out, err
		}
		for _, l := range res.GetLearners() {
			out[l.GetLearnerId()] = displayName(l)
		}
	}
	return out, nil
}

// learnerName is one learner's name, read with GetLearner (from the
// learner's events: a person registered a moment ago is found at once).
func (c *Console) learnerName(ctx context.Context, id string) (string, error) {
	res, err := c.api.Intake.GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: id})
	if err != nil {
		return "", err
	}
	return displayName(res.GetLearner()), nil
}

// displayName is a learner's name as people read it: "NOM Prénom".
func displayName(l *intakev1.Learner) string {
	if l.GetErased() {
		return erasedName
	}
	return strings.ToUpper(l.GetFamilyName()) + " " + l.GetGivenName()
}

// referents lists the directory (every page) of territory, or of every
// territory with referents that the caller reaches when territory is
// empty, each referent once.
func (c *Console) referents(ctx context.Context, territory string, includeDeactivated bool) ([]*referentv1.Referent, error) {
	territories := []string{territory}
	if territory == "" {
		load, err := c.api.Referent.GetTerritoryLoad(ctx, &referentv1.GetTerritoryLoadRequest{})
		if err != nil {
			return nil, err
		}
		territories = territories[:0]
		for _, l := range load.GetTerritories() {
			territories = append(territories, l.GetTerritoryCode())
		}
	}
	var out []*referentv1.Referent
	seen := map[string]bool{}
	for _, t := range territories {
		refs, err := paging.All(func(token string) ([]*referentv1.Referent, string, error) {
			res, err := c.api.Referent.ListReferents(ctx, &referentv1.ListReferentsRequest{
				TerritoryCode: t, IncludeDeactivated: includeDeactivated, PageSize: 200, PageToken: token,
			})
			return res.GetReferents(), res.GetNextPageToken(), err
		})
		if err != nil {
			return out, err
		}
		for _, r := range refs {
			if !seen[r.GetReferentId()] {
				seen[r.GetReferentId()] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// referentNames maps referent ids to names, for the referents the caller
// may list.
func (c *Console) referentNames(ctx context.Context) map[string]string {
	refs, err := c.referents(ctx, "", true)
	if err != nil {
		c.log.Debug("console: referent names unavailable", "error", err)
	}
	return referentNamesOf(refs)
}

// findReferent is the referent of id in the directory, nil when unknown.
func (c *Console) findReferent(ctx context.Context, id string) (*referentv1.Referent, error) {
	refs, err := c.referents(ctx, "", true)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if r.GetReferentId() == id {
			return r, nil
		}
	}
	return nil, nil
}

func uniq(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
