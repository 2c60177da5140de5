package main

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/memory"
)

// generated is the in-memory store with every quarter at one generation,
// as a table after one load.
type generated struct{ *memory.Store }

func (generated) Generation(context.Context, banner.Quarter) (string, error) { return "1", nil }

// TestSimulation runs the simulation on 1,000 campaigns (Zipf s = 1) over
// the in-memory store, inside a synctest bubble: time is the bubble's fake
// clock, so the arrivals, TTLs and pre-warm's lead fall the same way on any
// machine. Without a boundary the hit ratio must match the model within
// 0.05; across a quarter boundary pre-warm must read in its lead and cut
// the boundary's read burst (first second) to under 70% of the burst
// without it.
func TestSimulation(t *testing.T) {
	fsys, err := scaleData(1000)
	require.NoError(t, err)
	campaigns, _, err := csvload.LoadFS(fsys, nil)
	require.NoError(t, err)
	st := generated{memory.New(campaigns)}
	base := scaleConfig{Instances: 2, Campaigns: 1000, Zipf: 1, Rate: 300}

	synctest.Test(t, func(t *testing.T) {
		steady := base
		steady.Duration, steady.Before, steady.TTL, steady.Warmup = 5*time.Second, time.Hour, time.Second, 2*time.Second
		res, err := simulate(t.Context(), st, steady)
		require.NoError(t, err)
		t.Logf("steady state: hit ratio %.3f, model %.3f, %d requests", res.HitRatio, res.Model, res.Requests)
		require.Positive(t, res.Requests)
		require.Zero(t, res.Errors)
		require.Less(t, math.Abs(res.HitRatio-res.Model), 0.05, "hit ratio %.3f, model %.3f", res.HitRatio, res.Model)
	})

	boundary := base
	boundary.Duration, boundary.Before, boundary.TTL, boundary.Warmup, boundary.Lead = 8*time.Second, 6*time.Second, time.Minute, time.Second, 3*time.Second
	var without, with scaleResult
	for _, k := range []int{0, 200} {
		synctest.Test(t, func(t *testing.T) {
			cfg := boundary
			cfg.Prewarm = k
			res, err := simulate(t.Context(), st, cfg)
			require.NoError(t, err)
			require.Zero(t, res.Errors)
			if k == 0 {
				without = res
			} else {
				with = res
			}
		})
	}
	t.Logf("reads in the lead: %d without pre-warm, %d with; boundary burst: %d without, %d with",
		without.LeadReads, with.LeadReads, without.Burst, with.Burst)
	require.Greater(t, with.LeadReads, without.LeadReads, "pre-warm reads in its lead")
	require.Less(t, float64(with.Burst), 0.7*float64(without.Burst))
}
