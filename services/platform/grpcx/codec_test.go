package grpcx_test

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/avenir-normandie/avenir/services/platform/grpcx"
)

// rawCodec sends bytes as they are: a client that does not check what it
// sends, as an attacker's would not.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

// field appends field name of md, with value v encoded as bytes.
func field(b []byte, md protoreflect.MessageDescriptor, name string, v []byte) []byte {
	b = protowire.AppendTag(b, md.Fields().ByName(protoreflect.Name(name)).Number(), protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func TestInvalidUTF8IsInvalidArgumentNamingTheField(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	req := (&testpb.SimpleRequest{}).ProtoReflect().Descriptor()
	status7 := (&testpb.EchoStatus{}).ProtoReflect().Descriptor()
	bad := field(nil, req, "response_status", field(nil, status7, "message", []byte("Lef\xffvre")))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var resp testpb.SimpleResponse
	err := h.conn.Invoke(ctx, testpb.TestService_UnaryCall_FullMethodName, bad, &resp, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("invalid UTF-8: %v, want InvalidArgument", err)
	}
	fields := grpcx.FieldViolations(err)
	if len(fields) != 1 || fields[0].Field != "response_status.message" || fields[0].Description != "must be valid UTF-8" {
		t.Fatalf("violations %+v", fields)
	}

	// Bytes that are no message at all are refused the same way.
	err = h.conn.Invoke(ctx, testpb.TestService_UnaryCall_FullMethodName, []byte{0x0a, 0xff}, &resp, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument || grpcx.FieldViolations(err)[0].Field != "request" {
		t.Fatalf("garbage: %v", err)
	}
	// And the server still serves well-formed requests.
	if got, err := h.unary(t, "hello"); err != nil || string(got.GetPayload().GetBody()) != "ok" {
		t.Fatalf("after bad requests: %v %v", got, err)
	}
}

func TestUndecodableStreamMessageIsInvalidArgument(t *testing.T) {
	h := start(t, grpcx.ServerOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := h.conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, testpb.TestService_StreamingInputCall_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg([]byte{0x0a, 0xff}); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var resp []byte
	if err := stream.RecvMsg(&resp); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("undecodable stream message: %v, want InvalidArgument", err)
	}
}
