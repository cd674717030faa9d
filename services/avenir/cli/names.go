package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/ident"
)

// Names are personal data kept by intake only: the tables join them to the
// learner ids the other services answer with, by asking intake once per
// page (BatchGetLearners), never storing them. JSON output is left as the
// services answer it: ids only.

// erasedName is how people read a learner whose personal data was erased.
const erasedName = "personne effacée"

// maxBatchLearners is the most ids one BatchGetLearners takes.
const maxBatchLearners = 200

// learnerNames returns the names of the learners of ids for a table:
// "Family Given", erasedName for an erased learner, nothing for a learner
// the caller may not read (or unknown) — the map answers "" for it. Empty
// and malformed ids are skipped; the distinct ids are asked in one call
// per 200. A table is still worth printing without names: when intake
// does not answer (an older server, a server running other services), the
// names stay empty and a note on standard error says why. With --output
// json nothing is asked.
func (f *clientFlags) learnerNames(ctx context.Context, ids ...string) map[string]string {
	names := map[string]string{}
	if f.output == "json" || f.conn == nil {
		return names
	}
	var ask []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] && ident.CheckID(id) == "" {
			seen[id] = true
			ask = append(ask, id)
		}
	}
	c := intakev1.NewIntakeServiceClient(f.conn)
	for chunk := range slices.Chunk(ask, maxBatchLearners) {
		resp, err := c.BatchGetLearners(ctx, &intakev1.BatchGetLearnersRequest{LearnerIds: chunk})
		if err != nil {
			if f.errOut != nil {
				fmt.Fprintf(f.errOut, "note: learners' names not shown: %s\n", errorLine(err))
			}
			return names
		}
		for _, l := range resp.GetLearners() {
			names[l.GetLearnerId()] = learnerName(l)
		}
	}
	return names
}

// learnerName is how a table names a learner: "Family Given", or
// erasedName.
func learnerName(l *intakev1.Learner) string {
	if l.GetErased() {
		return erasedName
	}
	return strings.TrimSpace(l.GetFamilyName() + " " + l.GetGivenName())
}

// referentActor is the prefix of an actor that is a referent
// (auth.Principal.Actor).
const referentActor = "referent:"

// actorNames returns the names of the referents among actors
// ("referent:<id>"), keyed by actor, for a table; other actors (admins,
// operators, services) and referents the caller may not read have none.
// The referent service has no call to read one referent's profile but its
// caseload's (ListCaseload, which answers the referent with it): one call
// of one entry per referent, each asked once per command.
func (f *clientFlags) actorNames(ctx context.Context, actors ...string) map[string]string {
	names := map[string]string{}
	if f.output == "json" || f.conn == nil {
		return names
	}
	c := referentv1.NewReferentServiceClient(f.conn)
	for _, actor := range actors {
		id, ok := strings.CutPrefix(actor, referentActor)
		if !ok || ident.CheckID(id) != "" {
			continue
		}
		name, known := f.referents[id]
		if !known {
			resp, err := c.ListCaseload(ctx, &referentv1.ListCaseloadRequest{ReferentId: id, PageSize: 1})
			if err == nil {
				name = resp.GetReferent().GetProfile().GetName()
			}
			if f.referents == nil {
				f.referents = map[string]string{}
			}
			f.referents[id] = name // "" when not readable: not asked again
		}
		if name != "" {
			names[actor] = name
		}
	}
	return names
}
