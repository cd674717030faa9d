package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
)

var (
	referentKinds       = enumFlag{referentv1.ReferentKind(0).Descriptor(), "REFERENT_KIND_"}
	referentSpecialties = enumFlag{referentv1.Specialty(0).Descriptor(), "SPECIALTY_"}
	assignmentReasons   = enumFlag{referentv1.AssignmentReason(0).Descriptor(), "ASSIGNMENT_REASON_"}
)

func newReferentsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "referents", Short: "Keep the directory of referents; assign, hand over and follow learners (referent)"}
	cmd.AddCommand(newReferentsRegisterCmd(), newReferentsUpdateCmd(), newReferentsAvailabilityCmd(), newReferentsDeactivateCmd(),
		newReferentsAssignCmd(), newReferentsHandoverCmd(), newReferentsAssignmentCmd(), newReferentsCaseloadCmd(),
		newReferentsListCmd(), newReferentsLoadCmd(), newReferentsQueueCmd())
	return cmd
}

// profileFlags are the flags of a referent's profile.
type profileFlags struct {
	p                 referentv1.ReferentProfile
	kind, specialties string
}

// profilePaths are the fields of a profile an update may change: the
// flag, then its path in the update mask.
var profilePaths = [][2]string{
	{"name", "name"}, {"organisation", "organisation"}, {"territory", "territory_codes"},
	{"capacity", "capacity"}, {"specialties", "specialties"}, {"languages", "languages"},
}

func (pf *profileFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&pf.p.Name, "name", "", "full name")
	fs.StringVar(&pf.p.Organisation, "organisation", "", "operator organisation")
	addTerritories(fs, &pf.p.TerritoryCodes, "territories served")
	fs.Int32Var(&pf.p.Capacity, "capacity", 0, "maximum active learners (0 for economic referents)")
	fs.StringVar(&pf.specialties, "specialties", "", "comma-separated: "+referentSpecialties.names())
	fs.StringSliceVar(&pf.p.Languages, "languages", nil, "languages spoken, ISO 639-1, comma-separated (fr,en)")
}

// profile is the profile the flags give (kind aside).
func (pf *profileFlags) profile() (*referentv1.ReferentProfile, error) {
	pf.p.TerritoryCodes = territories(pf.p.TerritoryCodes)
	pf.p.Specialties = nil
	for s := range strings.SplitSeq(pf.specialties, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := referentSpecialties.parse("specialties", s)
		if err != nil {
			return nil, err
		}
		pf.p.Specialties = append(pf.p.Specialties, referentv1.Specialty(n))
	}
	return &pf.p, nil
}

func referentRows(r *referentv1.Referent) []field {
	p := r.GetProfile()
	var specs []string
	for _, s := range p.GetSpecialties() {
		specs = append(specs, referentSpecialties.name(s.Number()))
	}
	absence := ""
	if r.GetAbsentFrom() != nil {
		absence = dateString(r.GetAbsentFrom()) + " to " + dateString(r.GetAbsentTo())
	}
	rows := []field{
		{"REFERENT ID", r.GetReferentId()},
		{"NAME", p.GetName()},
		{"ORGANISATION", p.GetOrganisation()},
		{"KIND", referentKinds.name(p.GetKind().Number())},
		{"TERRITORIES", strings.Join(p.GetTerritoryCodes(), ", ")},
		{"LOAD", fmt.Sprintf("%d/%d", r.GetActiveLearners(), p.GetCapacity())},
		{"SPECIALTIES", strings.Join(specs, ", ")},
		{"LANGUAGES", strings.Join(p.GetLanguages(), ", ")},
		{"ABSENT", absence},
		{"AVAILABLE", yesNo(r.GetAvailable())},
		{"DEACTIVATED", dateString(r.GetDeactivatedOn())},
	}
	if id := r.GetInterimReferentId(); id != "" {
		// After ABSENT, which it goes with.
		rows = append(rows[:9], append([]field{{"INTERIM", id}}, rows[9:]...)...)
	}
	return rows
}

func assignmentRows(a *referentv1.Assignment) []field {
	rows := []field{
		{"LEARNER ID", a.GetLearnerId()},
		{"TERRITORY", a.GetTerritoryCode()},
		{"EPISODE", fmt.Sprint(a.GetEpisodeNumber())},
		{"IN PATHWAY", yesNo(a.GetActive())},
		{"REFERENT", a.GetReferentId()},
	}
	if a.GetPending() {
		rows = append(rows, field{"QUEUED SINCE", dateString(a.GetPendingSince())})
	}
	if id := a.GetInterimReferentId(); id != "" {
		rows = append(rows, field{"INTERIM", fmt.Sprintf("%s from %s to %s", id, dateString(a.GetInterimFrom()), dateString(a.GetInterimTo()))})
	}
	for i, p := range a.GetHistory() {
		to := "now"
		if p.GetToDate() != nil {
			to = dateString(p.GetToDate())
		}
		s := fmt.Sprintf("%s from %s to %s (episode %d, %s: %s)", p.GetReferentId(), dateString(p.GetFromDate()), to,
			p.GetEpisodeNumber(), assignmentReasons.name(p.GetReason().Number()), p.GetExplanation())
		if p.GetReadAccessUntil() != nil {
			s += "; reads until " + dateString(p.GetReadAccessUntil())
		}
		rows = append(rows, field{fmt.Sprintf("PERIOD %d", i+1), s})
	}
	return rows
}

// referentCommand builds a command calling one RPC and printing its answer.
func referentCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(referentv1.NewReferentServiceClient, use, short, example, args, setup, run)
}

func newReferentsRegisterCmd() *cobra.Command {
	var pf profileFlags
	var rid string
	return referentCommand("register", "Register a referent (admins)",
		"  avenir referents register --name \"Anne Leroy\" --organisation \"AFPA Évreux\" --territory T05 --territory T06 \\\n"+
			"      --capacity 40 --specialties disability",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			pf.add(fs)
			fs.StringVar(&pf.kind, "kind", "pedagogical", "kind: "+referentKinds.names())
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			p, err := pf.profile()
			if err != nil {
				return err
			}
			k, err := referentKinds.parse("kind", pf.kind)
			if err != nil {
				return err
			}
			p.Kind = referentv1.ReferentKind(k)
			resp, err := c.RegisterReferent(ctx, &referentv1.RegisterReferentRequest{RequestId: requestID(rid), Profile: p})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetReferent(), referentRows(resp.GetReferent()))
		})
}

func newReferentsUpdateCmd() *cobra.Command {
	var pf profileFlags
	var rid string
	cmd := referentCommand("update REFERENT_ID", "Change a referent's profile: only the fields whose flags are given (admins)",
		"  avenir referents update $ref --capacity 45\n"+
			"  avenir referents update $ref --territory T05 --territory T06 --languages fr,en,ar",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			pf.add(fs)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			given, err := pf.profile()
			if err != nil {
				return err
			}
			// Only the fields given, in the profile and in the mask; the
			// others keep their values.
			p := &referentv1.ReferentProfile{}
			mask := &fieldmaskpb.FieldMask{}
			var names []string
			for _, fp := range profilePaths {
				names = append(names, "--"+fp[0])
				if !cmd.Flags().Changed(fp[0]) {
					continue
				}
				mask.Paths = append(mask.Paths, fp[1])
				switch fp[1] {
				case "name":
					p.Name = given.GetName()
				case "organisation":
					p.Organisation = given.GetOrganisation()
				case "territory_codes":
					p.TerritoryCodes = given.GetTerritoryCodes()
				case "capacity":
					p.Capacity = given.GetCapacity()
				case "specialties":
					p.Specialties = given.GetSpecialties()
				case "languages":
					p.Languages = given.GetLanguages()
				}
			}
			if len(mask.Paths) == 0 {
				return nothingToChange(names...)
			}
			resp, err := c.UpdateReferent(ctx, &referentv1.UpdateReferentRequest{RequestId: requestID(rid), ReferentId: args[0], Profile: p, UpdateMask: mask})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetReferent(), referentRows(resp.GetReferent()))
		})
	cmd.Long = "Change a referent's profile: only the fields whose flags are given change, the others keep\n" +
		"their values (an empty --specialties or --languages clears them). The kind never changes."
	return cmd
}

func newReferentsAvailabilityCmd() *cobra.Command {
	var rid, from, to, interim string
	cmd := referentCommand("availability REFERENT_ID [--absent-from DATE --absent-to DATE [--interim REFERENT_ID]]",
		"Record a referent's absence, with the referent standing in for its learners, or clear it without dates (admins, coordinators)",
		"  avenir referents availability $ref --absent-from 2026-12-21 --absent-to 2027-01-03 --interim $other\n  avenir referents availability $ref",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&from, "absent-from", "", "first day of absence, "+dateHelp)
			fs.StringVar(&to, "absent-to", "", "last day of absence, "+dateHelp)
			fs.StringVar(&interim, "interim", "", "referent id standing in for the absent one's learners on those days (none if omitted)")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			req := &referentv1.SetAvailabilityRequest{RequestId: requestID(rid), ReferentId: args[0], InterimReferentId: interim}
			var err error
			if req.AbsentFrom, err = optionalDate("absent-from", from); err != nil {
				return err
			}
			if req.AbsentTo, err = optionalDate("absent-to", to); err != nil {
				return err
			}
			resp, err := c.SetAvailability(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetReferent(), referentRows(resp.GetReferent()))
		})
	cmd.Long = "Record a referent's absence (both dates), or clear it (no date). With --interim, another\n" +
		"referent stands in for the absent one's learners on the days of the absence: an active\n" +
		"pedagogical referent serving each learner's territory; it acts for them in every service,\n" +
		"while they stay the absent referent's. Recording the absence again without --interim\n" +
		"releases the interim."
	return cmd
}

func newReferentsDeactivateCmd() *cobra.Command {
	var rid, on string
	return referentCommand("deactivate REFERENT_ID", "Deactivate a referent; its learners are handed over or queued (admins)",
		"  avenir referents deactivate $ref --effective-date today",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&on, "effective-date", "", "from that day (default today), "+dateHelp)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			req := &referentv1.DeactivateReferentRequest{RequestId: requestID(rid), ReferentId: args[0]}
			var err error
			if req.EffectiveDate, err = optionalDate("effective-date", on); err != nil {
				return err
			}
			resp, err := c.DeactivateReferent(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetReferent(), referentRows(resp.GetReferent()))
		})
}

func newReferentsAssignCmd() *cobra.Command {
	var rid, on, reason string
	return referentCommand("assign LEARNER_ID REFERENT_ID", "Assign a referent to a learner in the pathway (admins, coordinators)",
		"  avenir referents assign $id $ref --reason \"speaks Arabic\"",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			fs.StringVar(&on, "effective-date", "", "from that day (default today), "+dateHelp)
			fs.StringVar(&reason, "reason", "", "why (at most 500 characters)")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			req := &referentv1.AssignReferentRequest{RequestId: requestID(rid), LearnerId: args[0], ReferentId: args[1], Reason: reason}
			var err error
			if req.EffectiveDate, err = optionalDate("effective-date", on); err != nil {
				return err
			}
			resp, err := c.AssignReferent(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetAssignment(), assignmentRows(resp.GetAssignment()))
		})
}

func newReferentsHandoverCmd() *cobra.Command {
	var rid, on, reason, from, to string
	cmd := referentCommand("handover LEARNER_ID --from-referent REFERENT_ID --to-referent REFERENT_ID --reason TEXT",
		"Hand a learner over to another referent (admins, coordinators)",
		"  avenir referents handover $id --from-referent $ref --to-referent $other --reason \"moves to Vernon\" --effective-date today",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&from, "from-referent", "", "the current referent")
			fs.StringVar(&to, "to-referent", "", "the next referent")
			fs.StringVar(&reason, "reason", "", "why (required, at most 500 characters)")
			fs.StringVar(&on, "effective-date", "", "from that day (default today), "+dateHelp)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			req := &referentv1.HandoverRequest{RequestId: requestID(rid), LearnerId: args[0], FromReferentId: from, ToReferentId: to, Reason: reason}
			var err error
			if req.EffectiveDate, err = optionalDate("effective-date", on); err != nil {
				return err
			}
			resp, err := c.Handover(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetAssignment(), assignmentRows(resp.GetAssignment()))
		})
	return required(cmd, "from-referent", "to-referent", "reason")
}

func newReferentsAssignmentCmd() *cobra.Command {
	return referentCommand("assignment LEARNER_ID", "Show a learner's referent and dated history", "  avenir referents assignment $id",
		cobra.ExactArgs(1), nil,
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			resp, err := c.GetAssignment(ctx, &referentv1.GetAssignmentRequest{LearnerId: args[0]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetAssignment(), assignmentRows(resp.GetAssignment()))
		})
}

func newReferentsCaseloadCmd() *cobra.Command {
	var size int32
	var token string
	return referentCommand("caseload REFERENT_ID", "List the learners a referent follows", "  avenir referents caseload $ref",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			addPage(fs, &size, &token, "learners")
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			resp, err := c.ListCaseload(ctx, &referentv1.ListCaseloadRequest{ReferentId: args[0], PageSize: size, PageToken: token})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			r := resp.GetReferent()
			var ids []string
			for _, l := range resp.GetLearners() {
				ids = append(ids, l.GetLearnerId())
			}
			names := f.learnerNames(ctx, ids...)
			interims := slices.ContainsFunc(resp.GetLearners(), (*referentv1.CaseloadEntry).GetInterim)
			rows := [][]string{{"LEARNER ID", "NAME", "TERRITORY", "EPISODE", "SINCE", "PHASE", "PHASE SINCE"}}
			if interims {
				rows[0] = append(rows[0], "INTERIM FOR")
			}
			for _, l := range resp.GetLearners() {
				row := []string{
					l.GetLearnerId(), names[l.GetLearnerId()], l.GetTerritoryCode(), fmt.Sprint(l.GetEpisodeNumber()), dateString(l.GetFromDate()),
					pathwayPhases.name(l.GetPhase().Number()), dateString(l.GetPhaseSince()),
				}
				if interims {
					interim := ""
					if l.GetInterim() {
						interim = fmt.Sprintf("%s, %s to %s", l.GetAbsentReferentId(), dateString(l.GetInterimFrom()), dateString(l.GetInterimTo()))
					}
					row = append(row, interim)
				}
				rows = append(rows, row)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s): %d/%d learners\n", r.GetProfile().GetName(), r.GetReferentId(), r.GetActiveLearners(), r.GetProfile().GetCapacity())
			return listTable(cmd.OutOrStdout(), rows, resp.GetNextPageToken())
		})
}

func newReferentsListCmd() *cobra.Command {
	var req referentv1.ListReferentsRequest
	var codes []string
	var kind string
	return referentCommand("list --territory CODE", "List territories' referents with load and availability",
		"  avenir referents list --territory T05\n  avenir referents list --territory T05 --territory T06 --kind economic",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addTerritories(fs, &codes, "the territories whose referents are listed")
			fs.StringVar(&kind, "kind", "", "kind: "+referentKinds.names())
			fs.BoolVar(&req.IncludeDeactivated, "include-deactivated", false, "list deactivated referents too")
			addPage(fs, &req.PageSize, &req.PageToken, "referents")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			k, err := referentKinds.optional("kind", kind)
			if err != nil {
				return err
			}
			req.Kind = referentv1.ReferentKind(k)
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*referentv1.ListReferentsResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.ListReferents(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*referentv1.ListReferentsResponse]) error {
					return listAnswers(w, answers, referentListHeader, referentListRows, (*referentv1.ListReferentsResponse).GetNextPageToken)
				})
		})
}

var referentListHeader = []string{"REFERENT ID", "NAME", "KIND", "LOAD", "AVAILABLE", "TERRITORIES"}

// referentListRows is one row per referent listed.
func referentListRows(resp *referentv1.ListReferentsResponse) [][]string {
	var rows [][]string
	for _, r := range resp.GetReferents() {
		rows = append(rows, []string{r.GetReferentId(), r.GetProfile().GetName(), referentKinds.name(r.GetProfile().GetKind().Number()),
			fmt.Sprintf("%d/%d", r.GetActiveLearners(), r.GetProfile().GetCapacity()), yesNo(r.GetAvailable()),
			strings.Join(r.GetProfile().GetTerritoryCodes(), ",")})
	}
	return rows
}

func newReferentsLoadCmd() *cobra.Command {
	var codes []string
	return referentCommand("load [--territory CODE]...", "Referents, capacity, active learners and queue per territory",
		"  avenir referents load\n  avenir referents load --territory T05 --territory T06",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addTerritories(fs, &codes, "only these territories (default: all)")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			resp, err := c.GetTerritoryLoad(ctx, &referentv1.GetTerritoryLoadRequest{TerritoryCodes: territories(codes)})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			// The counts of learners are "<5" when withheld (the rule of
			// small counts, for every role but admin).
			rows := [][]string{{"TERRITORY", "REFERENTS", "ECONOMIC", "CAPACITY", "ACTIVE", "QUEUED"}}
			for _, t := range resp.GetTerritories() {
				rows = append(rows, []string{t.GetTerritoryCode(), fmt.Sprint(t.GetReferents()), fmt.Sprint(t.GetEconomicReferents()),
					fmt.Sprint(t.GetCapacity()), countString(t.GetLearners()), countString(t.GetWaiting())})
			}
			return listTable(cmd.OutOrStdout(), rows, "")
		})
}

func newReferentsQueueCmd() *cobra.Command {
	var req referentv1.ListPendingAssignmentsRequest
	var codes []string
	return referentCommand("queue --territory CODE", "List the learners waiting for a referent in territories, oldest first (admins, coordinators)",
		"  avenir referents queue --territory T05\n  avenir referents queue --territory T05,T06 -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			addTerritories(fs, &codes, "the territories whose queue is listed")
			addPage(fs, &req.PageSize, &req.PageToken, "learners")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c referentv1.ReferentServiceClient, f *clientFlags) error {
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*referentv1.ListPendingAssignmentsResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.ListPendingAssignments(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*referentv1.ListPendingAssignmentsResponse]) error {
					var ids []string
					for _, a := range answers {
						for _, p := range a.resp.GetPending() {
							ids = append(ids, p.GetLearnerId())
						}
					}
					names := f.learnerNames(ctx, ids...)
					return listAnswers(w, answers, []string{"LEARNER ID", "NAME", "TERRITORY", "EPISODE", "QUEUED SINCE"},
						func(resp *referentv1.ListPendingAssignmentsResponse) [][]string {
							var rows [][]string
							for _, a := range resp.GetPending() {
								rows = append(rows, []string{a.GetLearnerId(), names[a.GetLearnerId()], a.GetTerritoryCode(), fmt.Sprint(a.GetEpisodeNumber()), dateString(a.GetPendingSince())})
							}
							return rows
						}, (*referentv1.ListPendingAssignmentsResponse).GetNextPageToken)
				})
		})
}
