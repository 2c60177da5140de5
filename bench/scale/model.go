package main

import (
	"fmt"
	"io"
	"math"
	"time"
)

// The analytic model: Poisson arrivals at rate R over C
// campaigns with Zipf(s) popularity, spread evenly over the instances that
// R keeps busy, each instance with its own cache.

// The model's parameters.
const (
	// modelServiceTime is how long an invocation holds an instance.
	modelServiceTime = 2 * time.Millisecond
	// modelHeadroom multiplies the concurrency R × service time.
	modelHeadroom = 1.5
	// modelQuarter is how long the current quarter's keys stay hot.
	modelQuarter = 15 * time.Minute
)

// modelInstances returns the instances that rate (requests per second)
// keeps warm: R × 2 ms × 1.5, at least one.
func modelInstances(rate float64) int {
	return max(1, int(math.Ceil(rate*modelServiceTime.Seconds()*modelHeadroom)))
}

// zipfWeights returns the Zipf(s) probabilities of ranks 1 to n.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	sum := 0.0
	for k := range n {
		w[k] = math.Pow(float64(k+1), -s)
		sum += w[k]
	}
	for k := range w {
		w[k] /= sum
	}
	return w
}

// modelTTL is the steady-state model: the hit ratio of a clock TTL of ttl in
// the steady state, λT/(1+λT) per key and instance (a miss starts a fresh
// period of T; every request within it hits), weighted by popularity.
func modelTTL(w []float64, rate float64, instances int, ttl time.Duration) float64 {
	T := ttl.Seconds()
	h := 0.0
	for _, p := range w {
		lt := rate * p / float64(instances) * T
		h += p * lt / (1 + lt)
	}
	return h
}

// modelQuarterReset is the hit ratio when the hot keys change at every
// quarter boundary (every instance starts the quarter cold) and an entry
// lives min(ttl, the rest of the quarter): per key and instance, over a
// quarter of length Q, the misses are the first request (probability
// 1 − e^(−λQ)) plus one per TTL period after that, about λ(Q−T)/(1+λT),
// and at most λQ. ttl ≥ Q is freshness by generation: one miss per key,
// instance and quarter.
func modelQuarterReset(w []float64, rate float64, instances int, ttl time.Duration) float64 {
	T, Q := min(ttl, modelQuarter).Seconds(), modelQuarter.Seconds()
	h := 0.0
	for _, p := range w {
		l := rate * p / float64(instances)
		req := l * Q
		if req == 0 {
			continue
		}
		miss := min(req, -math.Expm1(-req)+math.Max(0, l*(Q-T))/(1+l*T))
		h += p * (1 - miss/req)
	}
	return h
}

// modelHerd returns the reads all instances send in the first second of a
// quarter: each instance misses each key it is asked for in that second,
// 1 − e^(−λ) per key.
func modelHerd(w []float64, rate float64, instances int) float64 {
	reads := 0.0
	for _, p := range w {
		reads += -math.Expm1(-rate * p / float64(instances))
	}
	return reads * float64(instances)
}

// modelDistinct returns the distinct keys one instance is asked for in a
// quarter: 1 − e^(−λQ) per key.
func modelDistinct(w []float64, rate float64, instances int) float64 {
	n := 0.0
	for _, p := range w {
		n += -math.Expm1(-rate * p / float64(instances) * modelQuarter.Seconds())
	}
	return n
}

// entryBytes is the live heap one cached real-shaped read model takes,
// ristretto's bookkeeping included, as internal/cache TestMemoryPerEntry
// measured it.
const entryBytes = 555

// modelRow is one line of the scale table.
type modelRow struct {
	Campaigns int
	Rate      float64
	Instances int
	// HitTTL60 and HitTTL900 are the steady-state model at a clock
	// TTL of 60 s and 900 s.
	HitTTL60, HitTTL900 float64
	// HitQuarter60 is a 60 s TTL with the quarter's cold start counted;
	// HitGeneration is freshness by generation (one miss per key, instance
	// and quarter).
	HitQuarter60, HitGeneration float64
	// GenPolls is the generation reads per million requests: two quarters
	// per instance every 5 s.
	GenPolls float64
	// Herd is the reads in the first second of a quarter without
	// pre-warm, and Steady the reads per second over the quarter (by
	// generation).
	Herd, Steady float64
	// Distinct is the keys one instance holds per quarter; CacheMiB the
	// heap of two quarters of them (the previous quarter's entries live
	// until their TTL) at entryBytes each.
	Distinct, CacheMiB float64
}

// modelTable computes the rows for every campaign count and rate.
func modelTable(campaigns []int, rates []float64, s float64) []modelRow {
	var rows []modelRow
	for _, c := range campaigns {
		w := zipfWeights(c, s)
		for _, r := range rates {
			n := modelInstances(r)
			row := modelRow{Campaigns: c, Rate: r, Instances: n,
				HitTTL60:      modelTTL(w, r, n, time.Minute),
				HitTTL900:     modelTTL(w, r, n, 15*time.Minute),
				HitQuarter60:  modelQuarterReset(w, r, n, time.Minute),
				HitGeneration: modelQuarterReset(w, r, n, modelQuarter),
				GenPolls:      float64(n) * 2 / 5 / r * 1e6,
				Herd:          modelHerd(w, r, n),
			}
			row.Steady = (1 - row.HitGeneration) * r
			row.Distinct = modelDistinct(w, r, n)
			row.CacheMiB = 2 * row.Distinct * entryBytes / (1 << 20)
			rows = append(rows, row)
		}
	}
	return rows
}

// writeModelTable prints rows as a Markdown table.
func writeModelTable(w io.Writer, rows []modelRow, s float64) {
	fmt.Fprintf(w, "Model (Zipf s=%g; instances = rate × 2 ms × 1.5; reads per million requests = (1 − hit) × 10⁶)\n\n", s)
	fmt.Fprintln(w, "| campaigns | req/s | instances | TTL 60 s, steady | reads/M | TTL 900 s, steady | TTL 60 s, cold each quarter | generation, cold each quarter | reads/M (+ generation polls/M) | reads in the boundary's first second, no pre-warm | average reads/s over the quarter | keys per instance per quarter | cache heap per instance, 2 quarters |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %d | %.3f | %s | %.3f | %.3f | %.3f | %s (+%s) | %s | %s | %s | %.0f MiB |\n",
			count(float64(r.Campaigns)), count(r.Rate), r.Instances, r.HitTTL60, count((1-r.HitTTL60)*1e6), r.HitTTL900,
			r.HitQuarter60, r.HitGeneration, count((1-r.HitGeneration)*1e6), count(r.GenPolls), count(r.Herd), count(r.Steady),
			count(r.Distinct), r.CacheMiB)
	}
}

// count formats n with a k or M suffix.
func count(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.3gM", n/1e6)
	case n >= 999.5:
		return fmt.Sprintf("%.3gk", n/1e3)
	case n >= 100:
		return fmt.Sprintf("%.0f", n)
	default:
		return fmt.Sprintf("%.3g", n)
	}
}
