package chart

// scale is a value axis: the domain [lo, hi] and its ticks, multiples of a
// 1-2-5 step, all integers.
type scale struct {
	lo, hi int64
	step   int64
	ticks  []int64
}

// niceScale makes an axis holding [lo, hi] (lo ≤ 0 ≤ hi, both within
// ±maxMagnitude) in at most maxIntervals intervals of a 1, 2 or 5 × 10^k
// step (at least 1: values are integers). All zero gives the domain [0, 1]
// with the single tick 0.
func niceScale(lo, hi int64, maxIntervals int) scale {
	lo, hi = min(clamp(lo), 0), max(clamp(hi), 0)
	if maxIntervals < 1 {
		maxIntervals = 1
	}
	if lo == 0 && hi == 0 {
		return scale{lo: 0, hi: 1, step: 1, ticks: []int64{0}}
	}
	var step, first, last int64
search:
	for mag := int64(1); ; mag *= 10 {
		for _, m := range [...]int64{1, 2, 5} {
			step = m * mag
			first, last = -ceilDiv(-lo, step), ceilDiv(hi, step)
			if last-first <= int64(maxIntervals) || mag >= maxMagnitude {
				break search
			}
		}
	}
	s := scale{lo: first * step, hi: last * step, step: step}
	for k := first; k <= last; k++ {
		s.ticks = append(s.ticks, k*step)
	}
	return s
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0, without overflow.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// frac is the position of v in the domain, 0 at lo and 1 at hi.
func (s scale) frac(v int64) float64 {
	v = max(s.lo, min(s.hi, clamp(v)))
	return float64(v-s.lo) / float64(s.hi-s.lo)
}
