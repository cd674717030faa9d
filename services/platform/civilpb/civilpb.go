// Package civilpb converts civil dates and months to and from their wire
// messages (avenir.common.v1.Date and Month). It lives apart from package
// civil so that domain code, which uses civil, never depends on generated
// code: the conversion belongs to the services' codecs.
package civilpb

import (
	"time"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/apperr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
)

// Date converts a wire date. A nil message is the zero date; the result may
// be invalid, so callers validate it.
func Date(p *commonv1.Date) civil.Date {
	if p == nil {
		return civil.Date{}
	}
	return civil.Date{Year: int(p.GetYear()), Month: time.Month(p.GetMonth()), Day: int(p.GetDay())}
}

// FromDate converts d to its wire message; the zero date becomes nil.
func FromDate(d civil.Date) *commonv1.Date {
	if d.IsZero() {
		return nil
	}
	return &commonv1.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

// Month converts a wire month. A nil message is the zero month, which is
// invalid: callers validate it.
func Month(p *commonv1.Month) civil.Month {
	if p == nil {
		return civil.Month{}
	}
	return civil.Month{Year: int(p.GetYear()), Month: time.Month(p.GetMonth())}
}

// FromMonth converts m to its wire message; the zero month becomes nil.
func FromMonth(m civil.Month) *commonv1.Month {
	if m == (civil.Month{}) {
		return nil
	}
	return &commonv1.Month{Year: int32(m.Year), Month: int32(m.Month)}
}

// CheckMonth converts a month of a request, recording on v the problem of
// field when it is missing or out of range.
func CheckMonth(v *apperr.Violations, field string, p *commonv1.Month) civil.Month {
	m := Month(p)
	switch {
	case p == nil:
		v.Add(field, "is required: a year (1900..2200) and a month (1..12)")
	case !m.Valid():
		v.Add(field, "must be a month between 1900-01 and 2200-12")
	}
	return m
}

// OptionalDate converts an optional date of a request, recording on v the
// problem of field when one is given that does not exist (31 June).
func OptionalDate(v *apperr.Violations, field string, p *commonv1.Date) civil.Date {
	d := Date(p)
	if !d.IsZero() && !d.Valid() {
		v.Add(field, "is not a valid date")
	}
	return d
}
