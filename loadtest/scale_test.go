package main

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
)

// TestScaleSimulation runs the scale simulation briefly on dynalite with
// 1,000 campaigns (Zipf s = 1): without a boundary its hit ratio must
// match the model within 0.05, and across a quarter boundary pre-warm must
// cut the boundary's read burst (first second) to under 70% of the burst
// without it. The two boundary runs share the machine, at the same time.
func TestScaleSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation: about 15 s")
	}
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	client := srv.Client()
	store := dynamo.New(client, srv.NewTable(t, client))
	data, err := scaleData(1000)
	require.NoError(t, err)
	require.NoError(t, seed(t.Context(), store, data))

	base := scaleConfig{Instances: 2, Campaigns: 1000, Zipf: 1, Rate: 300, Workers: 32}

	steady := base
	steady.Duration, steady.Before, steady.TTL, steady.Warmup = 5*time.Second, time.Hour, time.Second, 2*time.Second
	res, err := simulate(t.Context(), store, steady)
	require.NoError(t, err)
	t.Logf("steady state: hit ratio %.3f, model %.3f, %d requests", res.HitRatio, res.Model, res.Requests)
	require.Zero(t, res.Errors)
	require.Less(t, math.Abs(res.HitRatio-res.Model), 0.05, "hit ratio %.3f, model %.3f", res.HitRatio, res.Model)

	boundary := base
	boundary.Duration, boundary.Before, boundary.TTL, boundary.Warmup, boundary.Lead = 8*time.Second, 6*time.Second, time.Minute, time.Second, 3*time.Second
	var results [2]scaleResult
	var errs [2]error
	var wg sync.WaitGroup
	for i, k := range []int{0, 200} {
		wg.Go(func() {
			cfg := boundary
			cfg.Prewarm = k
			results[i], errs[i] = simulate(t.Context(), store, cfg)
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	without, with := results[0], results[1]
	t.Logf("boundary burst: %d reads without pre-warm, %d with (%d pre-warm reads); p99 in that second %v, %v",
		without.Burst, with.Burst, with.WarmReads, without.P99Boundary, with.P99Boundary)
	require.Zero(t, without.Errors+with.Errors)
	require.Positive(t, with.WarmReads)
	require.Less(t, float64(with.Burst), 0.7*float64(without.Burst))
}
