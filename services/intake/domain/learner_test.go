package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/avenir-normandie/avenir/services/intake/domain"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

var today = civil.Date{Year: 2026, Month: 11, Day: 26}

var (
	anaisBirth = civil.Date{Year: 1990, Month: 4, Day: 12}
	anaisKey   = "lefevre" + "\x00" + "anais" + "\x00" + "1990-04-12"
)

// register is a valid registration of Anaïs Lefèvre in Évreux (T05, Eure),
// changed by mod.
func register(mod func(*domain.RegisterLearner)) domain.RegisterLearner {
	c := domain.RegisterLearner{
		LearnerID: "l-1", FamilyName: "Lefèvre", GivenName: "Anaïs", BirthDate: anaisBirth, Territory: "T05",
		Contact: domain.Contact{Email: "anais.lefevre@example.fr", Phone: "06 12 34 56 78", Commune: "27229"},
		Situation: domain.Situation{
			JobSeeker: true, FranceTravailID: "1234567a", Education: domain.Level4, Referral: domain.MissionLocale,
			EducationJustification: " Bac obtenu en 1995,\nsans emploi depuis trois ans. ",
		},
		Today: today,
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

// registered is what register(nil) records.
func registered(mod func(*domain.LearnerRegistered)) domain.LearnerRegistered {
	e := domain.LearnerRegistered{
		LearnerID: "l-1", FamilyName: "Lefèvre", GivenName: "Anaïs", BirthDate: anaisBirth, Territory: "T05", RegisteredOn: today,
		Contact: domain.Contact{Email: "anais.lefevre@example.fr", Phone: "+33612345678", Commune: "27229"},
		Situation: domain.Situation{
			JobSeeker: true, FranceTravailID: "1234567A", Education: domain.Level4, Referral: domain.MissionLocale,
			EducationJustification: "Bac obtenu en 1995,\nsans emploi depuis trois ans.",
		},
	}
	if mod != nil {
		mod(&e)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

type decideCase struct {
	name       string
	given      []domain.Event
	when       domain.Command
	then       []domain.Event // nil with no wantKind: nothing to record
	wantKind   apperr.Kind
	wantFields []string
	wantMeta   map[string]string
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	refs := domain.DefaultTerritories()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var state domain.Learner
			for _, e := range tc.given {
				state = domain.Evolve(state, e)
			}
			got, err := domain.Decide(state, tc.when, refs)
			if tc.wantKind != apperr.KindInternal {
				if apperr.KindOf(err) != tc.wantKind {
					t.Fatalf("want %v error, got %v (events %v)", tc.wantKind, err, got)
				}
				ae, _ := errors.AsType[*apperr.Error](err)
				var fields []string
				for _, f := range ae.Fields {
					fields = append(fields, f.Field)
				}
				if !reflect.DeepEqual(fields, tc.wantFields) {
					t.Fatalf("fields %v, want %v (%v)", fields, tc.wantFields, err)
				}
				if tc.wantMeta != nil && !reflect.DeepEqual(ae.Meta, tc.wantMeta) {
					t.Fatalf("meta %v, want %v", ae.Meta, tc.wantMeta)
				}
				if got != nil {
					t.Fatalf("events %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.then) {
				t.Fatalf("events\n got %#v\nwant %#v", got, tc.then)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	runDecide(t, []decideCase{
		{
			name: "registers a new learner, normalising the input",
			when: register(nil),
			then: []domain.Event{registered(nil)},
		},
		{
			name: "normalises white space in names",
			when: register(func(c *domain.RegisterLearner) { c.FamilyName, c.GivenName = "  Lefèvre ", "Anaïs\t " }),
			then: []domain.Event{registered(nil)},
		},
		{
			name: "without a France Travail id",
			when: register(func(c *domain.RegisterLearner) { c.Situation.FranceTravailID = " " }),
			then: []domain.Event{
				registered(func(e *domain.LearnerRegistered) { e.Situation.FranceTravailID = "" }),
			},
		},
		{
			name: "an e-mail address alone is enough",
			when: register(func(c *domain.RegisterLearner) { c.Contact.Phone = "" }),
			then: []domain.Event{registered(func(e *domain.LearnerRegistered) { e.Contact.Phone = "" })},
		},
		{
			name: "a phone number alone is enough, in international form",
			when: register(func(c *domain.RegisterLearner) { c.Contact.Email, c.Contact.Phone = "", "+33 6 12 34 56 78" }),
			then: []domain.Event{registered(func(e *domain.LearnerRegistered) { e.Contact.Email = "" })},
		},
		{
			name: "the situation at entry is recorded, RQTH included",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.RSA, c.Situation.RQTH, c.Situation.QPV, c.Situation.ZRR = true, true, true, true
				c.Situation.Education, c.Situation.Referral, c.Situation.EducationJustification = domain.NoDiploma, domain.CCAS, ""
			}),
			then: []domain.Event{registered(func(e *domain.LearnerRegistered) {
				e.Situation.RSA, e.Situation.RQTH, e.Situation.QPV, e.Situation.ZRR = true, true, true, true
				e.Situation.Education, e.Situation.Referral, e.Situation.EducationJustification = domain.NoDiploma, domain.CCAS, ""
			})},
		},
		{
			name: "level 3, the scheme's public, needs no justification",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.Education, c.Situation.EducationJustification = domain.Level3, ""
			}),
			then: []domain.Event{registered(func(e *domain.LearnerRegistered) {
				e.Situation.Education, e.Situation.EducationJustification = domain.Level3, ""
			})},
		},
		{
			name: "a justification of 500 characters is accepted",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.Education, c.Situation.EducationJustification = domain.Level7, strings.Repeat("é", 500)
			}),
			then: []domain.Event{registered(func(e *domain.LearnerRegistered) {
				e.Situation.Education, e.Situation.EducationJustification = domain.Level7, strings.Repeat("é", 500)
			})},
		},
		{
			name: "above the scheme's public, a justification is required",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.Education, c.Situation.EducationJustification = domain.Level5, ""
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.education_level_justification"},
		},
		{
			name: "spaces are no justification",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.EducationJustification = " \n\t "
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.education_level_justification"},
		},
		{
			name: "a justification is refused for the scheme's public (level 3 and below)",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.Education = domain.NoDiploma
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.education_level_justification"},
		},
		{
			name: "a justification follows the rule of free texts: at most 500 characters",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.EducationJustification = strings.Repeat("a", 501)
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.education_level_justification"},
		},
		{
			name: "a justification follows the rule of free texts: no bidirectional override",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.EducationJustification = "Bac \u202eobtenu"
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.education_level_justification"},
		},
		{
			name: "fifty on the day is a senior at entry",
			when: register(func(c *domain.RegisterLearner) {
				c.BirthDate, c.Situation.FranceTravailID = civil.Date{Year: 1976, Month: 11, Day: 26}, ""
			}),
			then: []domain.Event{
				registered(func(e *domain.LearnerRegistered) {
					e.BirthDate, e.Situation.FranceTravailID, e.SeniorAtEntry = civil.Date{Year: 1976, Month: 11, Day: 26}, "", true
				}),
			},
		},
		{
			name: "one day short of fifty is not",
			when: register(func(c *domain.RegisterLearner) {
				c.BirthDate, c.Situation.FranceTravailID = civil.Date{Year: 1976, Month: 11, Day: 27}, ""
			}),
			then: []domain.Event{
				registered(func(e *domain.LearnerRegistered) {
					e.BirthDate, e.Situation.FranceTravailID = civil.Date{Year: 1976, Month: 11, Day: 27}, ""
				}),
			},
		},
		{
			name: "sixteen on the day is old enough",
			when: register(func(c *domain.RegisterLearner) {
				c.BirthDate, c.Situation.FranceTravailID = civil.Date{Year: 2010, Month: 11, Day: 26}, ""
			}),
			then: []domain.Event{
				registered(func(e *domain.LearnerRegistered) {
					e.BirthDate, e.Situation.FranceTravailID = civil.Date{Year: 2010, Month: 11, Day: 26}, ""
				}),
			},
		},
		{
			name:     "refuses a second registration of the same learner",
			given:    []domain.Event{registered(nil)},
			when:     register(nil),
			wantKind: apperr.KindAlreadyExists,
			wantMeta: map[string]string{"learner_id": "l-1"},
		},
		{
			name:     "refuses a person whose identity another learner holds, naming it",
			when:     register(func(c *domain.RegisterLearner) { c.Holders.Identity = "l-0" }),
			wantKind: apperr.KindAlreadyExists,
			wantMeta: map[string]string{"learner_id": "l-0", "match": "identity"},
		},
		{
			name:     "refuses a France Travail id another learner holds, naming it",
			when:     register(func(c *domain.RegisterLearner) { c.Holders.FranceTravailID = "l-9" }),
			wantKind: apperr.KindAlreadyExists,
			wantMeta: map[string]string{"learner_id": "l-9", "match": "france_travail_id"},
		},
		{
			name: "bad input is reported before duplicates",
			when: register(func(c *domain.RegisterLearner) {
				c.Holders.Identity, c.Contact.Commune = "l-0", "14118"
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contact.commune_code"},
		},
		{
			name:       "one day short of sixteen",
			when:       register(func(c *domain.RegisterLearner) { c.BirthDate = civil.Date{Year: 2010, Month: 11, Day: 27} }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"birth_date"},
		},
		{
			name:       "birth date in the future",
			when:       register(func(c *domain.RegisterLearner) { c.BirthDate = today.AddDays(1) }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"birth_date"},
		},
		{
			name:       "an e-mail address or a phone number is required",
			when:       register(func(c *domain.RegisterLearner) { c.Contact.Email, c.Contact.Phone = " ", "" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contact"},
		},
		{
			name: "e-mail, phone and commune are checked",
			when: register(func(c *domain.RegisterLearner) {
				c.Contact = domain.Contact{Email: "anais@", Phone: "+44 20 7946 0958", Commune: "ABCDE"}
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contact.email", "contact.phone", "contact.commune_code"},
		},
		{
			name:       "the commune is required",
			when:       register(func(c *domain.RegisterLearner) { c.Contact.Commune = "" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contact.commune_code"},
		},
		{
			name:       "the commune must lie in the département of the territory (Caen for Évreux)",
			when:       register(func(c *domain.RegisterLearner) { c.Contact.Commune = "14118" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contact.commune_code"},
		},
		{
			name:       "a Corsican commune is well formed but not in Normandy",
			when:       register(func(c *domain.RegisterLearner) { c.Contact.Commune = "2a004" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"contact.commune_code"},
		},
		{
			name:       "France Travail id format",
			when:       register(func(c *domain.RegisterLearner) { c.Situation.FranceTravailID = "123456AB" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.france_travail_id"},
		},
		{
			name: "education level and referral source are required and must be known",
			when: register(func(c *domain.RegisterLearner) {
				c.Situation.Education, c.Situation.Referral = domain.EducationUnspecified, domain.ReferralSource(42)
			}),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"situation.education_level", "situation.referral_source"},
		},
		{
			name: "every bad field is reported at once",
			when: domain.RegisterLearner{LearnerID: "l-1", FamilyName: " ", BirthDate: civil.Date{}, Territory: "T99", Today: today,
				Situation: domain.Situation{FranceTravailID: "x", Education: domain.EducationLevel(2)}},
			wantKind: apperr.KindInvalidArgument,
			wantFields: []string{"family_name", "given_name", "birth_date", "territory_code", "contact.commune_code", "contact",
				"situation.france_travail_id", "situation.education_level", "situation.referral_source"},
		},
		{
			name:       "a modifier letter alone is no name",
			when:       register(func(c *domain.RegisterLearner) { c.GivenName = "ʼ" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"given_name"},
		},
		{
			name:       "names need a letter and no control characters",
			when:       register(func(c *domain.RegisterLearner) { c.FamilyName, c.GivenName = "1234", "Ana\x00ïs" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"family_name", "given_name"},
		},
		{
			// "Trojan source": U+202E would make "Lef<RLO>erèvmaS" display as
			// another name in every list and export.
			name:       "names refuse bidirectional overrides and invisible characters",
			when:       register(func(c *domain.RegisterLearner) { c.FamilyName, c.GivenName = "Lef\u202Eerèv", "Ana\u200Bïs" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"family_name", "given_name"},
		},
		{
			name:       "names are bounded",
			when:       register(func(c *domain.RegisterLearner) { c.FamilyName = strings.Repeat("a", 101) }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"family_name"},
		},
		{
			name:       "territory is required",
			when:       register(func(c *domain.RegisterLearner) { c.Territory = "" }),
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"territory_code"},
		},
	})
}

func TestRegisterClaimKeys(t *testing.T) {
	identity, ftid := register(func(c *domain.RegisterLearner) {
		c.FamilyName, c.GivenName, c.Situation.FranceTravailID = "LEFEVRE ", "anais", " 1234567a "
	}).ClaimKeys()
	if identity != anaisKey || ftid != "1234567A" {
		t.Fatalf("keys %q %q", identity, ftid)
	}
	identity, ftid = register(func(c *domain.RegisterLearner) { c.BirthDate, c.Situation.FranceTravailID = civil.Date{}, "nope" }).ClaimKeys()
	if identity != "" || ftid != "" {
		t.Fatalf("keys of invalid input %q %q", identity, ftid)
	}
}

var since = civil.Date{Year: 2026, Month: 10, Day: 1}

// anais was registered on 2026-10-01 with a phone and an e-mail address.
var anais = registered(func(e *domain.LearnerRegistered) { e.RegisteredOn = since })

func TestUpdateContact(t *testing.T) {
	withContact := func(mod func(*domain.Contact)) domain.Event {
		c := anais.Contact
		mod(&c)
		return domain.ContactUpdated{LearnerID: "l-1", Contact: c, EffectiveOn: today}
	}
	runDecide(t, []decideCase{
		{
			name:  "changes the e-mail address, normalised",
			given: []domain.Event{anais},
			when:  domain.UpdateContact{Email: ptr(" Anais@Example.FR "), Today: today},
			then:  []domain.Event{withContact(func(c *domain.Contact) { c.Email = "Anais@example.fr" })},
		},
		{
			name:  "removes the phone when an e-mail address remains",
			given: []domain.Event{anais},
			when:  domain.UpdateContact{Phone: ptr(""), Today: today},
			then:  []domain.Event{withContact(func(c *domain.Contact) { c.Phone = "" })},
		},
		{
			name:  "moves within the département",
			given: []domain.Event{anais},
			when:  domain.UpdateContact{Commune: ptr("27681"), Today: today},
			then:  []domain.Event{withContact(func(c *domain.Contact) { c.Commune = "27681" })},
		},
		{
			name:  "the same contact records nothing",
			given: []domain.Event{anais},
			when:  domain.UpdateContact{Phone: ptr("06.12.34.56.78"), Commune: ptr("27229"), Today: today},
		},
		{
			name:       "cannot remove the last way to reach the learner",
			given:      []domain.Event{anais, domain.ContactUpdated{LearnerID: "l-1", Contact: domain.Contact{Phone: "+33612345678", Commune: "27229"}, EffectiveOn: since}},
			when:       domain.UpdateContact{Phone: ptr(" "), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"phone"},
		},
		{
			name:       "cannot remove both",
			given:      []domain.Event{anais},
			when:       domain.UpdateContact{Email: ptr(""), Phone: ptr(""), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"email", "phone"},
		},
		{
			name:       "e-mail and commune are checked: Rouen is not in Eure",
			given:      []domain.Event{anais},
			when:       domain.UpdateContact{Email: ptr("no"), Commune: ptr("76540"), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"email", "commune_code"},
		},
		{
			name:       "the commune cannot be removed",
			given:      []domain.Event{anais},
			when:       domain.UpdateContact{Commune: ptr(""), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"commune_code"},
		},
		{
			name:     "an unregistered learner is not found",
			when:     domain.UpdateContact{Email: ptr("a@b.fr"), Today: today},
			wantKind: apperr.KindNotFound,
		},
	})
}

func TestUpdateSituation(t *testing.T) {
	effective := civil.Date{Year: 2026, Month: 11, Day: 2}
	updated := func(on civil.Date, mod func(*domain.Situation)) domain.SituationUpdated {
		s := anais.Situation
		mod(&s)
		return domain.SituationUpdated{LearnerID: "l-1", Situation: s, EffectiveOn: on, RecordedOn: today}
	}
	lostJob := updated(effective, func(s *domain.Situation) { s.JobSeeker = false })
	runDecide(t, []decideCase{
		{
			name:  "records the changed situation from the effective date",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: effective, JobSeeker: ptr(false), RSA: ptr(true), Education: ptr(domain.Level5), Today: today},
			then: []domain.Event{updated(effective, func(s *domain.Situation) {
				s.JobSeeker, s.RSA, s.Education = false, true, domain.Level5
			})},
		},
		{
			name:  "RQTH, QPV, ZRR and referral source change too",
			given: []domain.Event{anais},
			when: domain.UpdateSituation{EffectiveDate: today, RQTH: ptr(true), QPV: ptr(true), ZRR: ptr(true),
				Referral: ptr(domain.CapEmploi), Today: today},
			then: []domain.Event{updated(today, func(s *domain.Situation) {
				s.RQTH, s.QPV, s.ZRR, s.Referral = true, true, true, domain.CapEmploi
			})},
		},
		{
			name:  "the registration day is a valid effective date",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: since, JobSeeker: ptr(false), Today: today},
			then:  []domain.Event{updated(since, func(s *domain.Situation) { s.JobSeeker = false })},
		},
		{
			name:  "a new France Travail id the learner holds is recorded",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: effective, FranceTravailID: ptr("7654321b"), FranceTravailIDHolder: "l-1", Today: today},
			then:  []domain.Event{updated(effective, func(s *domain.Situation) { s.FranceTravailID = "7654321B" })},
		},
		{
			name:  "an id the learner held before is recorded again",
			given: []domain.Event{anais, updated(since, func(s *domain.Situation) { s.FranceTravailID = "" })},
			when:  domain.UpdateSituation{EffectiveDate: effective, FranceTravailID: ptr("1234567A"), FranceTravailIDHolder: "l-1", Today: today},
			then:  []domain.Event{updated(effective, func(*domain.Situation) {})},
		},
		{
			name:  "removing the id claims nothing",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: effective, FranceTravailID: ptr(""), Today: today},
			then:  []domain.Event{updated(effective, func(s *domain.Situation) { s.FranceTravailID = "" })},
		},
		{
			name:     "an id another learner holds is refused, naming it",
			given:    []domain.Event{anais},
			when:     domain.UpdateSituation{EffectiveDate: effective, FranceTravailID: ptr("7654321B"), FranceTravailIDHolder: "l-2", Today: today},
			wantKind: apperr.KindAlreadyExists,
			wantMeta: map[string]string{"learner_id": "l-2", "match": "france_travail_id"},
		},
		{
			name:  "the same situation records nothing",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: effective, JobSeeker: ptr(true), FranceTravailID: ptr("1234567a"), Today: today},
		},
		{
			name:       "not in the future",
			given:      []domain.Event{anais},
			when:       domain.UpdateSituation{EffectiveDate: today.AddDays(1), JobSeeker: ptr(false), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"effective_date"},
		},
		{
			name:       "not before the registration",
			given:      []domain.Event{anais},
			when:       domain.UpdateSituation{EffectiveDate: since.AddDays(-1), JobSeeker: ptr(false), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"effective_date"},
		},
		{
			name:       "not before the previous change",
			given:      []domain.Event{anais, lostJob},
			when:       domain.UpdateSituation{EffectiveDate: effective.AddDays(-1), RSA: ptr(true), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"effective_date"},
		},
		{
			name:       "every bad field is reported at once",
			given:      []domain.Event{anais},
			when:       domain.UpdateSituation{FranceTravailID: ptr("12"), Education: ptr(domain.EducationLevel(9)), Referral: ptr(domain.ReferralUnspecified), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"effective_date", "france_travail_id", "education_level", "referral_source"},
		},
		{
			name:  "a new justification alone is recorded, trimmed",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: effective, EducationJustification: ptr(" Projet validé par la commission. "), Today: today},
			then: []domain.Event{updated(effective, func(s *domain.Situation) {
				s.EducationJustification = "Projet validé par la commission."
			})},
		},
		{
			name:  "a change to level 3 and below drops the justification",
			given: []domain.Event{anais},
			when:  domain.UpdateSituation{EffectiveDate: effective, Education: ptr(domain.Level3), Today: today},
			then: []domain.Event{updated(effective, func(s *domain.Situation) {
				s.Education, s.EducationJustification = domain.Level3, ""
			})},
		},
		{
			name:       "a change to level 3 and below with a justification is refused",
			given:      []domain.Event{anais},
			when:       domain.UpdateSituation{EffectiveDate: effective, Education: ptr(domain.Level3), EducationJustification: ptr("Au cas où"), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"education_level_justification"},
		},
		{
			name:       "removing the justification of a level 4 is refused",
			given:      []domain.Event{anais},
			when:       domain.UpdateSituation{EffectiveDate: effective, EducationJustification: ptr(""), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"education_level_justification"},
		},
		{
			name:       "a change to level 4 and up without a justification is refused",
			given:      []domain.Event{anais, updated(since, func(s *domain.Situation) { s.Education, s.EducationJustification = domain.Level3, "" })},
			when:       domain.UpdateSituation{EffectiveDate: effective, Education: ptr(domain.Level6), Today: today},
			wantKind:   apperr.KindInvalidArgument,
			wantFields: []string{"education_level_justification"},
		},
		{
			name:  "a change to level 4 and up with a justification is recorded",
			given: []domain.Event{anais, updated(since, func(s *domain.Situation) { s.Education, s.EducationJustification = domain.Level3, "" })},
			when: domain.UpdateSituation{EffectiveDate: effective, Education: ptr(domain.Level6),
				EducationJustification: ptr("Diplôme étranger non reconnu."), Today: today},
			then: []domain.Event{updated(effective, func(s *domain.Situation) {
				s.Education, s.EducationJustification = domain.Level6, "Diplôme étranger non reconnu."
			})},
		},
		{
			// Registered before the rule: level 5 without a justification.
			name: "a learner recorded before the rule keeps its situation while other fields change",
			given: []domain.Event{registered(func(e *domain.LearnerRegistered) {
				e.RegisteredOn, e.Situation.Education, e.Situation.EducationJustification = since, domain.Level5, ""
			})},
			when: domain.UpdateSituation{EffectiveDate: effective, RSA: ptr(true), Today: today},
			then: []domain.Event{updated(effective, func(s *domain.Situation) {
				s.Education, s.EducationJustification, s.RSA = domain.Level5, "", true
			})},
		},
		{
			name:     "an unregistered learner is not found",
			when:     domain.UpdateSituation{EffectiveDate: today, RSA: ptr(true), Today: today},
			wantKind: apperr.KindNotFound,
		},
	})
}

func TestEvolveRebuildsTheLearner(t *testing.T) {
	l := domain.Evolve(domain.Learner{}, anais)
	if !l.Exists() || l.ID != "l-1" || l.Territory != "T05" || l.RegisteredOn != since || l.SituationSince != since || l.Situation != anais.Situation {
		t.Fatalf("registered: %+v", l)
	}
	next := domain.Situation{RSA: true, Education: domain.Level3, Referral: domain.Self}
	l = domain.Evolve(l, domain.SituationUpdated{LearnerID: "l-1", Situation: next, EffectiveOn: today, RecordedOn: today})
	l = domain.Evolve(l, domain.ContactUpdated{LearnerID: "l-1", Contact: domain.Contact{Email: "x@y.fr", Commune: "27681"}, EffectiveOn: today})
	if l.Situation != next || l.SituationSince != today || l.Contact.Email != "x@y.fr" || l.Contact.Phone != "" {
		t.Fatalf("after changes: %+v", l)
	}
	// An erasure leaves only what is not personal.
	l = domain.Evolve(l, domain.LearnerErased{LearnerID: "l-1", Territory: "T05", ErasedOn: today, Ground: domain.GroundRequest, Reference: "ticket 12"})
	want := domain.Learner{ID: "l-1", Territory: "T05", RegisteredOn: since, Erased: true, ErasedOn: today, Ground: domain.GroundRequest, Reference: "ticket 12"}
	if l != want {
		t.Fatalf("erased: %+v, want %+v", l, want)
	}
}

func TestDefaultTerritories(t *testing.T) {
	refs := domain.DefaultTerritories()
	all := refs.All()
	if len(all) != 18 {
		t.Fatalf("%d territories, want 18", len(all))
	}
	depts := map[string]int{}
	for _, ter := range all {
		depts[ter.Department]++
	}
	for _, d := range []string{"14", "27", "50", "61", "76"} {
		if depts[d] == 0 {
			t.Errorf("no territory in département %s", d)
		}
	}
	if ter, ok := refs.Lookup("T05"); !ok || ter.Name != "Évreux" || ter.Department != "27" {
		t.Errorf("T05 = %+v", ter)
	}
}

func TestParseTerritoriesReportsEveryProblem(t *testing.T) {
	_, err := domain.ParseTerritories([]byte(`{"version":"","territories":[
		{"code":"X1","name":"A","department":"14"},
		{"code":"T01","name":" ","department":"75"},
		{"code":"T01","name":"B","department":"27"}]}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"missing version", `code "X1"`, "empty name", `department "75"`, "duplicate code T01"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := domain.ParseTerritories([]byte(`{"version":"1","territories":[],"extra":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
}
