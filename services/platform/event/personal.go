package event

import (
	"errors"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
)

// DefaultPersonalKeyField names the field holding the learner id when a
// message with personal fields sets no (avenir.common.v1.personal_key_field).
const DefaultPersonalKeyField = "learner_id"

// sealedName is the full name of the message holding sealed personal data.
var sealedName = (*commonv1.Sealed)(nil).ProtoReflect().Descriptor().FullName()

// plan is how a message type with personal fields is sealed.
type plan struct {
	md protoreflect.MessageDescriptor
	// fields are the personal fields, numbers the set of their numbers.
	fields  []protoreflect.FieldDescriptor
	numbers map[protoreflect.FieldNumber]bool
	sealed  protoreflect.FieldDescriptor // the Sealed field
	key     protoreflect.FieldDescriptor // the learner id
	// err says how the message type breaks the rules; such a type is
	// neither encoded nor decoded.
	err error
}

// noPlan is cached for the message types without personal fields.
var noPlan = &plan{}

// plans caches the plan of each message type, by full name.
var plans sync.Map // protoreflect.FullName → *plan

// planOf returns the plan of message type md, nil when it has no personal
// field.
func planOf(md protoreflect.MessageDescriptor) *plan {
	if v, ok := plans.Load(md.FullName()); ok {
		if p := v.(*plan); p != noPlan {
			return p
		}
		return nil
	}
	p := analyse(md)
	if p == nil {
		plans.Store(md.FullName(), noPlan)
		return nil
	}
	plans.Store(md.FullName(), p)
	return p
}

// analyse reads the personal fields of md, nil when it has none.
func analyse(md protoreflect.MessageDescriptor) *plan {
	p := &plan{md: md, numbers: map[protoreflect.FieldNumber]bool{}}
	var sealed []protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if Personal(fd) {
			p.fields = append(p.fields, fd)
			p.numbers[fd.Number()] = true
		}
		if fd.Message() != nil && fd.Message().FullName() == sealedName {
			sealed = append(sealed, fd)
		}
	}
	if len(p.fields) == 0 {
		return nil
	}
	keyName := PersonalKeyField(md)
	p.key = fields.ByName(protoreflect.Name(keyName))
	switch {
	case len(sealed) != 1:
		p.err = fmt.Errorf("has personal fields and %d fields of type %s (it needs exactly one)", len(sealed), sealedName)
	case sealed[0].Cardinality() == protoreflect.Repeated:
		p.err = fmt.Errorf("its %s field %s is repeated", sealedName, sealed[0].Name())
	case p.key == nil:
		p.err = fmt.Errorf("has personal fields and no field %s naming the learner", keyName)
	case p.key.Kind() != protoreflect.StringKind || p.key.Cardinality() == protoreflect.Repeated:
		p.err = fmt.Errorf("its key field %s is not a singular string", keyName)
	case p.numbers[p.key.Number()]:
		p.err = fmt.Errorf("its key field %s is personal", keyName)
	case p.numbers[sealed[0].Number()]:
		p.err = fmt.Errorf("its %s field %s is personal", sealedName, sealed[0].Name())
	}
	if p.err != nil {
		p.err = errors.Join(ErrMisdeclared, p.err)
	}
	if len(sealed) > 0 {
		p.sealed = sealed[0]
	}
	return p
}

// ErrMisdeclared is wrapped by the errors about a message type whose
// personal fields break the rules (see PersonalKeyField).
var ErrMisdeclared = errors.New("event: personal fields misdeclared")

// Personal reports whether fd is marked (avenir.common.v1.personal).
func Personal(fd protoreflect.FieldDescriptor) bool {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	return ok && opts != nil && proto.GetExtension(opts, commonv1.E_Personal).(bool)
}

// PersonalKeyField names the string field of md holding the id of the
// learner whose data key seals its personal fields:
// (avenir.common.v1.personal_key_field), by default learner_id. A message
// with personal fields also has exactly one field of type
// avenir.common.v1.Sealed; neither it nor the key field is personal.
func PersonalKeyField(md protoreflect.MessageDescriptor) string {
	if opts, ok := md.Options().(*descriptorpb.MessageOptions); ok && opts != nil {
		if k := proto.GetExtension(opts, commonv1.E_PersonalKeyField).(string); k != "" {
			return k
		}
	}
	return DefaultPersonalKeyField
}

// anySet reports whether one of the personal fields is set in m.
func (p *plan) anySet(m protoreflect.Message) bool {
	for _, fd := range p.fields {
		if m.Has(fd) {
			return true
		}
	}
	return false
}

// personal reports whether fd is one of the personal fields.
func (p *plan) personal(fd protoreflect.FieldDescriptor) bool {
	return !fd.IsExtension() && p.numbers[fd.Number()]
}
