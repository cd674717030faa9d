package platform_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	_ "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	_ "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
	_ "github.com/avenir-normandie/avenir/proto/gen/go/avenir/intake/v1"
	_ "github.com/avenir-normandie/avenir/proto/gen/go/avenir/needs/v1"
	_ "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	_ "github.com/avenir-normandie/avenir/proto/gen/go/avenir/referent/v1"
)

// Personal data has the shape the event codec seals
// (docs/adr/0064-personal-data-sealed-with-per-learner-keys.md): every
// registered avenir message with a field marked (avenir.common.v1.personal)
// has exactly one singular avenir.common.v1.Sealed field and a singular
// string field naming the learner ((avenir.common.v1.personal_key_field),
// by default learner_id), neither of them personal.
func TestPersonalFieldsCanBeSealed(t *testing.T) {
	sealedName := (&commonv1.Sealed{}).ProtoReflect().Descriptor().FullName()
	var checked, withPersonal int
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		md := mt.Descriptor()
		if !strings.HasPrefix(string(md.FullName()), "avenir.") {
			return true
		}
		checked++
		var personal, sealed []protoreflect.FieldDescriptor
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && proto.GetExtension(opts, commonv1.E_Personal).(bool) {
				personal = append(personal, fd)
			}
			if fd.Message() != nil && fd.Message().FullName() == sealedName {
				sealed = append(sealed, fd)
			}
		}
		if len(personal) == 0 {
			return true
		}
		withPersonal++
		keyName := "learner_id"
		if opts, ok := md.Options().(*descriptorpb.MessageOptions); ok {
			if k := proto.GetExtension(opts, commonv1.E_PersonalKeyField).(string); k != "" {
				keyName = k
			}
		}
		key := fields.ByName(protoreflect.Name(keyName))
		switch {
		case len(sealed) != 1:
			t.Errorf("%s has personal fields and %d fields of type %s, want exactly one", md.FullName(), len(sealed), sealedName)
		case sealed[0].Cardinality() == protoreflect.Repeated:
			t.Errorf("%s: its %s field %s is repeated", md.FullName(), sealedName, sealed[0].Name())
		}
		switch {
		case key == nil:
			t.Errorf("%s has personal fields and no field %s naming the learner whose key seals them", md.FullName(), keyName)
		case key.Kind() != protoreflect.StringKind || key.Cardinality() == protoreflect.Repeated:
			t.Errorf("%s: its key field %s is not a singular string", md.FullName(), keyName)
		}
		for _, fd := range personal {
			if fd == key {
				t.Errorf("%s: its key field %s is marked personal: it must stay in clear to find the key", md.FullName(), fd.Name())
			}
			if len(sealed) > 0 && fd == sealed[0] {
				t.Errorf("%s: its %s field %s is marked personal", md.FullName(), sealedName, fd.Name())
			}
		}
		return true
	})
	if checked < 50 || withPersonal == 0 {
		t.Fatalf("checked %d avenir messages, %d with personal fields: are the generated packages imported?", checked, withPersonal)
	}
	t.Logf("%d avenir messages, %d with personal fields", checked, withPersonal)
}
