package platform

// FromWire returns the domain code whose wire value (a protobuf enum) is w,
// given the table from domain codes to wire values; the zero code when w is
// in no entry (UNSPECIFIED, or a value added by a newer version), which the
// domain then refuses as input.
func FromWire[D comparable, W comparable](table map[D]W, w W) D {
	for d, v := range table {
		if v == w {
			return d
		}
	}
	var zero D
	return zero
}
