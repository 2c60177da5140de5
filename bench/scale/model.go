package main

// The analytic model: Poisson arrivals at rate R over C campaigns with
// Zipf(s) popularity, spread evenly over the instances that R keeps busy,
// each instance with its own cache.

import (
	"fmt"
	"math"
	"time"
)

const (
	// modelQuarter is how long the current quarter's keys stay hot.
	modelQuarter = 15 * time.Minute
	// entryBytes is the live heap one cached real-shaped read model takes,
	// ristretto's bookkeeping included, as internal/cache
	// TestMemoryPerEntry measured it.
	entryBytes = 555
)

// modelInstances returns the instances that rate (requests per second)
// keeps warm: the concurrency R × 2 ms (an invocation's service time) with
// 1.5× headroom, at least one.
func modelInstances(rate float64) int {
	return max(1, int(math.Ceil(rate*0.002*1.5)))
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
	h := 0.0
	for _, p := range w {
		lt := rate * p / float64(instances) * ttl.Seconds()
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

// modelKeys returns the distinct keys one instance is asked for in a
// quarter: 1 − e^(−λQ) per key.
func modelKeys(w []float64, rate float64, instances int) float64 {
	n := 0.0
	for _, p := range w {
		n += -math.Expm1(-rate * p / float64(instances) * modelQuarter.Seconds())
	}
	return n
}

// writeModelTable prints the model as a Markdown table, one row for each
// of 1k, 100k and 1M campaigns at each of 83, 10k and 100k req/s.
func writeModelTable(s float64) {
	fmt.Printf("Model (Zipf s=%g; instances = rate × 2 ms × 1.5; reads per million requests = (1 − hit) × 10⁶)\n\n", s)
	fmt.Println("| campaigns | req/s | instances | TTL 60 s, steady | reads/M | TTL 900 s, steady | TTL 60 s, cold each quarter | generation, cold each quarter | reads/M | average reads/s over the quarter | keys per instance per quarter | cache heap per instance, 2 quarters |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range []int{1_000, 100_000, 1_000_000} {
		wt := zipfWeights(c, s)
		for _, r := range []float64{5000.0 / 60, 10_000, 100_000} {
			n := modelInstances(r)
			hit60 := modelTTL(wt, r, n, time.Minute)
			hitGen := modelQuarterReset(wt, r, n, modelQuarter)
			keys := modelKeys(wt, r, n)
			// Two quarters of entries: the previous quarter's live until
			// their TTL.
			cacheMiB := 2 * keys * entryBytes / (1 << 20)
			fmt.Printf("| %s | %s | %d | %.3f | %s | %.3f | %.3f | %.3f | %s | %s | %s | %.0f MiB |\n",
				count(float64(c)), count(r), n, hit60, count((1-hit60)*1e6), modelTTL(wt, r, n, 15*time.Minute),
				modelQuarterReset(wt, r, n, time.Minute), hitGen, count((1-hitGen)*1e6),
				count((1-hitGen)*r), count(keys), cacheMiB)
		}
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
