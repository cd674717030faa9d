// Package geo knows roughly where the communes of Normandy are, to tell a
// referent how far a #Action session is from a learner's commune.
//
// The reference (communes.csv, embedded) lists the communes of Calvados
// (14), Eure (27), Manche (50), Orne (61) and Seine-Maritime (76) of more
// than about 2,000 inhabitants and the chefs-lieux of their cantons, by
// INSEE code, with the coordinates of their town centre. It was written
// from general knowledge for this project: the coordinates are
// approximate (within a kilometre or two), enough for distances in whole
// kilometres as the crow flies, which is all the console shows. A commune
// it does not list has no known distance.
package geo

import (
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"strings"
)

//go:embed communes.csv
var communesCSV string

// place is a commune of the reference: its name and its centre in
// micro-degrees (WGS 84).
type place struct {
	name     string
	lat, lon int32
}

var communes = mustParse(communesCSV)

// Commune returns the name of the commune of an INSEE code ("14118" is
// Caen), and whether the reference knows it.
func Commune(code string) (name string, ok bool) {
	p, ok := communes[normalize(code)]
	return p.name, ok
}

// DistanceKm returns the distance as the crow flies between the centres of
// two communes, in whole kilometres (rounded to the nearest), and whether
// the reference knows both.
func DistanceKm(a, b string) (km int, ok bool) {
	pa, okA := communes[normalize(a)]
	pb, okB := communes[normalize(b)]
	if !okA || !okB {
		return 0, false
	}
	return int(math.Round(haversineKm(pa, pb))), true
}

// Len is the number of communes the reference knows.
func Len() int { return len(communes) }

// earthRadiusKm is the mean radius of the Earth (IUGG).
const earthRadiusKm = 6371.0088

// haversineKm is the great-circle distance between two places.
func haversineKm(a, b place) float64 {
	rad := func(micro int32) float64 { return float64(micro) / 1e6 * math.Pi / 180 }
	lat1, lat2 := rad(a.lat), rad(b.lat)
	dLat, dLon := lat2-lat1, rad(b.lon)-rad(a.lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

func normalize(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// parse reads the reference: comment lines (#), a header line, then
// code;name;latitude;longitude lines, coordinates in micro-degrees.
func parse(src string) (map[string]place, error) {
	out := map[string]place{}
	header := false
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !header {
			header = true
			if line != "code;nom;latitude;longitude" {
				return nil, fmt.Errorf("geo: line %d: unexpected header %q", i+1, line)
			}
			continue
		}
		f := strings.Split(line, ";")
		if len(f) != 4 {
			return nil, fmt.Errorf("geo: line %d: want 4 fields, got %d", i+1, len(f))
		}
		code, name := f[0], strings.TrimSpace(f[1])
		if len(code) != 5 || name == "" {
			return nil, fmt.Errorf("geo: line %d: bad code or name %q %q", i+1, code, name)
		}
		lat, err1 := strconv.ParseInt(f[2], 10, 32)
		lon, err2 := strconv.ParseInt(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("geo: line %d: coordinates must be whole micro-degrees", i+1)
		}
		// Normandy lies between 48 and 51 degrees north, 2 west and 2 east.
		if lat < 48_000_000 || lat > 51_000_000 || lon < -2_000_000 || lon > 2_000_000 {
			return nil, fmt.Errorf("geo: line %d: %s (%s) is not in Normandy", i+1, name, code)
		}
		if _, dup := out[code]; dup {
			return nil, fmt.Errorf("geo: line %d: code %s listed twice", i+1, code)
		}
		out[code] = place{name: name, lat: int32(lat), lon: int32(lon)}
	}
	if !header {
		return nil, fmt.Errorf("geo: no header")
	}
	return out, nil
}

func mustParse(src string) map[string]place {
	m, err := parse(src)
	if err != nil {
		panic(err)
	}
	return m
}
