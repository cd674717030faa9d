// Package fr holds what the console shows in French: the labels of every
// enum value of the public API, the French formats of dates, months, money,
// durations and counts (and their parsing from forms), and the ROME v3
// reference of trades.
//
// Money is int64 euro cents, durations whole minutes and dates civil dates:
// nothing here uses floating point. Numbers and units are separated by
// U+00A0 NO-BREAK SPACE ("1 234,50 €", "3 h 30", "80 %", "12 jours") so that
// a browser never breaks a line inside them.
package fr

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Unset is the label of the zero value of every enum (*_UNSPECIFIED).
const Unset = "Non renseigné"

// Label returns the French label of an enum value: « Non renseigné » for
// the zero value (unless its enum gives it a meaning of its own), « Code
// inconnu (N) » for a number this build does not know.
func Label(v protoreflect.Enum) string {
	if v == nil {
		return Unset
	}
	ed := v.Descriptor()
	n := v.Number()
	if vd := ed.Values().ByNumber(n); vd != nil {
		if l, ok := labels[ed.FullName()][vd.Name()]; ok {
			return l
		}
	}
	if n == 0 {
		return Unset
	}
	return unknown(n)
}

func unknown(n protoreflect.EnumNumber) string {
	return fmt.Sprintf("Code inconnu (%d)", n)
}

// Option is one choice of an HTML select.
type Option struct {
	Value int32  // the enum number, the value the form sends
	Name  string // the enum value name, e.g. PATHWAY_PHASE_WELCOMED
	Label string // what people read
}

// Options lists the values of e in declaration order, without the zero
// value (*_UNSPECIFIED), for an HTML select.
func Options(e protoreflect.EnumDescriptor) []Option {
	vals := e.Values()
	out := make([]Option, 0, vals.Len())
	for i := range vals.Len() {
		vd := vals.Get(i)
		if vd.Number() == 0 {
			continue
		}
		l, ok := labels[e.FullName()][vd.Name()]
		if !ok {
			l = unknown(vd.Number())
		}
		out = append(out, Option{Value: int32(vd.Number()), Name: string(vd.Name()), Label: l})
	}
	return out
}

// labels maps an enum's full name, then a value name, to its French label.
// The zero value appears only where it means something other than "not
// given" (a referral without outcome is pending).
var labels = map[protoreflect.FullName]map[protoreflect.Name]string{
	// avenir.common.v1
	"avenir.common.v1.FundingProgramme": {
		"FUNDING_PROGRAMME_AVENIR": "#Avenir (accompagnement)",
		"FUNDING_PROGRAMME_ACTION": "#Action (immersions)",
		"FUNDING_PROGRAMME_OTHER":  "Autre marché",
	},

	// avenir.funding.v1
	"avenir.funding.v1.Unit": {
		"UNIT_TRAINEE_HOUR": "Heure stagiaire",
		"UNIT_GROUP_HOUR":   "Heure groupe",
		"UNIT_FLAT_FEE":     "Forfait",
	},
	"avenir.funding.v1.FeeType": {
		"FEE_TYPE_NEEDS_ANALYSIS_COMPLETED":      "Analyse des besoins réalisée",
		"FEE_TYPE_IMMERSION_COMPLETED":           "Immersion réalisée",
		"FEE_TYPE_IMMERSION_PARTIALLY_COMPLETED": "Immersion partiellement réalisée",
		"FEE_TYPE_EXIT_TO_EMPLOYMENT":            "Sortie vers l'emploi",
		"FEE_TYPE_EXIT_TO_QUALIFYING_TRAINING":   "Sortie vers une formation qualifiante",
		"FEE_TYPE_CUSTOM":                        "Forfait propre au marché",
	},
	"avenir.funding.v1.ActivityType": {
		"ACTIVITY_TYPE_FACE_TO_FACE":         "Formation en présentiel",
		"ACTIVITY_TYPE_DISTANCE":             "Formation à distance",
		"ACTIVITY_TYPE_INDIVIDUAL_INTERVIEW": "Entretien individuel",
		"ACTIVITY_TYPE_ASSESSMENT":           "Évaluation, positionnement",
		"ACTIVITY_TYPE_WORKPLACE":            "Mise en situation en entreprise ou sur plateau technique",
	},
	"avenir.funding.v1.AnomalyReason": {
		"ANOMALY_REASON_EXIT_BACKDATED":  "Sortie du dispositif antérieure aux dates déclarées",
		"ANOMALY_REASON_ENROLMENT_ENDED": "Inscription terminée avant les dates déclarées",
	},
	"avenir.funding.v1.RejectionReason": {
		"REJECTION_REASON_INVALID_LINE":            "Ligne invalide",
		"REJECTION_REASON_LEARNER_NOT_ENROLLED":    "Stagiaire non inscrit sur le marché à cette date",
		"REJECTION_REASON_OUTSIDE_CONTRACT_PERIOD": "Date hors de la période du marché",
		"REJECTION_REASON_DAILY_CAP_EXCEEDED":      "Plafond journalier dépassé",
		"REJECTION_REASON_WEEKLY_CAP_EXCEEDED":     "Plafond hebdomadaire dépassé",
		"REJECTION_REASON_DUPLICATE_LINE_ID":       "Identifiant de ligne déjà utilisé",
		"REJECTION_REASON_GROUP_TOO_LARGE":         "Groupe plus nombreux que le maximum du marché",
		"REJECTION_REASON_FACT_NOT_FOUND":          "Fait générateur du forfait introuvable",
		"REJECTION_REASON_ALREADY_CLAIMED":         "Forfait déjà demandé pour ce justificatif",
		"REJECTION_REASON_PERIOD_CLOSED":           "Période close",
		"REJECTION_REASON_BUDGET_EXCEEDED":         "Enveloppe annuelle du marché dépassée",
		"REJECTION_REASON_UNIT_NOT_IN_CONTRACT":    "Unité ou forfait non prévu au marché",
		"REJECTION_REASON_DATE_IN_FUTURE":          "Date postérieure à aujourd'hui",
		"REJECTION_REASON_FACT_ALREADY_PAID":       "Forfait déjà payé pour ce fait",
		"REJECTION_REASON_TERRITORY_NOT_IN_LOT":    "Territoire hors du lot du marché",
	},
	"avenir.funding.v1.FeeClaimState": {
		"FEE_CLAIM_STATE_CLAIMABLE":         "À demander",
		"FEE_CLAIM_STATE_ALREADY_PAID_HERE": "Déjà payé sur ce marché",
		"FEE_CLAIM_STATE_PAID_ELSEWHERE":    "Déjà payé à un autre organisme",
		"FEE_CLAIM_STATE_NOT_ELIGIBLE":      "Non éligible",
	},
	"avenir.funding.v1.LineStatus": {
		"LINE_STATUS_BILLED":   "Facturée",
		"LINE_STATUS_ANOMALY":  "En anomalie",
		"LINE_STATUS_REJECTED": "Rejetée",
	},
	"avenir.funding.v1.StatementStatus": {
		"STATEMENT_STATUS_OPEN":     "Ouvert",
		"STATEMENT_STATUS_REVIEWED": "Ouvert, contrôle en cours",
		"STATEMENT_STATUS_CLOSED":   "Clôturé",
	},

	// avenir.immersion.v1
	"avenir.immersion.v1.SessionCancellation": {
		"SESSION_CANCELLATION_OFFER_WITHDRAWN": "Offre retirée",
	},
	"avenir.immersion.v1.CancellationCause": {
		"CANCELLATION_CAUSE_REFERENT":        "Annulée par le référent",
		"CANCELLATION_CAUSE_OPERATOR":        "Annulée par l'organisme",
		"CANCELLATION_CAUSE_ADMIN":           "Annulée par un administrateur",
		"CANCELLATION_CAUSE_PATHWAY_EXIT":    "Sortie du parcours avant la session",
		"CANCELLATION_CAUSE_OFFER_WITHDRAWN": "Offre retirée",
	},
	"avenir.immersion.v1.DropReason": {
		"DROP_REASON_NOT_IN_PATHWAY":      "Plus en parcours aux dates de la session",
		"DROP_REASON_OVERLAPPING_BOOKING": "Déjà inscrit sur une session aux mêmes dates",
	},
	"avenir.immersion.v1.OutcomeStatus": {
		"OUTCOME_STATUS_COMPLETED":           "Réalisée",
		"OUTCOME_STATUS_PARTIALLY_COMPLETED": "Réalisée partiellement",
		"OUTCOME_STATUS_DID_NOT_SHOW":        "Absence",
	},
	"avenir.immersion.v1.TradeFit": {
		"TRADE_FIT_CONFIRMED":          "Métier confirmé",
		"TRADE_FIT_TO_EXPLORE_FURTHER": "Métier à explorer davantage",
		"TRADE_FIT_NOT_FOR_ME":         "Métier écarté",
	},
	"avenir.immersion.v1.BookingStatus": {
		"BOOKING_STATUS_BOOKED":     "Place réservée",
		"BOOKING_STATUS_WAITLISTED": "En liste d'attente",
		"BOOKING_STATUS_CANCELLED":  "Réservation annulée",
		"BOOKING_STATUS_DROPPED":    "Retiré de la liste d'attente (plus éligible)",
	},

	// avenir.intake.v1
	"avenir.intake.v1.LearnerChangeKind": {
		"LEARNER_CHANGE_KIND_REGISTERED":        "Inscription",
		"LEARNER_CHANGE_KIND_CONTACT_UPDATED":   "Coordonnées mises à jour",
		"LEARNER_CHANGE_KIND_SITUATION_UPDATED": "Situation mise à jour",
		"LEARNER_CHANGE_KIND_ERASED":            "Données personnelles effacées",
	},
	"avenir.intake.v1.EducationLevel": {
		"EDUCATION_LEVEL_NO_DIPLOMA": "Sans diplôme (niveaux 1 et 2)",
		"EDUCATION_LEVEL_3":          "Niveau 3 – CAP, BEP",
		"EDUCATION_LEVEL_4":          "Niveau 4 – baccalauréat, brevet professionnel",
		"EDUCATION_LEVEL_5":          "Niveau 5 – bac + 2 (BTS, DUT, DEUST)",
		"EDUCATION_LEVEL_6":          "Niveau 6 – bac + 3 ou 4 (licence, BUT, maîtrise)",
		"EDUCATION_LEVEL_7":          "Niveau 7 – bac + 5 (master, diplôme d'ingénieur)",
		"EDUCATION_LEVEL_8":          "Niveau 8 – doctorat",
	},
	"avenir.intake.v1.ReferralSource": {
		"REFERRAL_SOURCE_MISSION_LOCALE":         "Mission locale",
		"REFERRAL_SOURCE_FRANCE_TRAVAIL":         "France Travail",
		"REFERRAL_SOURCE_CAP_EMPLOI":             "Cap emploi",
		"REFERRAL_SOURCE_MAISON_FRANCE_SERVICES": "Maison France services",
		"REFERRAL_SOURCE_CCAS":                   "CCAS (centre communal d'action sociale)",
		"REFERRAL_SOURCE_EMPLOYER":               "Employeur",
		"REFERRAL_SOURCE_SELF":                   "Démarche personnelle",
		"REFERRAL_SOURCE_OTHER":                  "Autre prescripteur",
	},
	"avenir.intake.v1.ErasureGround": {
		"ERASURE_GROUND_REQUEST":          "Demande de la personne",
		"ERASURE_GROUND_RETENTION":        "Fin de la durée de conservation",
		"ERASURE_GROUND_UNLAWFUL":         "Traitement illicite",
		"ERASURE_GROUND_LEGAL_OBLIGATION": "Obligation légale",
	},

	// avenir.needs.v1
	"avenir.needs.v1.SkillDomain": {
		"SKILL_DOMAIN_FRENCH_COMMUNICATION":       "Communiquer en français",
		"SKILL_DOMAIN_CALCULATION":                "Utiliser les règles de base de calcul et du raisonnement mathématique",
		"SKILL_DOMAIN_DIGITAL":                    "Utiliser les techniques usuelles de l'information et de la communication numérique",
		"SKILL_DOMAIN_TEAMWORK":                   "Travailler dans le cadre de règles définies d'un travail en équipe",
		"SKILL_DOMAIN_AUTONOMY":                   "Travailler en autonomie et réaliser un objectif individuel",
		"SKILL_DOMAIN_LEARNING_TO_LEARN":          "Apprendre à apprendre tout au long de la vie",
		"SKILL_DOMAIN_HYGIENE_SAFETY_ENVIRONMENT": "Maîtriser les gestes et postures, et respecter des règles d'hygiène, de sécurité et environnementales élémentaires",
	},
	"avenir.needs.v1.SkillLevel": {
		"SKILL_LEVEL_NOT_ASSESSED": "Non évalué",
		"SKILL_LEVEL_TO_ACQUIRE":   "À acquérir",
		"SKILL_LEVEL_IN_PROGRESS":  "En cours d'acquisition",
		"SKILL_LEVEL_ACQUIRED":     "Acquis",
	},
	"avenir.needs.v1.ExperienceKind": {
		"EXPERIENCE_KIND_WORK":      "Expérience professionnelle",
		"EXPERIENCE_KIND_VOLUNTEER": "Bénévolat, service civique",
	},
	"avenir.needs.v1.BarrierKind": {
		"BARRIER_KIND_MOBILITY":        "Mobilité",
		"BARRIER_KIND_CHILDCARE":       "Garde d'enfants",
		"BARRIER_KIND_HOUSING":         "Logement",
		"BARRIER_KIND_HEALTH":          "Santé",
		"BARRIER_KIND_FINANCES":        "Difficultés financières",
		"BARRIER_KIND_DIGITAL_ACCESS":  "Accès au numérique",
		"BARRIER_KIND_FRENCH_LANGUAGE": "Maîtrise du français",
		"BARRIER_KIND_ADMINISTRATIVE":  "Démarches administratives",
	},
	"avenir.needs.v1.BarrierSeverity": {
		"BARRIER_SEVERITY_LOW":      "Faible (ralentit le parcours)",
		"BARRIER_SEVERITY_MODERATE": "Modéré (à lever pour poursuivre)",
		"BARRIER_SEVERITY_HIGH":     "Fort (bloque le parcours)",
	},
	"avenir.needs.v1.ProjectMaturity": {
		"PROJECT_MATURITY_NONE":       "Pas encore de projet",
		"PROJECT_MATURITY_EMERGING":   "Projet émergent",
		"PROJECT_MATURITY_TO_CONFIRM": "Projet à confirmer",
		"PROJECT_MATURITY_VALIDATED":  "Projet validé",
	},
	"avenir.needs.v1.AnalysisStatus": {
		"ANALYSIS_STATUS_DRAFT":     "Brouillon",
		"ANALYSIS_STATUS_COMPLETED": "Finalisée",
	},

	// avenir.pathway.v1
	"avenir.pathway.v1.ExitReason": {
		"EXIT_REASON_EMPLOYMENT_PERMANENT":        "Accès à l'emploi – CDI",
		"EXIT_REASON_EMPLOYMENT_FIXED_TERM_LONG":  "Accès à l'emploi – CDD de 6 mois ou plus",
		"EXIT_REASON_EMPLOYMENT_FIXED_TERM_SHORT": "Accès à l'emploi – CDD de moins de 6 mois",
		"EXIT_REASON_EMPLOYMENT_TEMPORARY_AGENCY": "Accès à l'emploi – intérim",
		"EXIT_REASON_SELF_EMPLOYED":               "Création ou reprise d'entreprise",
		"EXIT_REASON_QUALIFYING_TRAINING":         "Entrée en formation qualifiante (Qualif)",
		"EXIT_REASON_OTHER_TRAINING":              "Entrée dans une autre formation",
		"EXIT_REASON_ABANDONMENT":                 "Abandon",
		"EXIT_REASON_RELOCATION":                  "Déménagement",
		"EXIT_REASON_HEALTH":                      "Raisons de santé",
		"EXIT_REASON_OTHER":                       "Autre motif",
	},
	"avenir.pathway.v1.Programme": {
		"PROGRAMME_SAVOIRS":               "Savoirs (compétences de base)",
		"PROGRAMME_QUALIF":                "Qualif (formation qualifiante)",
		"PROGRAMME_OTHER":                 "Autre programme",
		"PROGRAMME_PARCOURS_CROISES_ESRP": "Parcours croisés / ESRP",
	},
	"avenir.pathway.v1.ReferralOutcome": {
		"REFERRAL_OUTCOME_UNSPECIFIED":             "En attente de réponse",
		"REFERRAL_OUTCOME_ACCEPTED":                "Acceptée",
		"REFERRAL_OUTCOME_REFUSED":                 "Refusée",
		"REFERRAL_OUTCOME_STARTED":                 "Entrée en formation",
		"REFERRAL_OUTCOME_ABANDONED":               "Abandonnée",
		"REFERRAL_OUTCOME_COMPLETED_CERTIFIED":     "Formation terminée, certification obtenue",
		"REFERRAL_OUTCOME_COMPLETED_NOT_CERTIFIED": "Formation terminée sans certification",
		"REFERRAL_OUTCOME_CLOSED_AT_EXIT":          "Close à la sortie du parcours",
	},
	"avenir.pathway.v1.PendingReferrals": {
		"PENDING_REFERRALS_CLOSE":      "Les clore à la sortie",
		"PENDING_REFERRALS_CARRY_OVER": "Les garder ouvertes après la sortie",
	},
	"avenir.pathway.v1.FollowUpSituation": {
		"FOLLOW_UP_SITUATION_EMPLOYMENT":  "En emploi",
		"FOLLOW_UP_SITUATION_TRAINING":    "En formation",
		"FOLLOW_UP_SITUATION_JOB_SEEKING": "En recherche d'emploi",
		"FOLLOW_UP_SITUATION_UNKNOWN":     "Situation inconnue",
	},
	"avenir.pathway.v1.EmploymentType": {
		"EMPLOYMENT_TYPE_PERMANENT":        "Contrat à durée indéterminée (CDI)",
		"EMPLOYMENT_TYPE_FIXED_TERM_LONG":  "CDD de 6 mois ou plus",
		"EMPLOYMENT_TYPE_FIXED_TERM_SHORT": "CDD de moins de 6 mois",
		"EMPLOYMENT_TYPE_TEMPORARY_AGENCY": "Intérim",
		"EMPLOYMENT_TYPE_SUBSIDISED":       "Contrat aidé",
		"EMPLOYMENT_TYPE_SELF_EMPLOYED":    "Travailleur indépendant",
	},
	"avenir.pathway.v1.EnrolmentKind": {
		"ENROLMENT_KIND_ACCOMPANIMENT":  "Accompagnement #Avenir",
		"ENROLMENT_KIND_SAVOIRS":        "Action Savoirs (compétences de base)",
		"ENROLMENT_KIND_QUALIF":         "Action Qualif (formation qualifiante)",
		"ENROLMENT_KIND_WORKSHOPS":      "Cycle d'ateliers",
		"ENROLMENT_KIND_IMMERSION_HOST": "Accueil d'une immersion #Action",
	},
	"avenir.pathway.v1.EnrolmentEndReason": {
		"ENROLMENT_END_REASON_ENDED":        "Fin décidée par l'équipe",
		"ENROLMENT_END_REASON_PATHWAY_EXIT": "Sortie du parcours",
	},
	"avenir.pathway.v1.PathwayStatus": {
		"PATHWAY_STATUS_ACTIVE": "En parcours",
		"PATHWAY_STATUS_EXITED": "Sorti du dispositif",
	},
	"avenir.pathway.v1.PathwayPhase": {
		"PATHWAY_PHASE_WELCOMED":               "Accueil",
		"PATHWAY_PHASE_NEEDS_ANALYSED":         "Analyse des besoins",
		"PATHWAY_PHASE_BUILDING_PROJECT":       "Construction du projet",
		"PATHWAY_PHASE_DISCOVERING_TRADES":     "Découverte des métiers",
		"PATHWAY_PHASE_IN_QUALIFYING_TRAINING": "Formation qualifiante",
		"PATHWAY_PHASE_EXITED":                 "Sortie",
	},
	"avenir.pathway.v1.AgeBand": {
		"AGE_BAND_UNDER_26":    "Moins de 26 ans",
		"AGE_BAND_26_TO_49":    "De 26 à 49 ans",
		"AGE_BAND_50_AND_OVER": "50 ans et plus",
	},

	// avenir.referent.v1
	"avenir.referent.v1.ReferentKind": {
		"REFERENT_KIND_PEDAGOGICAL": "Référent pédagogique",
		"REFERENT_KIND_ECONOMIC":    "Référent économique",
	},
	"avenir.referent.v1.Specialty": {
		"SPECIALTY_DISABILITY":             "Handicap (RQTH)",
		"SPECIALTY_SENIORS":                "Seniors (50 ans et plus)",
		"SPECIALTY_YOUNG_PEOPLE":           "Jeunes",
		"SPECIALTY_FRENCH_SECOND_LANGUAGE": "Français langue seconde",
	},
	"avenir.referent.v1.AssignmentReason": {
		"ASSIGNMENT_REASON_AUTOMATIC":    "Affectation automatique",
		"ASSIGNMENT_REASON_MANUAL":       "Affectation par un administrateur",
		"ASSIGNMENT_REASON_HANDOVER":     "Passage de relais entre référents",
		"ASSIGNMENT_REASON_DEACTIVATION": "Réaffectation après le départ du référent",
	},
}
