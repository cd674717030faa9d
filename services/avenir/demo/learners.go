package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	needsv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

var familyNames = []string{
	"Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
	"Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
	"Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André",
	"Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
	"Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Masson", "Marchand",
	"Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
	"Benali", "Diallo", "Nguyen", "Haddad", "Traoré", "Lebrun", "Hébert", "Lecomte", "Vasseur", "Lemonnier",
}

var givenNames = []string{
	"Léa", "Emma", "Chloé", "Inès", "Manon", "Camille", "Sarah", "Jade", "Louise", "Lina",
	"Zoé", "Alice", "Maëlle", "Nour", "Yasmine", "Aïcha", "Julie", "Sandrine", "Nathalie", "Isabelle",
	"Hugo", "Lucas", "Théo", "Nathan", "Enzo", "Louis", "Mathis", "Tom", "Léo", "Noah",
	"Adam", "Mohamed", "Yanis", "Karim", "Kévin", "Julien", "Nicolas", "Sébastien", "Christophe", "Thierry",
	"Océane", "Morgane", "Anthony", "Dylan", "Mamadou", "Fatoumata", "Sofiane", "Amandine", "Jérôme", "Patricia",
}

var fold = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "ï", "i", "î", "i", "ô", "o", "ç", "c", "ü", "u", "û", "u", "É", "e", "Ë", "e")

func emailName(s string) string {
	s = strings.ToLower(fold.Replace(s))
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, s)
}

// identity of a new learner, drawn from its own random source.
type identity struct {
	family, given string
	born          civil.Date
	territory     territory
	req           *intakev1.RegisterLearnerRequest
}

func (s *sim) newIdentity(index, attempt int, day civil.Date) identity {
	r := s.rng("learner", index, attempt)
	t := pickTerritory(s.rng("learner-territory", index))
	family := familyNames[r.IntN(len(familyNames))]
	given := givenNames[r.IntN(len(givenNames))]
	// Ages: mostly 18 to 49, some young people, about one in six 50 or more.
	var age int
	switch x := r.IntN(100); {
	case x < 15:
		age = 16 + r.IntN(3)
	case x < 83:
		age = 19 + r.IntN(31)
	default:
		age = 50 + r.IntN(13)
	}
	born := day.AddDays(-(age*365 + r.IntN(360) + age/4 + 1))
	sit := &intakev1.Situation{
		JobSeeker: r.IntN(10) < 8, RsaRecipient: r.IntN(10) < 2, QpvResident: r.IntN(10) < 2, ZrrResident: r.IntN(10) < 1,
		EducationLevel: []intakev1.EducationLevel{
			intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA, intakev1.EducationLevel_EDUCATION_LEVEL_NO_DIPLOMA,
			intakev1.EducationLevel_EDUCATION_LEVEL_3, intakev1.EducationLevel_EDUCATION_LEVEL_3, intakev1.EducationLevel_EDUCATION_LEVEL_3,
			intakev1.EducationLevel_EDUCATION_LEVEL_4, intakev1.EducationLevel_EDUCATION_LEVEL_4, intakev1.EducationLevel_EDUCATION_LEVEL_5,
		}[r.IntN(8)],
		ReferralSource: []intakev1.ReferralSource{
			intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL, intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL,
			intakev1.ReferralSource_REFERRAL_SOURCE_FRANCE_TRAVAIL, intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE,
			intakev1.ReferralSource_REFERRAL_SOURCE_MISSION_LOCALE, intakev1.ReferralSource_REFERRAL_SOURCE_CAP_EMPLOI,
			intakev1.ReferralSource_REFERRAL_SOURCE_CCAS, intakev1.ReferralSource_REFERRAL_SOURCE_MAISON_FRANCE_SERVICES,
			intakev1.ReferralSource_REFERRAL_SOURCE_SELF, intakev1.ReferralSource_REFERRAL_SOURCE_EMPLOYER,
		}[r.IntN(10)],
	}
	if sit.GetEducationLevel() >= intakev1.EducationLevel_EDUCATION_LEVEL_4 {
		// Above the scheme's public: welcomed with a reason (drawn apart,
		// so the other draws stay as they were).
		sit.EducationLevelJustification = aboveReasons[s.rng("learner-justification", index).IntN(len(aboveReasons))]
	}
	if sit.JobSeeker && r.IntN(10) < 7 {
		// Unique per learner and attempt: 7919 is prime to 10^7.
		n := (uint64(s.opts.Seed)*1_000_003 + uint64(index)*7919 + uint64(attempt)*104_729) % 10_000_000
		sit.FranceTravailId = fmt.Sprintf("%07d%c", n, 'A'+rune((index+attempt)%26))
	}
	contact := &intakev1.Contact{
		Email:       fmt.Sprintf("%s.%s.%d@example.fr", emailName(given), emailName(family), index),
		CommuneCode: t.Commune,
	}
	if r.IntN(3) > 0 {
		contact.Phone = fmt.Sprintf("06%08d", r.IntN(100_000_000))
	}
	return identity{
		family: family, given: given, born: born, territory: t,
		req: &intakev1.RegisterLearnerRequest{
			RequestId: s.rid("register", index, attempt), FamilyName: family, GivenName: given,
			BirthDate: civilpb.FromDate(born), TerritoryCode: t.Code, Rqth: r.IntN(100) < 8, Contact: contact, Situation: sit,
		},
	}
}

// register registers learner index and enters it into the pathway today.
func (s *sim) register(ctx context.Context, index int) (*Learner, error) {
	day := s.today
	for attempt := 0; ; attempt++ {
		id := s.newIdentity(index, attempt, day)
		coord := coordinator(s.world.Coordinators[id.territory.Code], id.territory.Code)
		var resp *intakev1.RegisterLearnerResponse
		err := s.call(ctx, coord, "register learner", func(ctx context.Context, o grpc.CallOption) error {
			var err error
			resp, err = s.c.intake.RegisterLearner(ctx, id.req, o)
			return err
		})
		if status.Code(err) == codes.AlreadyExists && attempt < 5 {
			continue // the same person exists (another run on this server): someone else
		}
		if err != nil {
			return nil, err
		}
		sit := id.req.GetSituation()
		l := &Learner{
			Index: index, ID: resp.GetLearner().GetLearnerId(), Territory: id.territory.Code, Registered: day,
			Born: id.born, RQTH: id.req.GetRqth(), QPV: sit.GetQpvResident(), ZRR: sit.GetZrrResident(), RSA: sit.GetRsaRecipient(),
			Education: sit.GetEducationLevel(),
		}
		ops := s.world.operatorsOf(l.Territory)
		l.OperatorID = ops[s.rng("learner-operator", index).IntN(len(ops))].ID
		return l, s.enter(ctx, l)
	}
}

// enter opens a new episode today, enrols the learner from today with the
// #Avenir contract of its operator, as its referent would, and plans the
// episode.
func (s *sim) enter(ctx context.Context, l *Learner) error {
	n := len(l.Episodes) + 1
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	err := s.callSettling(ctx, coord, "enter pathway", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.pathway.EnterPathway(ctx, &pathwayv1.EnterPathwayRequest{
			RequestId: s.rid("enter", l.Index, n), LearnerId: l.ID, EntryDate: civilpb.FromDate(s.today),
		}, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("learner %d: enter: %w", l.Index, err)
	}
	l.Episodes = append(l.Episodes, &Episode{Number: n, Entry: s.today})
	op := s.world.operator(l.OperatorID)
	if _, err := s.enrol(ctx, l, op.ContractID, op.ID, pathwayv1.EnrolmentKind_ENROLMENT_KIND_ACCOMPANIMENT, s.today, s.rid("enrol", l.Index, n)); err != nil {
		return fmt.Errorf("learner %d: enrol with %s: %w", l.Index, op.ID, err)
	}
	fees := l.plan.fees // of the previous episode, still to claim
	l.plan = s.planEpisode(l, n)
	l.plan.fees = fees
	return nil
}

func weekday(d civil.Date) civil.Date {
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDays(1)
	}
	return d
}

var exitReasons = []struct {
	reason          pathwayv1.ExitReason
	weight          int
	minDays, spread int
}{
	{pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_PERMANENT, 8, 60, 210},
	{pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG, 10, 60, 210},
	{pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT, 9, 45, 210},
	{pathwayv1.ExitReason_EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY, 9, 45, 210},
	{pathwayv1.ExitReason_EXIT_REASON_SELF_EMPLOYED, 3, 90, 180},
	{pathwayv1.ExitReason_EXIT_REASON_QUALIFYING_TRAINING, 20, 75, 195},
	{pathwayv1.ExitReason_EXIT_REASON_OTHER_TRAINING, 9, 60, 210},
	{pathwayv1.ExitReason_EXIT_REASON_ABANDONMENT, 16, 14, 150},
	{pathwayv1.ExitReason_EXIT_REASON_RELOCATION, 5, 20, 200},
	{pathwayv1.ExitReason_EXIT_REASON_HEALTH, 5, 20, 200},
	{pathwayv1.ExitReason_EXIT_REASON_OTHER, 6, 30, 200},
}

// planEpisode decides what happens to the learner in episode n.
func (s *sim) planEpisode(l *Learner, n int) learnerPlan {
	r := s.rng("plan", l.Index, n)
	entry := s.today
	p := learnerPlan{analysisOn: weekday(entry.AddDays(2 + r.IntN(11)))}
	if r.IntN(100) < 60 {
		p.bookOn = weekday(p.analysisOn.AddDays(1 + r.IntN(10)))
	}
	total := 0
	for _, e := range exitReasons {
		total += e.weight
	}
	x := r.IntN(total)
	for _, e := range exitReasons {
		if x < e.weight {
			p.exitReason = e.reason
			p.exitOn = entry.AddDays(e.minDays + r.IntN(e.spread))
			break
		}
		x -= e.weight
	}
	if !p.exitOn.After(p.analysisOn) {
		p.exitOn = p.analysisOn.AddDays(3)
	}
	if r.IntN(100) < 15 {
		p.exitLateDays = 1 + r.IntN(4)
	}
	for k := 2 + r.IntN(3); k > 0; {
		d := r.IntN(5)
		if !p.trainDays[d] {
			p.trainDays[d] = true
			k--
		}
	}
	p.trainMinutes = 120 + 30*r.IntN(7)
	return p
}

var romeRoles = map[string]string{
	"F1703": "Maçon", "F1602": "Électricien du bâtiment", "G1602": "Commis de cuisine", "K2204": "Agent de propreté",
	"H2909": "Monteur-assembleur", "N1103": "Préparateur de commandes", "J1501": "Aide-soignant", "A1203": "Jardinier paysagiste",
	"I1604": "Mécanicien automobile", "H2913": "Soudeur", "D1507": "Employé de libre-service", "G1803": "Serveur",
	"K1304": "Aide à domicile", "F1607": "Menuisier", "H3203": "Opérateur plasturgie", "N4101": "Conducteur poids lourd",
}

// analysisContent is a needs analysis valid for completion.
func (s *sim) analysisContent(l *Learner, n int) *needsv1.AnalysisContent {
	r := s.rng("analysis", l.Index, n)
	c := &needsv1.AnalysisContent{}
	for d := needsv1.SkillDomain_SKILL_DOMAIN_FRENCH_COMMUNICATION; d <= needsv1.SkillDomain_SKILL_DOMAIN_HYGIENE_SAFETY_ENVIRONMENT; d++ {
		c.Skills = append(c.Skills, &needsv1.SkillAssessment{Domain: d, Level: needsv1.SkillLevel(1 + r.IntN(4))})
	}
	if r.IntN(10) < 6 {
		year := min(s.today.Year, l.Born.Year+17+r.IntN(8))
		c.Diplomas = append(c.Diplomas, &needsv1.Diploma{Title: []string{"CAP", "BEP", "Baccalauréat professionnel", "Titre professionnel"}[r.IntN(4)], Level: int32(3 + r.IntN(2)), Year: int32(year)})
	}
	// Target trades: those of the #Action offers of the learner's territory
	// when there are some.
	var local []string
	for _, o := range s.world.Offers {
		if o.Territory == l.Territory {
			local = append(local, o.ROMECodes...)
		}
	}
	if len(local) == 0 {
		local = trades
	}
	var targets []string
	for len(targets) < 1+r.IntN(3) {
		t := local[r.IntN(len(local))]
		if !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
		if len(targets) >= len(local) {
			break
		}
	}
	for k := r.IntN(3); k > 0; k-- {
		code := trades[r.IntN(len(trades))]
		c.Experiences = append(c.Experiences, &needsv1.Experience{Kind: needsv1.ExperienceKind_EXPERIENCE_KIND_WORK, Role: romeRoles[code], RomeCode: code, DurationMonths: int32(1 + r.IntN(48))})
	}
	seen := map[needsv1.BarrierKind]bool{}
	for k := r.IntN(4); k > 0; k-- {
		kind := needsv1.BarrierKind(1 + r.IntN(8))
		if seen[kind] {
			continue
		}
		seen[kind] = true
		c.Barriers = append(c.Barriers, &needsv1.Barrier{Kind: kind, Severity: needsv1.BarrierSeverity(1 + r.IntN(3)), SupportArranged: r.IntN(2) == 0})
	}
	c.Project = &needsv1.ProfessionalProject{
		TargetRomeCodes: targets, Maturity: needsv1.ProjectMaturity(1 + r.IntN(4)),
		Constraints: &needsv1.ProjectConstraints{MaxWeeklyHours: int32(20 + 5*r.IntN(4)), MaxTravelKm: int32(10 + 5*r.IntN(7))},
	}
	c.RecommendedSteps = append(c.RecommendedSteps, &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_ProjectWorkshops{ProjectWorkshops: &needsv1.ProjectWorkshops{Count: int32(1 + r.IntN(5))}}})
	if !l.plan.bookOn.IsZero() {
		c.RecommendedSteps = append(c.RecommendedSteps, &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_TradeDiscovery{TradeDiscovery: &needsv1.TradeDiscovery{RomeCodes: targets}}})
	}
	switch r.IntN(4) {
	case 0:
		c.RecommendedSteps = append(c.RecommendedSteps, &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_BasicSkillsTraining{BasicSkillsTraining: &needsv1.BasicSkillsTraining{}}})
	case 1:
		c.RecommendedSteps = append(c.RecommendedSteps, &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_QualifyingTraining{QualifyingTraining: &needsv1.QualifyingTraining{}}})
	case 2:
		c.RecommendedSteps = append(c.RecommendedSteps, &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_EmploymentSupport{EmploymentSupport: &needsv1.EmploymentSupport{}}})
	}
	if r.IntN(8) == 0 {
		c.RecommendedSteps = append(c.RecommendedSteps, &needsv1.RecommendedStep{Step: &needsv1.RecommendedStep_Other{Other: &needsv1.OtherStep{Description: "Atelier code de la route avec l'auto-école sociale"}}})
	}
	return c
}

// analyse starts, drafts and completes the needs analysis of the learner's
// open episode.
func (s *sim) analyse(ctx context.Context, l *Learner) error {
	ep := l.current()
	coord := coordinator(s.world.Coordinators[l.Territory], l.Territory)
	var id string
	err := s.callSettling(ctx, coord, "start analysis", func(ctx context.Context, o grpc.CallOption) error {
		resp, err := s.c.needs.StartAnalysis(ctx, &needsv1.StartAnalysisRequest{RequestId: s.rid("analysis", l.Index, ep.Number), LearnerId: l.ID}, o)
		if status.Code(err) == codes.AlreadyExists {
			if existing := metaOf(err, "analysis_id"); existing != "" {
				id = existing
				return nil
			}
		}
		if err != nil {
			return err
		}
		id = resp.GetAnalysis().GetAnalysisId()
		return nil
	})
	if err != nil {
		return err
	}
	content := s.analysisContent(l, ep.Number)
	err = s.call(ctx, coord, "draft analysis", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.needs.DraftAnalysis(ctx, &needsv1.DraftAnalysisRequest{RequestId: s.rid("draft", l.Index, ep.Number), AnalysisId: id, Content: content}, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("draft analysis: %w", err)
	}
	err = s.call(ctx, coord, "complete analysis", func(ctx context.Context, o grpc.CallOption) error {
		_, err := s.c.needs.CompleteAnalysis(ctx, &needsv1.CompleteAnalysisRequest{RequestId: s.rid("complete", l.Index, ep.Number), AnalysisId: id}, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete analysis: %w", err)
	}
	ep.AnalysisID, ep.AnalysisCompleted = id, s.today
	return nil
}

// pick draws an index in [0,n) favouring the first ones.
func pick(r *rand.Rand, n int) int {
	if n <= 1 {
		return 0
	}
	if r.IntN(3) > 0 {
		return 0
	}
	return r.IntN(n)
}

// aboveReasons are why the demo's people above the scheme's public
// (education level 4 and up) are welcomed all the same.
var aboveReasons = []string{
	"Diplôme obtenu il y a plus de vingt ans, jamais exercé : reconversion nécessaire.",
	"Diplôme étranger non reconnu en France.",
	"Sortie d'un long arrêt maladie, remise à niveau avant une formation qualifiante.",
	"Licenciement économique, compétences de base à consolider (avis de France Travail).",
}
