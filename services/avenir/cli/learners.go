package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	intakecontract "github.com/avenir-normandie/avenir/proto/contract/intake"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

func newLearnersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "learners", Short: "Register, update, search and read learners (intake)"}
	cmd.AddCommand(newLearnersRegisterCmd(), newLearnersGetCmd(), newLearnersSearchCmd(),
		newLearnersUpdateContactCmd(), newLearnersUpdateSituationCmd(), newLearnersHistoryCmd(), newLearnersEraseCmd())
	cmd.AddCommand(newLearnersExportCmd())
	return cmd
}

// Accepted values of the enum flags: the proto value names without their
// prefix, lower case, with hyphens ("no-diploma", "3", "mission-locale").
var (
	educationLevels = enumFlag{intakev1.EducationLevel(0).Descriptor(), "EDUCATION_LEVEL_"}
	referralSources = enumFlag{intakev1.ReferralSource(0).Descriptor(), "REFERRAL_SOURCE_"}
	erasureGrounds  = enumFlag{intakev1.ErasureGround(0).Descriptor(), "ERASURE_GROUND_"}
	// Printed only.
	learnerChangeKinds = enumFlag{intakev1.LearnerChangeKind(0).Descriptor(), "LEARNER_CHANGE_KIND_"}
)

// intakeCommand builds a command calling RPCs of IntakeService.
func intakeCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c intakev1.IntakeServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(intakev1.NewIntakeServiceClient, use, short, example, args, setup, run)
}

func newLearnersRegisterCmd() *cobra.Command {
	req := intakev1.RegisterLearnerRequest{Contact: &intakev1.Contact{}, Situation: &intakev1.Situation{}}
	var birth, education, referral string
	var territory []string
	cmd := intakeCommand("register", "Register a person welcomed into #Avenir",
		`  avenir learners register --family-name Martin --given-name Léa --birth-date 2001-05-14 \
      --territory T05 --commune 27229 --phone "06 12 34 56 78" \
      --education-level 4 --education-justification "Bac obtenu en 1995, sans emploi depuis trois ans" \
      --referral-source mission-locale --job-seeker --france-travail-id 1234567A`,
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.FamilyName, "family-name", "", "family name")
			fs.StringVar(&req.GivenName, "given-name", "", "given name")
			fs.StringVar(&birth, "birth-date", "", "birth date, YYYY-MM-DD")
			fs.StringSliceVar(&territory, "territory", nil, "the learner's territory (one), T01..T18")
			fs.StringVar(&req.Contact.Email, "email", "", "e-mail address")
			fs.StringVar(&req.Contact.Phone, "phone", "", "French phone number: 0X XX XX XX XX or +33 X XX XX XX XX")
			fs.StringVar(&req.Contact.CommuneCode, "commune", "", "INSEE code of the commune of residence, e.g. 27229")
			fs.BoolVar(&req.Situation.JobSeeker, "job-seeker", false, "registered as a job seeker with France Travail")
			fs.StringVar(&req.Situation.FranceTravailId, "france-travail-id", "", "France Travail identifier: 7 digits and a digit or letter")
			fs.BoolVar(&req.Situation.RsaRecipient, "rsa", false, "receives the minimum income (RSA)")
			fs.BoolVar(&req.Rqth, "rqth", false, "recognised disability (RQTH); special-category data")
			fs.StringVar(&education, "education-level", "", "education level: "+educationLevels.names())
			fs.StringVar(&req.Situation.EducationLevelJustification, "education-justification", "",
				"why a person above the scheme's public is welcomed: required with an education level of 4 and up, refused below (1..500 characters)")
			fs.BoolVar(&req.Situation.QpvResident, "qpv", false, "lives in a priority area of city policy (QPV)")
			fs.BoolVar(&req.Situation.ZrrResident, "zrr", false, "lives in a rural revitalisation area (ZRR)")
			fs.StringVar(&referral, "referral-source", "", "who sent the person: "+referralSources.names())
			fs.StringVar(&req.RequestId, "request-id", "", "idempotency key (default: a new one); retrying with the same key registers nobody twice")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			var err error
			if req.BirthDate, err = parseDate("birth-date", birth); err != nil {
				return err
			}
			if req.TerritoryCode, err = oneTerritory(territory, "a learner"); err != nil {
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
			resp, err := c.RegisterLearner(ctx, &req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
		})
	cmd.Long = `Register a person welcomed into #Avenir.

An e-mail address or a phone number is required, and the commune of residence
(INSEE code) must lie in the département of the territory. A person above the
scheme's public (education level 4 and up: the baccalauréat or more) is
registered with --education-justification, saying why the person is welcomed. A person already
registered (same France Travail identifier, or same names and birth date) is
refused with AlreadyExists, which names the existing learner.`
	return required(cmd, "family-name", "given-name", "birth-date", "territory", "commune", "education-level", "referral-source")
}

func newLearnersGetCmd() *cobra.Command {
	return intakeCommand("get LEARNER_ID", "Show a learner", "  avenir learners get 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89",
		cobra.ExactArgs(1), nil,
		func(ctx context.Context, cmd *cobra.Command, args []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			resp, err := c.GetLearner(ctx, &intakev1.GetLearnerRequest{LearnerId: args[0]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
		})
}

func newLearnersUpdateContactCmd() *cobra.Command {
	var rid, email, phone, commune string
	cmd := intakeCommand("update-contact LEARNER_ID", "Change a learner's e-mail, phone or commune",
		`  avenir learners update-contact 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --email lea.martin@example.fr --phone ""`,
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&email, "email", "", "new e-mail address (empty: remove it)")
			fs.StringVar(&phone, "phone", "", "new French phone number (empty: remove it)")
			fs.StringVar(&commune, "commune", "", "INSEE code of the new commune of residence")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			fs := cmd.Flags()
			req := &intakev1.UpdateContactRequest{RequestId: requestID(rid), LearnerId: args[0],
				Email: changed(fs, "email", email), Phone: changed(fs, "phone", phone), CommuneCode: changed(fs, "commune", commune)}
			if req.Email == nil && req.Phone == nil && req.CommuneCode == nil {
				return nothingToChange("--email", "--phone or --commune")
			}
			resp, err := c.UpdateContact(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
		})
	cmd.Long = `Change a learner's e-mail, phone or commune; only the flags given change.
An empty --email or --phone removes it, as long as the learner keeps one of the two.`
	return cmd
}

func newLearnersUpdateSituationCmd() *cobra.Command {
	var (
		rid, effective, ftid, education, referral string
		justification                             string
		jobSeeker, rsa, rqth, qpv, zrr            bool
	)
	cmd := intakeCommand("update-situation LEARNER_ID", "Record a change of a learner's situation from a date",
		`  avenir learners update-situation 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --effective-date 2026-12-01 \
      --job-seeker=false --rsa --education-level 5`,
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&effective, "effective-date", "today", "date from which the change applies, "+dateHelp)
			fs.BoolVar(&jobSeeker, "job-seeker", false, "registered as a job seeker with France Travail")
			fs.StringVar(&ftid, "france-travail-id", "", "France Travail identifier (empty: remove it)")
			fs.BoolVar(&rsa, "rsa", false, "receives the minimum income (RSA)")
			fs.BoolVar(&rqth, "rqth", false, "recognised disability (RQTH); special-category data")
			fs.StringVar(&education, "education-level", "", "education level: "+educationLevels.names())
			fs.StringVar(&justification, "education-justification", "",
				"why a person above the scheme's public is welcomed: required when the level becomes 4 and up, refused below")
			fs.BoolVar(&qpv, "qpv", false, "lives in a priority area of city policy (QPV)")
			fs.BoolVar(&zrr, "zrr", false, "lives in a rural revitalisation area (ZRR)")
			fs.StringVar(&referral, "referral-source", "", "who sent the person: "+referralSources.names())
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			fs := cmd.Flags()
			req := &intakev1.UpdateSituationRequest{RequestId: requestID(rid), LearnerId: args[0],
				JobSeeker: changed(fs, "job-seeker", jobSeeker), FranceTravailId: changed(fs, "france-travail-id", ftid),
				RsaRecipient: changed(fs, "rsa", rsa), Rqth: changed(fs, "rqth", rqth),
				QpvResident: changed(fs, "qpv", qpv), ZrrResident: changed(fs, "zrr", zrr),
				EducationLevelJustification: changed(fs, "education-justification", justification)}
			var err error
			if req.EffectiveDate, err = parseDate("effective-date", effective); err != nil {
				return err
			}
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
				req.QpvResident == nil && req.ZrrResident == nil && req.EducationLevel == nil && req.ReferralSource == nil &&
				req.EducationLevelJustification == nil {
				return nothingToChange("at least one situation flag")
			}
			resp, err := c.UpdateSituation(ctx, req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
		})
	cmd.Long = `Record a change of a learner's situation from an effective date (not in the
future, not before the registration nor the previous change); only the flags
given change, and every change is kept (see learners history). A change to an
education level of 4 and up (above the scheme's public) needs
--education-justification; a change to 3 and below drops the justification.`
	return cmd
}

func newLearnersSearchCmd() *cobra.Command {
	var req intakev1.SearchLearnersRequest
	var codes []string
	cmd := intakeCommand("search", "List the learners you may see, by family name, territory or France Travail identifier",
		`  avenir learners search --family-name lefevre --territory T05
  avenir learners search --territory T05 --territory T14 -o json
  avenir learners search --france-travail-id 1234567A -o json`,
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.FamilyNamePrefix, "family-name", "", "start of the family name")
			addTerritories(fs, &codes, "only these territories")
			fs.StringVar(&req.FranceTravailId, "france-travail-id", "", "only the learner holding this France Travail identifier")
			addPage(fs, &req.PageSize, &req.PageToken, "learners")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*intakev1.SearchLearnersResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.SearchLearners(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*intakev1.SearchLearnersResponse]) error {
					return listAnswers(w, answers, learnerListHeader, learnerListRows, (*intakev1.SearchLearnersResponse).GetNextPageToken)
				})
		})
	cmd.Long = `List the learners you may see, ordered by family name: referents see those of
their territories, operators those enrolled with them (now or in the last 30
days), funders and admins all of them. Names compare
without accents, case, hyphens or apostrophes. Pass the printed next page
token to --page-token, with the same criteria, for the next page. With several
territories, each is searched in turn and the learners listed together.`
	return cmd
}

func newLearnersHistoryCmd() *cobra.Command {
	var size int32
	var token string
	return intakeCommand("history LEARNER_ID", "List a learner's changes: registration, contact and situation changes",
		"  avenir learners history 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) { addPage(fs, &size, &token, "changes") },
		func(ctx context.Context, cmd *cobra.Command, args []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			resp, err := c.GetLearnerHistory(ctx, &intakev1.GetLearnerHistoryRequest{LearnerId: args[0], PageSize: size, PageToken: token})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			return listTable(cmd.OutOrStdout(), learnerHistoryRows(resp), resp.GetNextPageToken())
		})
}

func newLearnersEraseCmd() *cobra.Command {
	req := intakev1.EraseLearnerRequest{}
	var ground string
	cmd := intakeCommand("erase LEARNER_ID --ground GROUND --reference REF", "Erase a learner's personal data (admins)",
		`  avenir learners erase 0193a8c4-5b7e-7c2d-9a1f-3e4d5c6b7a89 --ground request --reference "courrier 2026-114"`,
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&ground, "ground", "", "why: "+erasureGrounds.names())
			fs.StringVar(&req.Reference, "reference", "", "the case's reference (a ticket, a letter's number), with no personal data: it stays")
			addRequestID(fs, &req.RequestId)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c intakev1.IntakeServiceClient, f *clientFlags) error {
			g, err := erasureGrounds.parse("ground", ground)
			if err != nil {
				return err
			}
			req.LearnerId, req.Ground, req.RequestId = args[0], intakev1.ErasureGround(g), requestID(req.RequestId)
			resp, err := c.EraseLearner(ctx, &req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetLearner(), learnerRows(resp.GetLearner()))
		})
	cmd.Long = `Erase a learner's personal data (GDPR art. 17), for good: its data key is
destroyed, so no stored copy of its names, birth date, contact, situation or
free texts can be read again, by any service; it then reads as "` + intakecontract.ErasedName + `".
Its id, territory and dates stay, pseudonymous: billing lines, statements and
statistics do not change.

Refused, with the reason, while the learner is in an open episode, has lines
on a statement not closed yet, or counts in statistics of a month not frozen
yet (the message says from which day). Erasing an erased learner shows the
erasure recorded.`
	return required(cmd, "ground", "reference")
}

func learnerRows(l *intakev1.Learner) []field {
	if l.GetErased() {
		// Nothing personal is left: the pseudonymous id, the territory and
		// the dates.
		return []field{
			{"LEARNER ID", l.GetLearnerId()},
			{"NAME", intakecontract.ErasedName},
			{"ERASED ON", dateString(l.GetErasedOn())},
			{"TERRITORY", l.GetTerritoryCode()},
			{"REGISTERED AT", parisTime(l.GetRegisteredAt()) + " " + l.GetRegisteredAt().AsTime().In(civil.Paris).Format("MST")},
		}
	}
	rows := []field{
		{"LEARNER ID", l.GetLearnerId()},
		{"FAMILY NAME", l.GetFamilyName()},
		{"GIVEN NAME", l.GetGivenName()},
	}
	// A funder is sent what billing needs only: the rows the server left
	// out are not shown (rather than as empty or "no").
	if l.GetBirthDate() != nil {
		rows = append(rows, field{"BIRTH DATE", dateString(l.GetBirthDate())})
	}
	rows = append(rows,
		field{"TERRITORY", l.GetTerritoryCode()},
		field{"REGISTERED AT", parisTime(l.GetRegisteredAt()) + " " + l.GetRegisteredAt().AsTime().In(civil.Paris).Format("MST")},
	)
	if l.GetBirthDate() != nil {
		rows = append(rows, field{"SENIOR AT ENTRY", yesNo(l.GetSeniorAtEntry())})
	}
	if c := l.GetContact(); c != nil {
		rows = append(rows, field{"EMAIL", c.GetEmail()}, field{"PHONE", c.GetPhone()}, field{"COMMUNE", c.GetCommuneCode()})
	}
	if s := l.GetSituation(); s != nil {
		rows = append(rows,
			field{"SITUATION SINCE", dateString(l.GetSituationSince())},
			field{"JOB SEEKER", yesNo(s.GetJobSeeker())},
			field{"FRANCE TRAVAIL ID", s.GetFranceTravailId()},
			field{"RSA", yesNo(s.GetRsaRecipient())},
			field{"EDUCATION LEVEL", educationLevels.name(protoreflect.EnumNumber(s.GetEducationLevel()))},
			field{"QPV", yesNo(s.GetQpvResident())},
			field{"ZRR", yesNo(s.GetZrrResident())},
			field{"REFERRAL SOURCE", referralSources.name(protoreflect.EnumNumber(s.GetReferralSource()))},
		)
		// Above the scheme's public only; on one line (the JSON output keeps
		// its lines).
		if j := s.GetEducationLevelJustification(); j != "" {
			rows = append(rows, field{"EDUCATION JUSTIFICATION", strings.Join(strings.Fields(j), " ")})
		}
	}
	// Special-category data: the server sends it only to those who may see it.
	if l.Rqth != nil {
		rows = append(rows, field{"RQTH", yesNo(l.GetRqth())})
	}
	return rows
}

var learnerListHeader = []string{"LEARNER ID", "FAMILY NAME", "GIVEN NAME", "BIRTH DATE", "TERRITORY", "COMMUNE", "FRANCE TRAVAIL ID"}

// learnerListRows is one row per learner found.
func learnerListRows(resp *intakev1.SearchLearnersResponse) [][]string {
	var rows [][]string
	for _, l := range resp.GetLearners() {
		rows = append(rows, []string{
			l.GetLearnerId(), l.GetFamilyName(), l.GetGivenName(), dateString(l.GetBirthDate()),
			l.GetTerritoryCode(), l.GetContact().GetCommuneCode(), l.GetSituation().GetFranceTravailId(),
		})
	}
	return rows
}

// learnerHistoryRows is the header, then one row per change.
func learnerHistoryRows(resp *intakev1.GetLearnerHistoryResponse) [][]string {
	rows := [][]string{{"RECORDED AT", "EFFECTIVE ON", "CHANGE", "ACTOR", "DETAILS"}}
	for _, c := range resp.GetChanges() {
		l := c.GetLearner()
		var details string
		kind := learnerChangeKinds.name(c.GetKind().Number())
		switch {
		case c.GetKind() == intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_ERASED:
			details = fmt.Sprintf("erased on %s, ground %s, reference %s", dateString(l.GetErasedOn()),
				erasureGrounds.name(c.GetErasureGround().Number()), c.GetErasureReference())
		case l.GetErased():
			// What the change was is gone with the person.
			details = intakecontract.ErasedName
		case c.GetKind() == intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_REGISTERED:
			details = fmt.Sprintf("%s %s, %s", l.GetFamilyName(), l.GetGivenName(), l.GetTerritoryCode())
		case c.GetKind() == intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_CONTACT_UPDATED:
			ct := l.GetContact()
			details = fmt.Sprintf("email=%s phone=%s commune=%s", ct.GetEmail(), ct.GetPhone(), ct.GetCommuneCode())
		case c.GetKind() == intakev1.LearnerChangeKind_LEARNER_CHANGE_KIND_SITUATION_UPDATED:
			details = learnerSituationSummary(l)
		}
		rows = append(rows, []string{
			parisTime(c.GetRecordedAt()),
			dateString(c.GetEffectiveOn()),
			kind, c.GetActor(), details,
		})
	}
	return rows
}

// learnerSituationSummary lists a learner's situation on one line.
func learnerSituationSummary(l *intakev1.Learner) string {
	s := l.GetSituation()
	parts := []string{
		"job-seeker=" + yesNo(s.GetJobSeeker()),
		"france-travail-id=" + s.GetFranceTravailId(),
		"rsa=" + yesNo(s.GetRsaRecipient()),
		"education-level=" + educationLevels.name(protoreflect.EnumNumber(s.GetEducationLevel())),
		"qpv=" + yesNo(s.GetQpvResident()),
		"zrr=" + yesNo(s.GetZrrResident()),
		"referral-source=" + referralSources.name(protoreflect.EnumNumber(s.GetReferralSource())),
	}
	if j := s.GetEducationLevelJustification(); j != "" {
		parts = append(parts, fmt.Sprintf("education-justification=%q", j))
	}
	if l.Rqth != nil {
		parts = append(parts, "rqth="+yesNo(l.GetRqth()))
	}
	return strings.Join(parts, " ")
}
