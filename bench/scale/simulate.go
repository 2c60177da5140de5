package main

// The simulation: N in-process API instances, each the real stack
// (app.New: handler, cache, store) with its own cache, over one store
// (DynamoDB on dynalite), under Poisson arrivals of requests for
// Zipf-distributed campaigns, across a quarter boundary. Requests are
// served by calling each instance's handler directly (no sockets): the
// simulation measures the caches and the store, not loopback HTTP.

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/sample"
)

// binWidth is the resolution of the read timeline.
const binWidth = 100 * time.Millisecond

// scaleConfig is one simulation run: Instances API instances, each with
// its own cache of TTL, serve Rate requests per second (Poisson) for
// campaigns 1 to Campaigns, campaign k asked with probability ∝ k^−Zipf,
// for Duration. The quarter boundary comes Before after the start (at
// least Duration: none); pre-warm reads the top Prewarm keys (0: off) Lead
// before it. Warmup is left out of the figures.
type scaleConfig struct {
	Instances, Campaigns, Prewarm       int
	Zipf, Rate                          float64
	Duration, Before, TTL, Lead, Warmup time.Duration
}

// scaleResult is what a run measured, after Warmup: requests, those not
// answered 200 and campaign reads; the reads in pre-warm's lead (its own
// and the misses'); the hit ratio 1 − Reads/Requests and modelTTL's for
// the same settings; latencies, P99Boundary over the boundary's first
// second; the reads in that second (Burst) and the most in any 100 ms of
// it (Peak).
type scaleResult struct {
	Requests, Errors, Reads, LeadReads int64
	HitRatio, Model                    float64
	P50, P99, P99Boundary              time.Duration
	Burst, Peak                        int64
}

// store is what the instances read: campaigns and the quarters'
// generations, as *dynamo.Store serves them.
type store interface {
	banner.Store
	cache.Generations
}

// countingStore counts the campaign reads that reach the store on a
// timeline of binWidth bins from start.
type countingStore struct {
	store
	start time.Time
	bins  []atomic.Int64
}

func (s *countingStore) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	i := int(time.Since(s.start) / binWidth)
	s.bins[min(max(i, 0), len(s.bins)-1)].Add(1)
	return s.store.Campaign(ctx, k)
}

// reads adds the bins covering [from, to) after the start.
func (s *countingStore) reads(from, to time.Duration) int64 {
	var n int64
	for i := max(int(from/binWidth), 0); i < min(int(to/binWidth), len(s.bins)); i++ {
		n += s.bins[i].Load()
	}
	return n
}

// simulate runs cfg against st, which holds quarters 1 and 2 of campaigns
// 1 to cfg.Campaigns. Time is the process's clock (time.Now, time.Sleep):
// under testing/synctest the run is the same on any machine.
func simulate(ctx context.Context, st store, cfg scaleConfig) (scaleResult, error) {
	var res scaleResult
	end := cfg.Duration + 5*time.Second
	start := time.Now()
	cs := &countingStore{store: st, start: start, bins: make([]atomic.Int64, end/binWidth)}
	// The simulated clock reaches the end of quarter 1 Before after the start.
	base := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC).Add(-cfg.Before)
	now := func() time.Time { return base.Add(time.Since(start)) }
	apis := make([]*app.API, cfg.Instances)
	for i := range apis {
		a, err := app.New(cs, app.Config{Now: now, Logger: slog.New(slog.DiscardHandler), Cache: cache.Config{
			TTL: cfg.TTL, Now: now, Prewarm: cache.Prewarm{TopK: cfg.Prewarm, Lead: cfg.Lead},
		}})
		if err != nil {
			return res, err
		}
		defer a.Close()
		apis[i] = a
	}

	// Poisson arrivals, each served at once by an instance picked at
	// random, as a load balancer in front of idle instances would;
	// campaigns drawn by inverting Zipf's cumulative distribution.
	r := rand.New(rand.NewPCG(13, uint64(cfg.Campaigns)))
	weights := zipfWeights(cfg.Campaigns, cfg.Zipf)
	cdf := slices.Clone(weights)
	for i := 1; i < len(cdf); i++ {
		cdf[i] += cdf[i-1]
	}
	var mu sync.Mutex
	var all, boundary []time.Duration // latencies, after Warmup and in the boundary's first second
	var wg sync.WaitGroup
	var due time.Duration
	for due < cfg.Duration && ctx.Err() == nil {
		due += time.Duration(r.ExpFloat64() / cfg.Rate * float64(time.Second))
		if wait := due - time.Since(start); wait > time.Millisecond {
			time.Sleep(wait)
		}
		at, api := due, apis[r.IntN(cfg.Instances)]
		campaign := sort.SearchFloat64s(cdf, r.Float64()*cdf[len(cdf)-1]) + 1
		wg.Go(func() {
			rec := httptest.NewRecorder()
			api.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/campaigns/"+strconv.Itoa(campaign)+"/banners", nil))
			took := time.Since(start) - at
			if at < cfg.Warmup {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if rec.Code != 200 {
				res.Errors++
			}
			all = append(all, took)
			if at >= cfg.Before && at < cfg.Before+time.Second {
				boundary = append(boundary, took)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}

	res.Requests = int64(len(all))
	res.Reads = cs.reads(cfg.Warmup, end)
	if res.Requests > 0 {
		res.HitRatio = 1 - float64(res.Reads)/float64(res.Requests)
	}
	res.Model = modelTTL(weights, cfg.Rate, cfg.Instances, cfg.TTL)
	res.P50, res.P99 = quantile(all, 0.50), quantile(all, 0.99)
	if cfg.Before < cfg.Duration {
		res.P99Boundary = quantile(boundary, 0.99)
		res.LeadReads = cs.reads(cfg.Before-cfg.Lead, cfg.Before)
		res.Burst = cs.reads(cfg.Before, cfg.Before+time.Second)
		for t := cfg.Before; t < cfg.Before+time.Second; t += binWidth {
			res.Peak = max(res.Peak, cs.reads(t, t+binWidth))
		}
	}
	return res, nil
}

// quantile returns the q-quantile of ds (which it sorts).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(math.Ceil(q*float64(len(ds))))-1)]
}

// scaleData returns the sample generator's data scaled to n campaigns
// (about 15 impressions per campaign and quarter, at least the real
// data's 150,000).
func scaleData(n int) (fs.FS, error) {
	return sample.Generate(sample.Shape{Campaigns: n, Scale: max(1, n/10_000)})
}

const scaleHeader = "| run | instances | campaigns | s | req/s | TTL | pre-warm K | hit ratio | model | reads / 1,000 req | requests | p50 | p99 | p99, 1st s after boundary | reads in the lead | reads, 1st s after boundary | peak reads / 100 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"

// writeScaleRow prints one run's result as a Markdown table row.
func writeScaleRow(c scaleConfig, r scaleResult) {
	name, model := "no pre-warm", "— (cold start, boundary)"
	if c.Prewarm > 0 {
		name = "pre-warm"
	}
	if c.Before >= c.Duration {
		model = fmt.Sprintf("%.3f", r.Model)
	}
	us := 10 * time.Microsecond
	fmt.Printf("| %s | %d | %s | %g | %s | %v | %d | %.3f | %s | %.1f | %d | %v | %v | %v | %d | %d | %d |\n",
		name, c.Instances, count(float64(c.Campaigns)), c.Zipf, count(c.Rate), c.TTL, c.Prewarm,
		r.HitRatio, model, 1000*float64(r.Reads)/float64(max(r.Requests, 1)), r.Requests,
		r.P50.Round(us), r.P99.Round(us), r.P99Boundary.Round(us),
		r.LeadReads, r.Burst, r.Peak)
}
