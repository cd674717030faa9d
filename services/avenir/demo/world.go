package demo

import (
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// territory of the reference shipped with intake
// (services/intake/domain/reference/territories.json), with the INSEE code
// of its main town and a weight close to its population (thousands).
type territory struct {
	Code, Name, Commune string
	Weight              int
}

var territories = []territory{
	{"T01", "Caen", "14118", 400}, {"T02", "Bayeux", "14047", 80}, {"T03", "Lisieux", "14366", 110},
	{"T04", "Vire Normandie", "14762", 70}, {"T05", "Évreux", "27229", 190}, {"T06", "Vernon", "27681", 110},
	{"T07", "Bernay", "27056", 70}, {"T08", "Louviers", "27375", 120}, {"T09", "Cherbourg-en-Cotentin", "50129", 190},
	{"T10", "Saint-Lô", "50502", 120}, {"T11", "Avranches", "50025", 110}, {"T12", "Coutances", "50147", 80},
	{"T13", "Alençon", "61001", 110}, {"T14", "Argentan", "61006", 70}, {"T15", "Flers", "61169", 90},
	{"T16", "Rouen", "76540", 660}, {"T17", "Le Havre", "76351", 400}, {"T18", "Dieppe", "76217", 110},
}

func territoryOf(code string) territory {
	for _, t := range territories {
		if t.Code == code {
			return t
		}
	}
	return territory{}
}

func totalWeight() int {
	n := 0
	for _, t := range territories {
		n += t.Weight
	}
	return n
}

// pickTerritory draws a territory weighted by population.
func pickTerritory(r *rand.Rand) territory {
	x := r.IntN(totalWeight())
	for _, t := range territories {
		if x < t.Weight {
			return t
		}
		x -= t.Weight
	}
	return territories[len(territories)-1]
}

// World is what Run created, for the checks callers make afterwards.
type World struct {
	From civil.Date
	Days int
	// Referents registered, pedagogical and economic.
	Referents []*Referent
	// Coordinators: the referent acting as coordinator of each territory.
	Coordinators map[string]string
	Operators    []*Operator
	// Contracts: each operator's #Avenir contract (the accompaniment of the
	// learners of its lot), then the #Action contracts of the operators
	// hosting immersions.
	Contracts []*Contract
	Offers    []*Offer
	Sessions  []*Session
	Learners  []*Learner

	entries  []plannedEntry // first entries, by day
	sessions map[string]*Session
	byID     map[string]*Learner
}

// Referent is a referent of the directory.
type Referent struct {
	ID          string
	Name        string
	Territories []string
	Capacity    int
	Specialties []string
	Economic    bool
}

// Operator is a training operator: it accompanies the learners of its
// lot under an #Avenir contract and hosts #Action immersions on its
// technical platforms under an #Action contract.
type Operator struct {
	ID   string
	Name string
	// Territories: the lot of its #Avenir contract.
	Territories []string
	// ContractID, Reference, Envelope: its #Avenir contract, which pays
	// trainee hours, group hours, needs analyses and exits.
	ContractID string
	Reference  string
	Envelope   int64
	// ActionContractID: its #Action contract, which pays the immersions it
	// hosts ("" for an operator without offers).
	ActionContractID string
	Weekly           bool // reports hours weekly (else daily)
	Offers           []string

	pending []pendingLine // trainee-hour lines not reported yet
}

// Contract is a contract of the funder with an operator.
type Contract struct {
	ID          string
	OperatorID  string
	Programme   commonv1.FundingProgramme
	Reference   string
	Territories []string // the lot
	Envelope    int64    // per contract year
}

// Offer is an #Action offer.
type Offer struct {
	ID         string
	Key        string // the simulation's name of the offer: operator and number
	OperatorID string
	Territory  string
	ROMECodes  []string
	Accessible bool
	Platform   string

	plan []civil.Date // first days of its sessions
}

// Session is a scheduled #Action session and what the simulation did on it.
type Session struct {
	ID           string
	Key          string // the simulation's name of the session: offer key and number
	OfferID      string
	OperatorID   string
	Territory    string
	ROMECodes    []string
	From, To     civil.Date
	Deadline     civil.Date
	Capacity     int
	DailyMinutes int
	// Booked and Waitlisted: learners as booked (the waitlist in rank
	// order), before promotions; Places: the places as the server listed
	// them on the session's first day (promotions included, cancellations
	// left out), or at the end of the run for a session still to come.
	Booked     []string
	Waitlisted []string
	Places     []string
	Cancelled  int
	Outcomes   map[string]string // learner -> completed, partially-completed, did-not-show
	// RecordedOn: the day the outcomes were recorded (zero before).
	RecordedOn civil.Date

	started bool             // Places read on the first day
	hosted  map[string]int32 // learner id -> number of its enrolment with the host
}

// Episode is one stay of a learner in the pathway.
type Episode struct {
	Number     int
	Entry      civil.Date
	Exit       civil.Date // zero while open
	ExitReason pathwayv1.ExitReason
	// RecordedOn: the day the exit was recorded (after Exit for a late exit).
	RecordedOn        civil.Date
	AnalysisID        string
	AnalysisCompleted civil.Date
}

// Booking is a learner's booking as the simulation made it.
type Booking struct {
	SessionID string
	Status    string // booked, waitlisted, cancelled
	Outcome   string
}

// Learner is a learner registered by the simulation.
type Learner struct {
	Index     int
	ID        string
	Territory string
	// OperatorID: the operator accompanying the learner (under its #Avenir
	// contract), in every episode.
	OperatorID string
	Registered civil.Date
	Born       civil.Date
	// The public intake recorded at registration.
	RQTH, QPV, ZRR, RSA bool
	Education           intakev1.EducationLevel
	Episodes            []*Episode
	Enrolments          []*Enrolment
	Bookings            []*Booking

	plan learnerPlan
	busy [][2]civil.Date // immersions with a place: first and last day
}

// Enrolment is an enrolment of a learner with a contract, as the
// simulation made it and as an exit ended it.
type Enrolment struct {
	Number     int32
	Episode    int
	ContractID string
	OperatorID string
	Kind       pathwayv1.EnrolmentKind
	From       civil.Date
	To         civil.Date // last day; zero while open
	// ByExit: ended by the learner's exit from the pathway.
	ByExit bool
}

// Covers reports whether the enrolment covers day.
func (e *Enrolment) Covers(day civil.Date) bool {
	return !day.Before(e.From) && (e.To.IsZero() || !day.After(e.To))
}

// EnrolledWith reports whether an enrolment of the learner with the
// contract covers day.
func (l *Learner) EnrolledWith(contractID string, day civil.Date) bool {
	return slices.ContainsFunc(l.Enrolments, func(e *Enrolment) bool { return e.ContractID == contractID && e.Covers(day) })
}

// endEnrolments ends the open enrolments as an exit on day does: on the
// exit day, or the day before its first day for one starting after it.
func (l *Learner) endEnrolments(exit civil.Date) {
	for _, e := range l.Enrolments {
		if !e.To.IsZero() {
			continue
		}
		e.To, e.ByExit = exit, true
		if e.From.After(exit) {
			e.To = e.From.AddDays(-1)
		}
	}
}

// busyOn reports whether the learner is in an immersion on day (a place in
// a session that has started).
func (l *Learner) busyOn(day civil.Date) bool {
	return slices.ContainsFunc(l.busy, func(b [2]civil.Date) bool { return !day.Before(b[0]) && !day.After(b[1]) })
}

// Active reports whether the learner's last episode is open.
func (l *Learner) Active() bool {
	return len(l.Episodes) > 0 && l.Episodes[len(l.Episodes)-1].Exit.IsZero()
}

// current is the last episode, nil before the first entry.
func (l *Learner) current() *Episode {
	if len(l.Episodes) == 0 {
		return nil
	}
	return l.Episodes[len(l.Episodes)-1]
}

// InPathway reports whether the learner was in the pathway on day, as
// recorded (entry ≤ day ≤ exit).
func (l *Learner) InPathway(day civil.Date) bool {
	for _, e := range l.Episodes {
		if !day.Before(e.Entry) && (e.Exit.IsZero() || !day.After(e.Exit)) {
			return true
		}
	}
	return false
}

// learnerPlan is what the simulation intends for a learner's episode.
type learnerPlan struct {
	analysisOn   civil.Date
	analysisTry  int
	bookOn       civil.Date // zero: no immersion wanted
	bookTries    int
	immersions   int
	exitOn       civil.Date
	exitReason   pathwayv1.ExitReason
	exitLateDays int
	reenterOn    civil.Date
	// qualifOutcomeOn: after an exit to qualifying training, the day the
	// outcome of the Qualif referral followed (qualifReferral) is recorded.
	qualifOutcomeOn civil.Date
	qualifReferral  int32
	trainDays       [5]bool // Monday..Friday
	trainMinutes    int
	fees            []pendingFee
}

type plannedEntry struct {
	day   int
	index int
}

func newWorld(o Options) *World {
	w := &World{From: o.From, Days: o.Days, Coordinators: map[string]string{}}
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0xE117))
	// Entries: any day, fewer at weekends.
	weights := make([]int, o.Days)
	total := 0
	for i := range weights {
		weights[i] = 10
		if wd := o.From.AddDays(i).Weekday(); wd == time.Saturday || wd == time.Sunday {
			weights[i] = 2
		}
		total += weights[i]
	}
	for j := range o.Learners {
		x := r.IntN(total)
		day := 0
		for day < len(weights)-1 && x >= weights[day] {
			x -= weights[day]
			day++
		}
		w.entries = append(w.entries, plannedEntry{day: day, index: j})
	}
	sort.SliceStable(w.entries, func(a, b int) bool { return w.entries[a].day < w.entries[b].day })
	for i := range w.entries {
		w.entries[i].index = i // learners are numbered in order of entry
	}
	return w
}

func (w *World) activeCount() int {
	n := 0
	for _, l := range w.Learners {
		if l.Active() {
			n++
		}
	}
	return n
}

func (w *World) operator(id string) *Operator {
	for _, o := range w.Operators {
		if o.ID == id {
			return o
		}
	}
	return nil
}

func (w *World) contract(id string) *Contract {
	for _, c := range w.Contracts {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// learner finds a learner of the simulation by id (nil: none).
func (w *World) learner(id string) *Learner {
	if len(w.byID) != len(w.Learners) {
		w.byID = make(map[string]*Learner, len(w.Learners))
		for _, l := range w.Learners {
			w.byID[l.ID] = l
		}
	}
	return w.byID[id]
}

func (w *World) session(id string) *Session {
	if w.sessions == nil {
		w.sessions = map[string]*Session{}
	}
	if s, ok := w.sessions[id]; ok {
		return s
	}
	for _, s := range w.Sessions {
		w.sessions[s.ID] = s
	}
	return w.sessions[id]
}

// operatorsOf lists the operators whose contract covers territory.
func (w *World) operatorsOf(territory string) []*Operator {
	var out []*Operator
	for _, o := range w.Operators {
		if slices.Contains(o.Territories, territory) {
			out = append(out, o)
		}
	}
	return out
}
