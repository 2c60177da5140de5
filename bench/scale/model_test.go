package main

import (
	"math"
	"testing"
	"time"
)

// TestModelAt100kPerSecond checks the steady-state model against the
// reference figures for 100,000 requests/s (300 instances).
func TestModelAt100kPerSecond(t *testing.T) {
	tests := []struct {
		campaigns         int
		wantHit60         float64
		wantReadsPerM     float64
		wantHit900        float64
		tolHit, tolReadsM float64
	}{
		{1_000, 0.96, 42e3, 0.997, 0.005, 2e3},
		{100_000, 0.66, 341e3, 0.87, 0.005, 5e3},
		{1_000_000, 0.54, 457e3, 0.73, 0.005, 5e3},
	}
	for _, tt := range tests {
		w := zipfWeights(tt.campaigns, 1)
		n := modelInstances(100_000)
		if n != 300 {
			t.Fatalf("instances at 100k/s = %d, want 300", n)
		}
		got60 := modelTTL(w, 100_000, n, time.Minute)
		got900 := modelTTL(w, 100_000, n, 15*time.Minute)
		if math.Abs(got60-tt.wantHit60) > tt.tolHit || math.Abs((1-got60)*1e6-tt.wantReadsPerM) > tt.tolReadsM || math.Abs(got900-tt.wantHit900) > tt.tolHit {
			t.Errorf("%d campaigns: hit 60 s %.4f (reads/M %.0f), hit 900 s %.4f; want %.2f (%.0f), %.3f",
				tt.campaigns, got60, (1-got60)*1e6, got900, tt.wantHit60, tt.wantReadsPerM, tt.wantHit900)
		}
	}
}

// TestModelQuarterReset checks the cold-quarter model at its limits.
func TestModelQuarterReset(t *testing.T) {
	w := []float64{1}
	tests := []struct {
		name string
		rate float64
		ttl  time.Duration
		want float64
	}{
		{"one request a quarter on average: hits only when more come", 1.0 / 900, time.Hour, 1 - 900*(-math.Expm1(-1))/900},
		{"busy key, by generation: one miss a quarter", 1000, 15 * time.Minute, 1 - 1.0/900_000},
		{"busy key, 60 s TTL: one miss a minute", 1000, time.Minute, 1 - (1+14*60*1000/60001.0)/900_000},
	}
	for _, tt := range tests {
		got := modelQuarterReset(w, tt.rate, 1, tt.ttl)
		if math.Abs(got-tt.want) > 1e-3 {
			t.Errorf("%s: got %.5f, want %.5f", tt.name, got, tt.want)
		}
	}
}
