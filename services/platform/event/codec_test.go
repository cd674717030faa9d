package event_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/event"
	"github.com/avenir-normandie/avenir/services/platform/natsx"
	"github.com/avenir-normandie/avenir/services/platform/natsx/natstest"
	"github.com/avenir-normandie/avenir/services/platform/privacy"
)

// The test message types, declared as an event proto would, with the
// personal options, and registered so that the codec decodes them:
//
//	message Person { string learner_id = 1; string name = 2 [personal];
//	  int32 age = 3 [personal]; string city = 4; repeated string tags = 5 [personal];
//	  avenir.common.v1.Sealed sealed = 6; }
//	message Keyed { option personal_key_field = "owner"; string owner = 1;
//	  string note = 2 [personal]; avenir.common.v1.Sealed sealed = 3; }
//	message Unsealable { string learner_id = 1; string note = 2 [personal]; }
var testTypes = registerTestTypes()

func registerTestTypes() map[string]protoreflect.MessageType {
	personal := func() *descriptorpb.FieldOptions {
		o := &descriptorpb.FieldOptions{}
		proto.SetExtension(o, commonv1.E_Personal, true)
		return o
	}
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, opts *descriptorpb.FieldOptions) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Options: opts,
		}
		if typ == descriptorpb.FieldDescriptorProto_TYPE_MESSAGE {
			f.TypeName = proto.String(".avenir.common.v1.Sealed")
		}
		return f
	}
	const (
		str    = descriptorpb.FieldDescriptorProto_TYPE_STRING
		i32    = descriptorpb.FieldDescriptorProto_TYPE_INT32
		sealed = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	tags := field("tags", 5, str, personal())
	tags.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	keyed := &descriptorpb.MessageOptions{}
	proto.SetExtension(keyed, commonv1.E_PersonalKeyField, "owner")
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("eventtest/v1/person.proto"),
		Package:    proto.String("eventtest.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"avenir/common/v1/common.proto", "avenir/common/v1/privacy.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Person"), Field: []*descriptorpb.FieldDescriptorProto{
				field("learner_id", 1, str, nil), field("name", 2, str, personal()), field("age", 3, i32, personal()),
				field("city", 4, str, nil), tags, field("sealed", 6, sealed, nil),
			}},
			{Name: proto.String("Keyed"), Options: keyed, Field: []*descriptorpb.FieldDescriptorProto{
				field("owner", 1, str, nil), field("note", 2, str, personal()), field("sealed", 3, sealed, nil),
			}},
			{Name: proto.String("Unsealable"), Field: []*descriptorpb.FieldDescriptorProto{
				field("learner_id", 1, str, nil), field("note", 2, str, personal()),
			}},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	types := map[string]protoreflect.MessageType{}
	for i := range fd.Messages().Len() {
		mt := dynamicpb.NewMessageType(fd.Messages().Get(i))
		if err := protoregistry.GlobalTypes.RegisterMessage(mt); err != nil {
			panic(err)
		}
		types[string(mt.Descriptor().Name())] = mt
	}
	return types
}

// newMessage builds a test message of type name with the fields given.
func newMessage(t testing.TB, name string, fields map[string]any) proto.Message {
	t.Helper()
	m := testTypes[name].New()
	for f, v := range fields {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(f))
		if list, ok := v.([]string); ok {
			l := m.Mutable(fd).List()
			for _, s := range list {
				l.Append(protoreflect.ValueOfString(s))
			}
			continue
		}
		m.Set(fd, protoreflect.ValueOf(v))
	}
	return m.Interface()
}

func get(m proto.Message, field string) protoreflect.Value {
	r := m.ProtoReflect()
	return r.Get(r.Descriptor().Fields().ByName(protoreflect.Name(field)))
}

// sealer starts a key store and returns a Keyring on it.
func sealer(t testing.TB) *privacy.Keyring {
	t.Helper()
	srv := natstest.Start(t)
	js := srv.JetStream(t)
	if _, err := natsx.EnsureStream(context.Background(), js, privacy.StreamSpec(), natsx.Topology{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	m, err := privacy.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := privacy.New(js, privacy.Options{Master: m, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

var meta = event.Meta{ID: "id-1", Source: "test"}

func TestCodecSealsPersonalFields(t *testing.T) {
	ctx := context.Background()
	keys := sealer(t)
	codec := event.Codec{Sealer: keys}
	person := newMessage(t, "Person", map[string]any{
		"learner_id": "l1", "name": "Dupont-Distinctif", "age": int32(47), "city": "Caen", "tags": []string{"rqth-secret"},
	})
	original := proto.Clone(person)
	msg, err := codec.Encode(ctx, event.Draft{Subject: "avenir.test.person.l1.registered", AggregateID: "l1", Data: person}, meta)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(person, original) {
		t.Fatal("Encode changed the draft's payload")
	}
	for _, secret := range []string{"Dupont-Distinctif", "rqth-secret"} {
		if bytes.Contains(msg.Data, []byte(secret)) {
			t.Fatalf("%q stored in clear", secret)
		}
	}
	if !bytes.Contains(msg.Data, []byte("Caen")) || !bytes.Contains(msg.Data, []byte("learner.l1")) {
		t.Fatal("the fields that are not personal, or the key id, are missing from the payload")
	}
	// Stored: the personal fields are empty and the Sealed field is set.
	stored := testTypes["Person"].New().Interface()
	if err := proto.Unmarshal(msg.Data, stored); err != nil {
		t.Fatal(err)
	}
	if get(stored, "name").String() != "" || get(stored, "age").Int() != 0 || get(stored, "tags").List().Len() != 0 {
		t.Fatalf("stored personal fields: %v", stored)
	}

	ev, err := codec.Decode(ctx, msg.Subject, msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Erased || !proto.Equal(ev.Data, original) {
		t.Fatalf("decoded %v (erased %v), want %v", ev.Data, ev.Erased, original)
	}
	if ev.Data.ProtoReflect().Has(ev.Data.ProtoReflect().Descriptor().Fields().ByName("sealed")) {
		t.Fatal("the Sealed field is still set after decoding")
	}

	// Without a sealer: a configuration error, not an undecodable message.
	_, err = event.Codec{}.Decode(ctx, msg.Subject, msg.Header, msg.Data)
	if err == nil || errors.Is(err, event.ErrUndecodable) {
		t.Fatalf("decode without a sealer: %v", err)
	}
	if _, err := (event.Codec{}).Encode(ctx, event.Draft{Subject: "avenir.test.person.l1.registered", Data: person}, meta); err == nil {
		t.Fatal("personal data encoded without a sealer")
	}

	// Erased: the personal fields read empty, the others as stored.
	if err := keys.Erase(ctx, privacy.LearnerKey("l1")); err != nil {
		t.Fatal(err)
	}
	ev, err = codec.Decode(ctx, msg.Subject, msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := newMessage(t, "Person", map[string]any{"learner_id": "l1", "city": "Caen"})
	if !ev.Erased || !proto.Equal(ev.Data, want) {
		t.Fatalf("erased: decoded %v (erased %v), want %v", ev.Data, ev.Erased, want)
	}
	if _, err := codec.Encode(ctx, event.Draft{Subject: "avenir.test.person.l1.updated", Data: person}, meta); !errors.Is(err, event.ErrErased) {
		t.Fatalf("encode for an erased learner: %v", err)
	}
}

func TestCodecEncodesWithoutPersonalDataAsBefore(t *testing.T) {
	ctx := context.Background()
	codec := event.Codec{Sealer: sealer(t)}
	for name, data := range map[string]proto.Message{
		"no personal field":     wrapperspb.String("hello"),
		"personal fields unset": newMessage(t, "Person", map[string]any{"learner_id": "l1", "city": "Caen"}),
		"no learner, unset":     newMessage(t, "Person", map[string]any{"city": "Caen"}),
	} {
		msg, err := codec.Encode(ctx, event.Draft{Subject: "avenir.test.x.1.done", Data: data}, meta)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plain, _ := proto.MarshalOptions{Deterministic: true}.Marshal(data)
		if !bytes.Equal(msg.Data, plain) {
			t.Errorf("%s: payload differs from the plain encoding", name)
		}
		for _, c := range []event.Codec{codec, {}} {
			ev, err := c.Decode(ctx, msg.Subject, msg.Header, msg.Data)
			if err != nil || ev.Erased || !proto.Equal(ev.Data, data) {
				t.Errorf("%s: decoded %v, %v", name, ev.Data, err)
			}
		}
	}
}

func TestCodecRefusesWhatItCannotSealRight(t *testing.T) {
	ctx := context.Background()
	keys := sealer(t)
	codec := event.Codec{Sealer: keys}
	draft := func(m proto.Message) event.Draft { return event.Draft{Subject: "avenir.test.x.1.done", Data: m} }

	if _, err := codec.Encode(ctx, draft(newMessage(t, "Person", map[string]any{"name": "X"})), meta); err == nil {
		t.Error("personal data without a learner id encoded")
	}
	if _, err := codec.Encode(ctx, draft(newMessage(t, "Unsealable", map[string]any{"learner_id": "l1", "note": "x"})), meta); !errors.Is(err, event.ErrMisdeclared) {
		t.Errorf("a message without a Sealed field: %v", err)
	}
	s, err := keys.Seal(ctx, "learner.l1", []byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	both := newMessage(t, "Person", map[string]any{"learner_id": "l1", "name": "X"})
	both.ProtoReflect().Set(both.ProtoReflect().Descriptor().Fields().ByName("sealed"), protoreflect.ValueOfMessage(s.ProtoReflect()))
	if _, err := codec.Encode(ctx, draft(both), meta); err == nil {
		t.Error("a message both sealed and with personal fields set encoded")
	}

	// The key field option names the learner.
	keyed := newMessage(t, "Keyed", map[string]any{"owner": "o7", "note": "private"})
	msg, err := codec.Encode(ctx, draft(keyed), meta)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(msg.Data, []byte("learner.o7")) || bytes.Contains(msg.Data, []byte("private")) {
		t.Fatal("Keyed not sealed with its owner's key")
	}
	ev, err := codec.Decode(ctx, msg.Subject, msg.Header, msg.Data)
	if err != nil || !proto.Equal(ev.Data, keyed) {
		t.Fatalf("Keyed decoded %v, %v", ev.Data, err)
	}

	// A sealed blob moved to another learner's event does not open.
	moved := testTypes["Keyed"].New().Interface()
	if err := proto.Unmarshal(msg.Data, moved); err != nil {
		t.Fatal(err)
	}
	moved.ProtoReflect().Set(moved.ProtoReflect().Descriptor().Fields().ByName("owner"), protoreflect.ValueOfString("o8"))
	data, _ := proto.Marshal(moved)
	if _, err := codec.Decode(ctx, msg.Subject, msg.Header, data); err == nil || errors.Is(err, event.ErrUndecodable) {
		t.Fatalf("a sealed blob moved to another learner: %v", err)
	}
}
