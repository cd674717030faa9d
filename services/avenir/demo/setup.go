package demo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/grpc"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	referentv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// trades the simulation uses (ROME codes).
var trades = []string{
	"F1703", "F1602", "G1602", "K2204", "H2909", "N1103", "J1501", "A1203",
	"I1604", "H2913", "D1507", "G1803", "K1304", "F1607", "H3203", "N4101",
}

var organisations = []string{"AFPA", "GRETA", "CCI", "IFPA", "CIBC", "Mission locale", "ADAPT", "Infrep"}

var referentFamily = []string{"Leroy", "Martin", "Lefèvre", "Dubois", "Moreau", "Lambert", "Girard", "Roussel", "Marie", "Lemaire", "Duval", "Hamel", "Lecomte", "Vasseur", "Guérin"}
var referentGiven = []string{"Anne", "Paul", "Claire", "Karim", "Sophie", "Julien", "Nadia", "Thomas", "Émilie", "Olivier", "Fatima", "Marc", "Hélène", "Yann", "Céline"}

// Rates and fees of every contract, in cents.
const (
	feeNeeds        = 15000
	feeImmersion    = 20000
	feeImmersionPar = 10000
	feeEmployment   = 50000
	feeQualifying   = 40000
	perLearnerCents = 300000 // expected cost of a learner, for envelopes
	maxCapacity     = 12     // places of a session, at most
)

// setup creates the reference data on day 0: referents, operators and
// their #Action offers, their contracts, the programmes' figures for the
// years of the run. Sessions are scheduled along the year.
func (s *sim) setup(ctx context.Context) error {
	if err := s.setupReferents(ctx); err != nil {
		return err
	}
	s.setupOperators()
	if err := s.setupOffers(ctx); err != nil {
		return err
	}
	if err := s.setupContracts(ctx); err != nil {
		return err
	}
	return s.setupProgrammes(ctx)
}

func (s *sim) setupReferents(ctx context.Context) error {
	w := s.world
	type spec struct {
		profile *referentv1.ReferentProfile
		ref     *Referent
	}
	var specs []spec
	sum := totalWeight()
	n := 0
	for ti, t := range territories {
		count := max(2, int(math.Round(54*float64(t.Weight)/float64(sum))))
		for k := range count {
			r := s.rng("referent", t.Code, k)
			name := referentGiven[(n*7+3)%len(referentGiven)] + " " + referentFamily[(n*11+ti)%len(referentFamily)]
			terrs := []string{t.Code}
			// Some referents also serve a neighbouring territory of the
			// same département.
			if k == count-1 && ti+1 < len(territories) && territories[ti+1].Commune[:2] == t.Commune[:2] && r.IntN(3) == 0 {
				terrs = append(terrs, territories[ti+1].Code)
			}
			var specialties []referentv1.Specialty
			var names []string
			switch k % 4 {
			case 0:
				specialties, names = []referentv1.Specialty{referentv1.Specialty_SPECIALTY_DISABILITY}, []string{"disability"}
			case 1:
				specialties, names = []referentv1.Specialty{referentv1.Specialty_SPECIALTY_SENIORS}, []string{"seniors"}
			case 2:
				specialties, names = []referentv1.Specialty{referentv1.Specialty_SPECIALTY_YOUNG_PEOPLE}, []string{"young-people"}
			}
			if r.IntN(6) == 0 {
				specialties, names = append(specialties, referentv1.Specialty_SPECIALTY_FRENCH_SECOND_LANGUAGE), append(names, "french-second-language")
			}
			languages := []string{"fr"}
			if r.IntN(3) == 0 {
				languages = append(languages, []string{"en", "ar", "es", "pt"}[r.IntN(4)])
			}
			capacity := 30 + r.IntN(31)
			org := organisations[r.IntN(len(organisations))] + " " + t.Name
			specs = append(specs, spec{
				profile: &referentv1.ReferentProfile{
					Name: name, Organisation: org, TerritoryCodes: terrs, Capacity: int32(capacity),
					Specialties: specialties, Languages: languages, Kind: referentv1.ReferentKind_REFERENT_KIND_PEDAGOGICAL,
				},
				ref: &Referent{Name: name, Territories: terrs, Capacity: capacity, Specialties: names},
			})
			n++
		}
	}
	// Economic referents: one per département, two in Seine-Maritime.
	for i, code := range []string{"T01", "T05", "T09", "T13", "T16", "T17"} {
		t := territoryOf(code)
		name := referentGiven[(i*5+1)%len(referentGiven)] + " " + referentFamily[(i*3+2)%len(referentFamily)]
		specs = append(specs, spec{
			profile: &referentv1.ReferentProfile{
				Name: name, Organisation: "CCI " + t.Name, TerritoryCodes: []string{code}, Languages: []string{"fr"},
				Kind: referentv1.ReferentKind_REFERENT_KIND_ECONOMIC,
			},
			ref: &Referent{Name: name, Territories: []string{code}, Economic: true},
		})
	}
	err := s.parallel(ctx, len(specs), func(ctx context.Context, i int) error {
		return s.call(ctx, adminP, "register referent", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.referent.RegisterReferent(ctx, &referentv1.RegisterReferentRequest{
				RequestId: s.rid("referent", i), Profile: specs[i].profile,
			}, o)
			if err != nil {
				return err
			}
			specs[i].ref.ID = resp.GetReferent().GetReferentId()
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, sp := range specs {
		w.Referents = append(w.Referents, sp.ref)
		if !sp.ref.Economic {
			if _, ok := w.Coordinators[sp.ref.Territories[0]]; !ok {
				w.Coordinators[sp.ref.Territories[0]] = sp.ref.ID
			}
		}
	}
	return nil
}

// operatorTerritories: 20 lots covering the 18 territories, some twice.
var operatorTerritories = [][]string{
	{"T01"}, {"T02", "T03"}, {"T03", "T04"}, {"T04"}, {"T05"}, {"T06", "T08"}, {"T07"}, {"T08"},
	{"T09"}, {"T10", "T12"}, {"T11"}, {"T12"}, {"T13"}, {"T14", "T15"}, {"T15"}, {"T16"},
	{"T17"}, {"T18"}, {"T16", "T17", "T18"}, {"T01", "T02", "T03"},
}

// setupOperators draws the operators; their contracts are made once their
// offers are known (setupContracts).
func (s *sim) setupOperators() {
	w := s.world
	sum := totalWeight()
	yearly := float64(s.opts.Learners) * 365 / float64(s.opts.Days)
	from := civil.MonthOf(s.opts.From).First()
	for i, terrs := range operatorTerritories {
		r := s.rng("operator", i)
		id := fmt.Sprintf("op-%02d", i+1)
		t := territoryOf(terrs[0])
		name := organisations[r.IntN(len(organisations))] + " " + t.Name
		// The operator's expected share of the learners: each territory's
		// learners split among the operators covering it.
		share := 0.0
		for _, code := range terrs {
			covering := 0
			for _, other := range operatorTerritories {
				if slices.Contains(other, code) {
					covering++
				}
			}
			share += float64(territoryOf(code).Weight) / float64(sum) / float64(covering)
		}
		envelope := int64(math.Ceil(yearly*share*1.3)) * perLearnerCents
		envelope = max(envelope, 5_000_000)
		w.Operators = append(w.Operators, &Operator{
			ID: id, Name: name, Territories: terrs, Reference: fmt.Sprintf("Avenir %d lot %02d %s", from.Year, i+1, t.Name),
			Weekly: r.IntN(10) < 7, Envelope: envelope,
		})
	}
}

// setupContracts makes the contracts: every operator's #Avenir contract
// for the accompaniment of the learners of its lot (trainee hours, group
// hours, needs analyses, exits), and an #Action contract for each operator
// hosting immersions, which pays the immersions' flat fees, its lot the
// territories of the départements of its platforms (where the learners it
// may host live: a referent books a platform of the learner's territory,
// else of its département).
func (s *sim) setupContracts(ctx context.Context) error {
	w := s.world
	from := civil.MonthOf(s.opts.From).First()
	to := civil.MonthOf(s.opts.From.AddDays(s.opts.Days + 31)).Last()
	type job struct {
		c   *Contract
		req *fundingv1.CreateContractRequest
	}
	var jobs []job
	for _, op := range w.Operators {
		r := s.rng("operator", op.ID, "rates")
		c := &Contract{OperatorID: op.ID, Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, Reference: op.Reference, Territories: op.Territories, Envelope: op.Envelope}
		jobs = append(jobs, job{c, &fundingv1.CreateContractRequest{
			RequestId: s.rid("contract", op.ID),
			Terms: &fundingv1.ContractTerms{
				OperatorId: op.ID, OperatorName: op.Name, Reference: c.Reference, TerritoryCodes: c.Territories, Programme: c.Programme,
				PeriodFrom: civilpb.FromDate(from), PeriodTo: civilpb.FromDate(to),
				TraineeHourRateCents: int64(1100 + 50*r.IntN(9)), GroupHourRateCents: int64(4000 + 250*r.IntN(9)),
				FlatFees: []*fundingv1.FlatFeeRate{
					{FeeType: fundingv1.FeeType_FEE_TYPE_NEEDS_ANALYSIS_COMPLETED, AmountCents: feeNeeds},
					{FeeType: fundingv1.FeeType_FEE_TYPE_EXIT_TO_EMPLOYMENT, AmountCents: feeEmployment},
					{FeeType: fundingv1.FeeType_FEE_TYPE_EXIT_TO_QUALIFYING_TRAINING, AmountCents: feeQualifying},
				},
				AnnualEnvelopeCents: c.Envelope, DailyCapMinutes: 420, WeeklyCapMinutes: 2100, MaxGroupSize: 12,
			},
		}})
	}
	for _, op := range w.Operators {
		if len(op.Offers) == 0 {
			continue
		}
		var lot []string
		sessions := 0
		for _, off := range w.Offers {
			if off.OperatorID != op.ID {
				continue
			}
			sessions += len(off.plan)
			dept := territoryOf(off.Territory).Commune[:2]
			for _, t := range territories {
				if t.Commune[:2] == dept && !slices.Contains(lot, t.Code) {
					lot = append(lot, t.Code)
				}
			}
		}
		slices.Sort(lot)
		// Every place of every session of a year paid in full, and some
		// room: the envelope never stops a fee.
		perYear := math.Max(1, 365/float64(s.opts.Days)) * float64(sessions)
		envelope := max(int64(math.Ceil(perYear*maxCapacity*feeImmersion*1.1/100_000))*100_000, 2_000_000)
		c := &Contract{
			OperatorID: op.ID, Programme: commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION, Territories: lot, Envelope: envelope,
			Reference: fmt.Sprintf("Action %d plateaux %s %s", from.Year, op.ID, territoryOf(op.Territories[0]).Name),
		}
		jobs = append(jobs, job{c, &fundingv1.CreateContractRequest{
			RequestId: s.rid("contract-action", op.ID),
			Terms: &fundingv1.ContractTerms{
				OperatorId: op.ID, OperatorName: op.Name, Reference: c.Reference, TerritoryCodes: lot, Programme: c.Programme,
				PeriodFrom: civilpb.FromDate(from), PeriodTo: civilpb.FromDate(to),
				FlatFees: []*fundingv1.FlatFeeRate{
					{FeeType: fundingv1.FeeType_FEE_TYPE_IMMERSION_COMPLETED, AmountCents: feeImmersion},
					{FeeType: fundingv1.FeeType_FEE_TYPE_IMMERSION_PARTIALLY_COMPLETED, AmountCents: feeImmersionPar},
				},
				AnnualEnvelopeCents: envelope, DailyCapMinutes: 420, WeeklyCapMinutes: 2100, MaxGroupSize: 12,
			},
		}})
	}
	err := s.parallel(ctx, len(jobs), func(ctx context.Context, i int) error {
		return s.call(ctx, adminP, "create contract", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.funding.CreateContract(ctx, jobs[i].req, o)
			if err != nil {
				return err
			}
			jobs[i].c.ID = resp.GetContract().GetContractId()
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		w.Contracts = append(w.Contracts, j.c)
		op := w.operator(j.c.OperatorID)
		if j.c.Programme == commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR {
			op.ContractID = j.c.ID
		} else {
			op.ActionContractID = j.c.ID
		}
	}
	return nil
}

// The scheme's yearly figures (excluding trainees' pay): #Avenir 33 M€ for
// 4,500 beneficiaries, #Action 1.6 M€ for 3,000.
var schemeYears = []struct {
	programme commonv1.FundingProgramme
	envelope  int64
	target    int
}{
	{commonv1.FundingProgramme_FUNDING_PROGRAMME_AVENIR, 33_000_000_00, 4500},
	{commonv1.FundingProgramme_FUNDING_PROGRAMME_ACTION, 1_600_000_00, 3000},
}

// setupProgrammes sets, for each calendar year the run meets, each
// programme's envelope and target: the scheme's, scaled to the learners
// the run lets in a year (4,500 is the scheme's own scale).
func (s *sim) setupProgrammes(ctx context.Context) error {
	yearly := float64(s.opts.Learners) * 365 / float64(s.opts.Days)
	scale := yearly / 4500
	type job struct {
		year int
		req  *fundingv1.SetProgrammeYearRequest
	}
	var jobs []job
	for year := s.opts.From.Year; year <= s.world.Last().Year; year++ {
		for _, p := range schemeYears {
			jobs = append(jobs, job{year, &fundingv1.SetProgrammeYearRequest{
				RequestId: s.rid("programme", int32(p.programme), year), Programme: p.programme, Year: int32(year),
				EnvelopeCents:       int64(math.Round(float64(p.envelope)*scale/100_000)) * 100_000,
				BeneficiariesTarget: int32(max(1, math.Round(float64(p.target)*scale))),
				Reason:              fmt.Sprintf("Démonstration : les chiffres du dispositif ramenés à %d bénéficiaires par an", int(math.Round(yearly))),
			}})
		}
	}
	return s.parallel(ctx, len(jobs), func(ctx context.Context, i int) error {
		return s.call(ctx, adminP, "set programme year", func(ctx context.Context, o grpc.CallOption) error {
			_, err := s.c.funding.SetProgrammeYear(ctx, jobs[i].req, o)
			return err
		})
	})
}

func (s *sim) setupOffers(ctx context.Context) error {
	w := s.world
	var reqs []*immersionv1.PublishOfferRequest
	accFrom := s.opts.From.AddDays(-30)
	accTo := s.opts.From.AddDays(s.opts.Days + 60)
	offers := 0
	for i, op := range w.Operators {
		offers += offersOf(i, op)
	}
	places := 3000 * float64(s.opts.Learners) * 365 / float64(s.opts.Days) / 4500
	perOffer := places / 9 / float64(offers) // sessions a year
	weeks := min(26, max(2, int(math.Round(365/perOffer/7))))
	for i, op := range w.Operators {
		for k := range offersOf(i, op) {
			r := s.rng("offer", op.ID, k)
			t := territoryOf(op.Territories[k%len(op.Territories)])
			codes := []string{}
			for len(codes) < 2+r.IntN(3) {
				c := trades[r.IntN(len(trades))]
				if !slices.Contains(codes, c) {
					codes = append(codes, c)
				}
			}
			platform := fmt.Sprintf("Plateau technique %s %s", []string{"bâtiment", "industrie", "services", "logistique", "soin"}[r.IntN(5)], t.Name)
			off := &Offer{Key: fmt.Sprintf("%s/%d", op.ID, k), OperatorID: op.ID, Territory: t.Code, ROMECodes: codes, Accessible: r.IntN(10) < 7, Platform: platform}
			// Sessions: Monday to Friday, about 3,000 places a year for
			// 4,500 learners, so every 2 to 4 weeks at full scale.
			first := s.opts.From.AddDays(3 + r.IntN(7*weeks))
			for first.Weekday() != time.Monday {
				first = first.AddDays(1)
			}
			for d := first; d.Before(s.opts.From.AddDays(s.opts.Days)); d = d.AddDays(7 * max(2, weeks-1+r.IntN(3))) {
				off.plan = append(off.plan, d)
			}
			w.Offers = append(w.Offers, off)
			reqs = append(reqs, &immersionv1.PublishOfferRequest{
				RequestId: s.rid("offer", op.ID, k),
				Profile: &immersionv1.OfferProfile{
					OperatorId: op.ID,
					Platform: &immersionv1.TechnicalPlatform{
						Name: platform, Address: fmt.Sprintf("%d rue de l'Industrie, %s", 1+r.IntN(90), t.Name),
						CommuneCode: t.Commune, TerritoryCode: t.Code,
					},
					RomeCodes: codes, AccreditedFrom: civilpb.FromDate(accFrom), AccreditedTo: civilpb.FromDate(accTo),
					Accessible: off.Accessible, Description: "Découverte des métiers sur plateau technique, une semaine.",
				},
			})
		}
	}
	err := s.parallel(ctx, len(reqs), func(ctx context.Context, i int) error {
		return s.call(ctx, adminP, "publish offer", func(ctx context.Context, o grpc.CallOption) error {
			resp, err := s.c.immersion.PublishOffer(ctx, reqs[i], o)
			if err != nil {
				return err
			}
			w.Offers[i].ID = resp.GetOffer().GetOfferId()
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, off := range w.Offers {
		op := w.operator(off.OperatorID)
		op.Offers = append(op.Offers, off.ID)
	}
	return nil
}

// offersOf is how many offers operator i publishes.
func offersOf(i int, op *Operator) int {
	if territoryOf(op.Territories[0]).Weight >= 190 || i%3 == 0 {
		return 2
	}
	return 1
}
