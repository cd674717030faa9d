package grpcx

import (
	"context"
	"errors"
	"maps"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/avenir-normandie/avenir/services/platform/apperr"
)

// ErrorDomain is the domain of the errdetails.ErrorInfo details attached to
// statuses.
const ErrorDomain = "avenir"

// internalMessage is the only message clients ever see for internal errors.
const internalMessage = "internal error"

// kindStatus tells how an apperr.Kind is presented over gRPC.
type kindStatus struct {
	code   codes.Code
	reason string // errdetails.ErrorInfo reason
}

var kindStatuses = map[apperr.Kind]kindStatus{
	apperr.KindInvalidArgument:    {codes.InvalidArgument, "INVALID_ARGUMENT"},
	apperr.KindNotFound:           {codes.NotFound, "NOT_FOUND"},
	apperr.KindAlreadyExists:      {codes.AlreadyExists, "ALREADY_EXISTS"},
	apperr.KindFailedPrecondition: {codes.FailedPrecondition, "FAILED_PRECONDITION"},
	apperr.KindAborted:            {codes.Aborted, "ABORTED"},
	apperr.KindPermissionDenied:   {codes.PermissionDenied, "PERMISSION_DENIED"},
	apperr.KindUnauthenticated:    {codes.Unauthenticated, "UNAUTHENTICATED"},
	apperr.KindUnavailable:        {codes.Unavailable, "UNAVAILABLE"},
	apperr.KindResourceExhausted:  {codes.ResourceExhausted, "RESOURCE_EXHAUSTED"},
}

// grpcStatusError is implemented by the errors of package status.
type grpcStatusError interface {
	error
	GRPCStatus() *status.Status
}

// Status translates err into the gRPC status returned to clients:
//
//   - nil is OK;
//   - an error that is or wraps a gRPC status error yields that status
//     unchanged;
//   - an *apperr.Error yields the code of its kind and its Message. An
//     InvalidArgument status carries an errdetails.BadRequest listing every
//     field violation. An AlreadyExists status, and any other status whose
//     error has Meta, carries an errdetails.ErrorInfo with the upper-case
//     code name as Reason, ErrorDomain as Domain and Meta as Metadata;
//   - context.DeadlineExceeded and context.Canceled yield DeadlineExceeded
//     and Canceled;
//   - anything else, including apperr.KindInternal, is Internal with the
//     fixed message "internal error", so that no detail leaks to clients.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if e, ok := errors.AsType[*apperr.Error](err); ok {
		return appStatus(e)
	}
	if gs, ok := errors.AsType[grpcStatusError](err); ok {
		if st := gs.GRPCStatus(); st != nil {
			return st
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error())
	}
	return status.New(codes.Internal, internalMessage)
}

// appStatus translates an application error.
func appStatus(e *apperr.Error) *status.Status {
	ks, ok := kindStatuses[e.Kind]
	if !ok {
		return status.New(codes.Internal, internalMessage)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	st := status.New(ks.code, msg)

	var details []protoadapt.MessageV1
	if e.Kind == apperr.KindInvalidArgument && len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       f.Field,
				Description: f.Description,
			})
		}
		details = append(details, br)
	}
	if e.Kind == apperr.KindAlreadyExists || len(e.Meta) > 0 {
		details = append(details, &errdetails.ErrorInfo{
			Reason:   ks.reason,
			Domain:   ErrorDomain,
			Metadata: maps.Clone(e.Meta),
		})
	}
	if len(details) == 0 {
		return st
	}
	if withDetails, err := st.WithDetails(details...); err == nil {
		return withDetails
	}
	// The details could not be marshalled: the code and message still
	// tell the client what happened.
	return st
}

// FieldViolations returns the field violations carried by the
// errdetails.BadRequest details of a gRPC status error, or nil if there are
// none.
func FieldViolations(err error) []apperr.FieldViolation {
	var fields []apperr.FieldViolation
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, apperr.FieldViolation{
					Field:       v.GetField(),
					Description: v.GetDescription(),
				})
			}
		}
	}
	return fields
}

// Metadata returns the metadata of the errdetails.ErrorInfo details of a
// gRPC status error, such as the existing_id of an AlreadyExists error, or
// nil if there are none.
func Metadata(err error) map[string]string {
	var meta map[string]string
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && len(info.GetMetadata()) > 0 {
			if meta == nil {
				meta = make(map[string]string, len(info.GetMetadata()))
			}
			maps.Copy(meta, info.GetMetadata())
		}
	}
	return meta
}
