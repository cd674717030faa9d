// Package intakecontract is the part of the intake context's published
// contract that other contexts read in Go: which stream and subject carry
// the erasure of a learner's personal data, and what it says. Every service
// holding a copy of personal data in a read model purges it when it sees
// the erasure (docs/adr/0065-erasure-retention-and-access.md).
package intakecontract

import (
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	intakev1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
)

// Stream is the intake context's stream.
const Stream = "INTAKE"

// ErasedSubjects are the subjects of the erasure events.
var ErasedSubjects = []string{"avenir.intake.learner.*.erased"}

// Erasure is what an erasure event says.
type Erasure struct {
	LearnerID     string
	TerritoryCode string
	ErasedOn      *commonv1.Date
}

// ErasureOf reads an erasure event; ok is false for any other message.
func ErasureOf(m proto.Message) (e Erasure, ok bool) {
	ev, ok := m.(*intakev1.LearnerErased)
	if !ok || ev.GetLearnerId() == "" {
		return Erasure{}, false
	}
	return Erasure{LearnerID: ev.GetLearnerId(), TerritoryCode: ev.GetTerritoryCode(), ErasedOn: ev.GetErasedOn()}, true
}

// ErasedName is what people read instead of an erased learner's name.
const ErasedName = "personne effacée"
