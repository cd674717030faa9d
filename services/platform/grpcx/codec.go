package grpcx

import (
	"context"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// requestCodec decodes requests like gRPC's proto codec, but a request it
// cannot decode is the caller's fault, not the server's: gRPC answers every
// codec error with Internal, so the codec instead records the problem
// (undecodable) for the message and lets the first interceptor answer
// InvalidArgument, naming the field whose string is not valid UTF-8. The
// message is never handled.
type requestCodec struct {
	encoding.CodecV2
	undecodable *sync.Map // message (pointer) → *apperr.Error
}

func newRequestCodec() requestCodec {
	return requestCodec{CodecV2: encoding.GetCodecV2(protoenc.Name), undecodable: &sync.Map{}}
}

// Unmarshal implements encoding.CodecV2.
func (c requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	c.undecodable.Store(v, badRequest(data.Materialize(), m.ProtoReflect().Descriptor(), err))
	return nil
}

// take returns the problem recorded for req, and forgets it.
func (c requestCodec) take(req any) error {
	if e, ok := c.undecodable.LoadAndDelete(req); ok {
		return e.(*apperr.Error)
	}
	return nil
}

// unary refuses the requests the codec could not decode. It runs before
// any interceptor that may return early, so that every recorded problem is
// taken.
func (c requestCodec) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := c.take(req); err != nil {
			return nil, Status(err).Err()
		}
		return handler(ctx, req)
	}
}

// stream refuses the messages of a client stream the codec could not
// decode.
func (c requestCodec) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, checkedStream{ServerStream: ss, codec: c})
	}
}

type checkedStream struct {
	grpc.ServerStream
	codec requestCodec
}

func (s checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := s.codec.take(m); err != nil {
		return Status(err).Err()
	}
	return nil
}

// badRequest describes why b does not decode as a message of md: the path
// of the first string field that is not valid UTF-8, or the decoding error.
func badRequest(b []byte, md protoreflect.MessageDescriptor, err error) *apperr.Error {
	if path, found := invalidUTF8(b, md, ""); found {
		return apperr.Invalid(apperr.FieldViolation{Field: path, Description: "must be valid UTF-8"}).WithCause(err)
	}
	return apperr.Invalid(apperr.FieldViolation{Field: "request", Description: "cannot be decoded as " + string(md.FullName())}).WithCause(err)
}

// invalidUTF8 walks the wire encoding b of a message of md and returns the
// path (e.g. "contact.email", "lines[3].note") of the first string field
// holding invalid UTF-8.
func invalidUTF8(b []byte, md protoreflect.MessageDescriptor, prefix string) (string, bool) {
	seen := map[protowire.Number]int{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if typ != protowire.BytesType || fd == nil {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return "", false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		switch {
		case fd.IsMap():
			if p, found := invalidUTF8(v, fd.Message(), path+"."); found {
				return p, true
			}
		case fd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(v) {
				return path, true
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			if p, found := invalidUTF8(v, fd.Message(), path+"."); found {
				return p, true
			}
		}
	}
	return "", false
}
