package domain

// Phase is where a learner stands in the pathway. It is derived from the
// facts recorded, never set by hand.
type Phase string

// The phases, in the order a learner goes through them.
const (
	// PhaseNone: the learner never entered the scheme.
	PhaseNone                 Phase = ""
	PhaseWelcomed             Phase = "welcomed"
	PhaseNeedsAnalysed        Phase = "needs_analysed"
	PhaseBuildingProject      Phase = "building_project"
	PhaseDiscoveringTrades    Phase = "discovering_trades" // #Action immersions
	PhaseInQualifyingTraining Phase = "in_qualifying_training"
	PhaseExited               Phase = "exited"
)

// Facts are what is known of a learner's pathway, about the open episode (or
// the last one). Some come from other contexts: the needs analysis, the
// #Action immersions.
type Facts struct {
	// Open: an episode is open.
	Open bool
	// Exited: the last episode was closed by an exit (ignored when Open,
	// after a re-entry).
	Exited bool
	// NeedsAnalysed: the in-depth analysis of prior learning and needs is
	// complete.
	NeedsAnalysed bool
	// ProjectStep: a step of building the learner's project was recorded,
	// such as a referral to a programme.
	ProjectStep bool
	// ImmersionDone: an #Action immersion took place (completed or
	// partially).
	ImmersionDone bool
	// QualifAccepted, QualifStarted: a referral to the qualifying training
	// programme ("Qualif") is accepted, or the training started; an outcome
	// recorded later (abandoned) withdraws the fact.
	QualifAccepted bool
	QualifStarted  bool
}

// PhaseOf derives the phase from the facts: out of the scheme, the learner
// has exited (or never entered); in it, the furthest stage any fact shows
// wins, whatever the order the facts were recorded in.
func PhaseOf(f Facts) Phase {
	switch {
	case !f.Open && f.Exited:
		return PhaseExited
	case !f.Open:
		return PhaseNone
	case f.QualifAccepted || f.QualifStarted:
		return PhaseInQualifyingTraining
	case f.ImmersionDone:
		return PhaseDiscoveringTrades
	case f.ProjectStep:
		return PhaseBuildingProject
	case f.NeedsAnalysed:
		return PhaseNeedsAnalysed
	}
	return PhaseWelcomed
}

// Facts returns the facts of the last episode: whether it is open, its
// completed needs analysis and immersions done (noted from the needs and
// immersion contexts), and its
// referrals (a referral is a project-building step; a referral to Qualif
// accepted or started is the handover to qualifying training).
func (p Pathway) Facts() Facts {
	last, ok := p.last()
	if !ok {
		return Facts{}
	}
	f := Facts{Open: last.Open(), Exited: !last.Open(), NeedsAnalysed: last.NeedsAnalysed, ImmersionDone: last.ImmersionsDone > 0}
	for _, r := range last.Referrals {
		f.ProjectStep = true
		if r.Programme == ProgrammeQualif {
			f.QualifAccepted = f.QualifAccepted || r.Outcome == OutcomeAccepted
			f.QualifStarted = f.QualifStarted || r.Outcome == OutcomeStarted
		}
	}
	return f
}

// Phase is the phase derived from the pathway's facts.
func (p Pathway) Phase() Phase { return PhaseOf(p.Facts()) }
