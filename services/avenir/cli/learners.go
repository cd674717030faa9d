package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func newLearnersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "learners", Short: "Register, update, search and read learners (intake)"}
	cmd.AddCommand(newLearnersRegisterCmd(), newLearnersGetCmd(), newLearnersSearchCmd(),
		newLearnersUpdateContactCmd(), newLearnersUpdateSituationCmd(), newLearnersHistoryCmd())
	return cmd
}

// Accepted values of the enum flags: the proto value names without their
// prefix, lower case, with hyphens ("no-diploma", "3", "mission-locale").
var (
	educationLevels = enumFlag{intakev1.EducationLevel(0).Descriptor(), "EDUCATION_LEVEL_"}
	referralSources = enumFlag{intakev1.ReferralSource(0).Descriptor(), "REFERRAL_SOURCE_"}
)

func newLearnersRegisterCmd() *cobra.Command {
	var f clientFlags
	req := intakev1.RegisterLearnerRequest{Contact: &intakev1.Contact{}, Situation: &intakev1.Situation{}}
	var birth, education, referral string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a person welcomed into #Avenir",
		Long: `Register a person welcomed into #Avenir.

An e-mail address or a phone number is required, and the commune of residence
(INSEE code) must lie in the département of the territory. A person already
registered (same France Travail identifier, or same names and birth date) is
refused with AlreadyExists, which names the existing learner.`,
		Example: `  avenir learners register --family-name Martin --given-name Léa --birth-date 2001-05-14 \
      --territory T05 --commune 27229 --phone "06 12 34 56 78" \
      --education-level 4 --referral-source mission-locale --job-seeker --france-travail-id 1234567A`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if req.BirthDate, err = parseDate("birth-date", birth); err != nil {
				return err
			}
			level, err := educationLevels.parse("education-level", education)
			if err != nil {
				return err
			}
			source, err := referralSources.parse("referral-source", referral)
			if err != nil {
				return err
			}
			req.Situation.EducationLevel = intakev1.EducationLevel(level)
			req.Situation.ReferralSource = intakev1.ReferralSource(source)
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).RegisterLearner(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&req.FamilyName, "family-name", "", "family name")
	fs.StringVar(&req.GivenName, "given-name", "", "given name")
	fs.StringVar(&birth, "birth-date", "", "birth date, YYYY-MM-DD")
	fs.StringVar(&req.TerritoryCode, "territory", "", "territory code, T01..T18")
	fs.StringVar(&req.Contact.Email, "email", "", "e-mail address")
	fs.StringVar(&req.Contact.Phone, "phone", "", "French phone number: 0X XX XX XX XX or +33 X XX XX XX XX")
	fs.StringVar(&req.Contact.CommuneCode, "commune", "", "INSEE code of the commune of residence, e.g. 27229")
	fs.BoolVar(&req.Situation.JobSeeker, "job-seeker", false, "registered as a job seeker with France Travail")
	fs.StringVar(&req.Situation.FranceTravailId, "france-travail-id", "", "France Travail identifier: 7 digits and a digit or letter")
	fs.BoolVar(&req.Situation.RsaRecipient, "rsa", false, "receives the minimum income (RSA)")
	fs.BoolVar(&req.Rqth, "rqth", false, "recognised disability (RQTH); special-category data")
	fs.StringVar(&education, "education-level", "", "education level: "+educationLevels.names())
	fs.BoolVar(&req.Situation.QpvResident, "qpv", false, "lives in a priority area of city policy (QPV)")
	fs.BoolVar(&req.Situation.ZrrResident, "zrr", false, "lives in a rural revitalisation area (ZRR)")
	fs.StringVar(&referral, "referral-source", "", "who sent the person: "+referralSources.names())
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one); retrying with the same key registers nobody twice")
	for _, name := range []string{"family-name", "given-name", "birth-date", "territory", "commune", "education-level", "referral-source"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newLearnersGetCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "get LEARNER_ID",
		Short: "Show a learner",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: args[0]})
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
			})
		},
	}
	addClientFlags(cmd.Flags(), &f)
	return cmd
}

func newLearnersUpdateContactCmd() *cobra.Command {
	var f clientFlags
	var req intakev1.UpdateContactRequest
	var email, phone, commune string
	cmd := &cobra.Command{
		Use:   "update-contact LEARNER_ID",
		Short: "Change a learner's e-mail, phone or commune",
		Long: `Change a learner's e-mail, phone or commune; only the flags given change.
An empty --email or --phone removes it, as long as the learner keeps one of the two.`,
		Example: `  avenir learners update-contact 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --email lea.martin@example.fr --phone ""`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			req.Email = learnerChangedString(fs, "email", email)
			req.Phone = learnerChangedString(fs, "phone", phone)
			req.CommuneCode = learnerChangedString(fs, "commune", commune)
			if req.Email == nil && req.Phone == nil && req.CommuneCode == nil {
				return usageError{errors.New("nothing to change: give --email, --phone or --commune")}
			}
			req.LearnerId = args[0]
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).UpdateContact(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&email, "email", "", "new e-mail address (empty: remove it)")
	fs.StringVar(&phone, "phone", "", "new French phone number (empty: remove it)")
	fs.StringVar(&commune, "commune", "", "INSEE code of the new commune of residence")
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	return cmd
}

func newLearnersUpdateSituationCmd() *cobra.Command {
	var f clientFlags
	var req intakev1.UpdateSituationRequest
	var (
		effective, ftid, education, referral string
		jobSeeker, rsa, rqth, qpv, zrr       bool
	)
	cmd := &cobra.Command{
		Use:   "update-situation LEARNER_ID",
		Short: "Record a change of a learner's situation from a date",
		Long: `Record a change of a learner's situation from an effective date (not in the
future, not before the registration nor the previous change); only the flags
given change, and every change is kept (see learners history).`,
		Example: `  avenir learners update-situation 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --effective-date 2026-12-01 \
      --job-seeker=false --rsa --education-level 5`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			var err error
			if req.EffectiveDate, err = parseDate("effective-date", effective); err != nil {
				return err
			}
			req.JobSeeker = learnerChangedBool(fs, "job-seeker", jobSeeker)
			req.FranceTravailId = learnerChangedString(fs, "france-travail-id", ftid)
			req.RsaRecipient = learnerChangedBool(fs, "rsa", rsa)
			req.Rqth = learnerChangedBool(fs, "rqth", rqth)
			req.QpvResident = learnerChangedBool(fs, "qpv", qpv)
			req.ZrrResident = learnerChangedBool(fs, "zrr", zrr)
			if fs.Changed("education-level") {
				n, err := educationLevels.parse("education-level", education)
				if err != nil {
					return err
				}
				req.EducationLevel = intakev1.EducationLevel(n).Enum()
			}
			if fs.Changed("referral-source") {
				n, err := referralSources.parse("referral-source", referral)
				if err != nil {
					return err
				}
				req.ReferralSource = intakev1.ReferralSource(n).Enum()
			}
			if req.JobSeeker == nil && req.FranceTravailId == nil && req.RsaRecipient == nil && req.Rqth == nil &&
				req.QpvResident == nil && req.ZrrResident == nil && req.EducationLevel == nil && req.ReferralSource == nil {
				return usageError{errors.New("nothing to change: give at least one situation flag")}
			}
			req.LearnerId = args[0]
			req.RequestId = requestID(req.RequestId)
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).UpdateSituation(ctx, &req)
				if err != nil {
					return err
				}
				return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&effective, "effective-date", "today", "date from which the change applies, YYYY-MM-DD, today or today-N (Europe/Paris)")
	fs.BoolVar(&jobSeeker, "job-seeker", false, "registered as a job seeker with France Travail")
	fs.StringVar(&ftid, "france-travail-id", "", "France Travail identifier (empty: remove it)")
	fs.BoolVar(&rsa, "rsa", false, "receives the minimum income (RSA)")
	fs.BoolVar(&rqth, "rqth", false, "recognised disability (RQTH); special-category data")
	fs.StringVar(&education, "education-level", "", "education level: "+educationLevels.names())
	fs.BoolVar(&qpv, "qpv", false, "lives in a priority area of city policy (QPV)")
	fs.BoolVar(&zrr, "zrr", false, "lives in a rural revitalisation area (ZRR)")
	fs.StringVar(&referral, "referral-source", "", "who sent the person: "+referralSources.names())
	fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one)")
	return cmd
}

func newLearnersSearchCmd() *cobra.Command {
	var f clientFlags
	var req intakev1.SearchLearnersRequest
	cmd := &cobra.Command{
		Use:   "search",
		Short: "List the learners you may see, by family name, territory or France Travail identifier",
		Long: `List the learners you may see, ordered by family name: referents and operators
see those of their territories, funders and admins all of them. Names compare
without accents, case, hyphens or apostrophes. Pass the printed next page
token to --page-token, with the same criteria, for the next page.`,
		Example: `  avenir learners search --family-name lefevre --territory T05
  avenir learners search --france-travail-id 1234567A -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).SearchLearners(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				return printLearnerList(cmd.OutOrStdout(), resp)
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.StringVar(&req.FamilyNamePrefix, "family-name", "", "start of the family name")
	fs.StringVar(&req.TerritoryCode, "territory", "", "only this territory")
	fs.StringVar(&req.FranceTravailId, "france-travail-id", "", "only the learner holding this France Travail identifier")
	fs.Int32Var(&req.PageSize, "page-size", 0, "learners per page (default 50, at most 200)")
	fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
	return cmd
}

func newLearnersHistoryCmd() *cobra.Command {
	var f clientFlags
	req := intakev1.GetLearnerHistoryRequest{}
	cmd := &cobra.Command{
		Use:   "history LEARNER_ID",
		Short: "List a learner's changes: registration, contact and situation changes",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.LearnerId = args[0]
			return f.call(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := intakev1.NewIntakeServiceClient(conn).GetLearnerHistory(ctx, &req)
				if err != nil {
					return err
				}
				if f.output == "json" {
					return f.print(cmd.OutOrStdout(), resp, nil)
				}
				return printLearnerHistory(cmd.OutOrStdout(), resp)
			})
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f)
	fs.Int32Var(&req.PageSize, "page-size", 0, "changes per page (default 50, at most 200)")
	fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
	return cmd
}

func learnerRows(l *intakev1.Learner) []field {
	s := l.GetSituation()
	rows := []field{
		{"LEARNER ID", l.GetLearnerId()},
		{"FAMILY NAME", l.GetFamilyName()},
		{"GIVEN NAME", l.GetGivenName()},
		{"BIRTH DATE", dateString(l.GetBirthDate())},
		{"TERRITORY", l.GetTerritoryCode()},
		{"REGISTERED AT", l.GetRegisteredAt().AsTime().In(civil.Paris).Format("2006-01-02 15:04:05 MST")},
		{"SENIOR AT ENTRY", learnerYesNo(l.GetSeniorAtEntry())},
		{"EMAIL", l.GetContact().GetEmail()},
		{"PHONE", l.GetContact().GetPhone()},
		{"COMMUNE", l.GetContact().GetCommuneCode()},
		{"SITUATION SINCE", dateString(l.GetSituationSince())},
		{"JOB SEEKER", learnerYesNo(s.GetJobSeeker())},
		{"FRANCE TRAVAIL ID", s.GetFranceTravailId()},
		{"RSA", learnerYesNo(s.GetRsaRecipient())},
		{"EDUCATION LEVEL", educationLevels.name(protoreflect.EnumNumber(s.GetEducationLevel()))},
		{"QPV", learnerYesNo(s.GetQpvResident())},
		{"ZRR", learnerYesNo(s.GetZrrResident())},
		{"REFERRAL SOURCE", referralSources.name(protoreflect.EnumNumber(s.GetReferralSource()))},
	}
	// Special-category data: the server sends it only to those who may see it.
	if l.Rqth != nil {
		rows = append(rows, field{"RQTH", learnerYesNo(l.GetRqth())})
	}
	return rows
}

// printLearnerList writes one row per learner, then the next page token.
func printLearnerList(w io.Writer, resp *intakev1.SearchLearnersResponse) error {
	rows := [][]string{{"LEARNER ID", "FAMILY NAME", "GIVEN NAME", "BIRTH DATE", "TERRITORY", "COMMUNE", "FRANCE TRAVAIL ID"}}
	for _, l := range resp.GetLearners() {
		rows = append(rows, []string{
			l.GetLearnerId(), l.GetFamilyName(), l.GetGivenName(), dateString(l.GetBirthDate()),
			l.GetTerritoryCode(), l.GetContact().GetCommuneCode(), l.GetSituation().GetFranceTravailId(),
		})
	}
	return printLearnerTable(w, rows, resp.GetNextPageToken())
}

// printLearnerHistory writes one row per change, then the next page token.
func printLearnerHistory(w io.Writer, resp *intakev1.GetLearnerHistoryResponse) error {
	rows := [][]string{{"RECORDED AT", "EFFECTIVE ON", "CHANGE", "ACTOR", "DETAILS"}}
	for _, c := range resp.GetChanges() {
		l := c.GetLearner()
		var details string
		switch c.GetKind() {
		case intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_REGISTERED:
			details = fmt.Sprintf("%s %s, %s", l.GetFamilyName(), l.GetGivenName(), l.GetTerritoryCode())
		case intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_CONTACT_UPDATED:
			ct := l.GetContact()
			details = fmt.Sprintf("email=%s phone=%s commune=%s", ct.GetEmail(), ct.GetPhone(), ct.GetCommuneCode())
		case intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_SITUATION_UPDATED:
			details = learnerSituationSummary(l)
		}
		rows = append(rows, []string{
			c.GetRecordedAt().AsTime().In(civil.Paris).Format("2006-01-02 15:04:05"),
			dateString(c.GetEffectiveOn()),
			strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(c.GetKind().String(), "LEARNER_CHANGE_KIND_")), "_", "-"),
			c.GetActor(), details,
		})
	}
	return printLearnerTable(w, rows, resp.GetNextPageToken())
}

// learnerSituationSummary lists a learner's situation on one line.
func learnerSituationSummary(l *intakev1.Learner) string {
	s := l.GetSituation()
	parts := []string{
		"job-seeker=" + learnerYesNo(s.GetJobSeeker()),
		"france-travail-id=" + s.GetFranceTravailId(),
		"rsa=" + learnerYesNo(s.GetRsaRecipient()),
		"education-level=" + educationLevels.name(protoreflect.EnumNumber(s.GetEducationLevel())),
		"qpv=" + learnerYesNo(s.GetQpvResident()),
		"zrr=" + learnerYesNo(s.GetZrrResident()),
		"referral-source=" + referralSources.name(protoreflect.EnumNumber(s.GetReferralSource())),
	}
	if l.Rqth != nil {
		parts = append(parts, "rqth="+learnerYesNo(l.GetRqth()))
	}
	return strings.Join(parts, " ")
}

// printLearnerTable writes rows (the first is the header) as aligned
// columns, then the next page token when there is one.
func printLearnerTable(w io.Writer, rows [][]string, nextPageToken string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if nextPageToken != "" {
		_, err := fmt.Fprintf(w, "NEXT PAGE TOKEN: %s\n", nextPageToken)
		return err
	}
	return nil
}

func learnerYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// learnerChangedString is the flag's value when it was given, nil otherwise.
func learnerChangedString(fs *pflag.FlagSet, name, value string) *string {
	if !fs.Changed(name) {
		return nil
	}
	return &value
}

// learnerChangedBool is the flag's value when it was given, nil otherwise.
func learnerChangedBool(fs *pflag.FlagSet, name string, value bool) *bool {
	if !fs.Changed(name) {
		return nil
	}
	return &value
}
