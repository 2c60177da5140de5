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
	"io"
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

// scaleBoundary is the quarter boundary the simulated clock crosses:
// quarter 1 ends and quarter 2 begins.
var scaleBoundary = time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)

// binWidth is the resolution of the read timeline.
const binWidth = 100 * time.Millisecond

// scaleConfig is one simulation run.
type scaleConfig struct {
	// Instances is the number of API instances, each with its own cache.
	Instances int
	// Campaigns is the number of campaigns requested, IDs 1 to Campaigns.
	Campaigns int
	// Zipf is the popularity exponent s: campaign k is asked with
	// probability ∝ k^−s.
	Zipf float64
	// Rate is the arrival rate over all instances, in requests per second.
	Rate float64
	// Duration is the run's length.
	Duration time.Duration
	// Before is how long after the start the quarter boundary comes; at
	// least Duration means no boundary.
	Before time.Duration
	// TTL is the cache TTL.
	TTL time.Duration
	// Prewarm is the pre-warm's TopK (0: off) and Lead its lead time.
	Prewarm int
	Lead    time.Duration
	// Warmup is left out of the hit ratio (the caches start empty).
	Warmup time.Duration
	// Workers bounds the requests in flight.
	Workers int
}

// scaleResult is what a run measured.
type scaleResult struct {
	Config scaleConfig
	// Requests and Errors count requests after Warmup; Errors are non-200.
	Requests, Errors int64
	// Reads and GenReads count campaign and generation reads after Warmup;
	// LeadReads the campaign reads in the pre-warm's lead before the
	// boundary (pre-warm's and the misses').
	Reads, GenReads, LeadReads int64
	// HitRatio is 1 − Reads/Requests; Model is the steady-state model
	// (modelTTL) for the same settings.
	HitRatio, Model float64
	// P50 and P99 are over the requests after Warmup; P99Boundary over
	// those in the first second after the boundary.
	P50, P99, P99Boundary time.Duration
	// ReadsPerSecBefore is the mean campaign reads per second in the
	// second before the pre-warm's lead (or the boundary); Burst is the
	// reads in the first second after the boundary, and Peak the most in
	// any 100 ms after it.
	ReadsPerSecBefore float64
	Burst, Peak       int64
}

// store is what the instances read: campaigns and the quarters'
// generations, as *dynamo.Store serves them.
type store interface {
	banner.Store
	cache.Generations
}

// countingStore counts the reads that reach the store on a timeline, and
// passes generation reads on, so the cache follows generations.
type countingStore struct {
	next    store
	start   time.Time
	bins    []atomic.Int64
	genBins []atomic.Int64
}

func newCountingStore(next store, d time.Duration) *countingStore {
	n := int(d/binWidth) + 50
	return &countingStore{next: next, bins: make([]atomic.Int64, n), genBins: make([]atomic.Int64, n)}
}

func (s *countingStore) bin(bins []atomic.Int64) {
	i := int(time.Since(s.start) / binWidth)
	bins[min(max(i, 0), len(bins)-1)].Add(1)
}

func (s *countingStore) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	s.bin(s.bins)
	return s.next.Campaign(ctx, k)
}

func (s *countingStore) Generation(ctx context.Context, q banner.Quarter) (string, error) {
	s.bin(s.genBins)
	return s.next.Generation(ctx, q)
}

// sum adds the bins covering [from, to) after the start.
func sum(bins []atomic.Int64, from, to time.Duration) int64 {
	var n int64
	for i := max(int(from/binWidth), 0); i < min(int(to/binWidth), len(bins)); i++ {
		n += bins[i].Load()
	}
	return n
}

// zipfSampler draws ranks 1..n with probability ∝ k^−s by inverting the
// cumulative distribution.
type zipfSampler struct{ cdf []float64 }

func newZipf(n int, s float64) zipfSampler {
	w := zipfWeights(n, s)
	cdf := make([]float64, n)
	acc := 0.0
	for i, p := range w {
		acc += p
		cdf[i] = acc
	}
	return zipfSampler{cdf}
}

func (z zipfSampler) draw(r *rand.Rand) int64 {
	return int64(sort.SearchFloat64s(z.cdf, r.Float64()*z.cdf[len(z.cdf)-1]) + 1)
}

// sample is one served request: when it was due, after the start, and
// how long it took from then.
type sampleAt struct{ at, took time.Duration }

// simulate runs cfg against st, which holds quarters 1 and 2 of campaigns
// 1 to cfg.Campaigns. Time is the process's clock (time.Now, time.Sleep):
// under testing/synctest the run is the same on any machine.
func simulate(ctx context.Context, st store, cfg scaleConfig) (scaleResult, error) {
	res := scaleResult{Config: cfg}
	cs := newCountingStore(st, cfg.Duration+5*time.Second)
	start := time.Now()
	cs.start = start
	base := scaleBoundary.Add(-cfg.Before)
	now := func() time.Time { return base.Add(time.Since(start)) }
	quiet := slog.New(slog.DiscardHandler)
	apis := make([]*app.API, cfg.Instances)
	for i := range apis {
		a, err := app.New(cs, app.Config{Now: now, Logger: quiet, Cache: cache.Config{
			TTL: cfg.TTL, Now: now, Prewarm: cache.Prewarm{TopK: cfg.Prewarm, Lead: cfg.Lead},
		}})
		if err != nil {
			return res, err
		}
		defer a.Close()
		apis[i] = a
	}

	type job struct {
		due      time.Duration
		instance int
		campaign int64
	}
	jobs := make(chan job, 1<<16)
	results := make([][]sampleAt, cfg.Workers)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Go(func() {
			for j := range jobs {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/api/campaigns/"+strconv.FormatInt(j.campaign, 10)+"/banners", nil)
				apis[j.instance].Handler.ServeHTTP(rec, req)
				took := time.Since(start) - j.due
				if j.due >= cfg.Warmup {
					results[w] = append(results[w], sampleAt{j.due, took})
					if rec.Code != 200 {
						errs.Add(1)
					}
				}
			}
		})
	}

	// Poisson arrivals, each to an instance picked at random, as a
	// load balancer in front of idle instances would.
	r := rand.New(rand.NewPCG(13, uint64(cfg.Campaigns)))
	z := newZipf(cfg.Campaigns, cfg.Zipf)
	var due time.Duration
	for due < cfg.Duration && ctx.Err() == nil {
		due += time.Duration(r.ExpFloat64() / cfg.Rate * float64(time.Second))
		if wait := due - time.Since(start); wait > time.Millisecond {
			time.Sleep(wait)
		}
		jobs <- job{due, r.IntN(cfg.Instances), z.draw(r)}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}

	var all, after []time.Duration
	for _, rs := range results {
		for _, s := range rs {
			all = append(all, s.took)
			if s.at >= cfg.Before && s.at < cfg.Before+time.Second {
				after = append(after, s.took)
			}
		}
	}
	res.Requests, res.Errors = int64(len(all)), errs.Load()
	res.Reads = sum(cs.bins, cfg.Warmup, cfg.Duration+5*time.Second)
	res.GenReads = sum(cs.genBins, cfg.Warmup, cfg.Duration+5*time.Second)
	if res.Requests > 0 {
		res.HitRatio = 1 - float64(res.Reads)/float64(res.Requests)
	}
	res.Model = modelTTL(zipfWeights(cfg.Campaigns, cfg.Zipf), cfg.Rate, cfg.Instances, cfg.TTL)
	res.P50, res.P99 = quantile(all, 0.50), quantile(all, 0.99)
	if cfg.Before < cfg.Duration {
		res.P99Boundary = quantile(after, 0.99)
		quietEnd := cfg.Before
		if cfg.Prewarm > 0 {
			quietEnd -= cfg.Lead
		}
		res.ReadsPerSecBefore = float64(sum(cs.bins, quietEnd-time.Second, quietEnd))
		res.LeadReads = sum(cs.bins, cfg.Before-cfg.Lead, cfg.Before)
		res.Burst = sum(cs.bins, cfg.Before, cfg.Before+time.Second)
		for t := cfg.Before; t < cfg.Before+time.Second; t += binWidth {
			res.Peak = max(res.Peak, sum(cs.bins, t, t+binWidth))
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

// writeScaleRow prints one result as a Markdown table row.
func writeScaleRow(w io.Writer, name string, r scaleResult) {
	c := r.Config
	model := "— (cold start, boundary)"
	if c.Before >= c.Duration {
		model = fmt.Sprintf("%.3f", r.Model)
	}
	fmt.Fprintf(w, "| %s | %d | %s | %g | %s | %v | %d | %.3f | %s | %.1f | %d | %v | %v | %v | %.0f | %d | %d | %d |\n",
		name, c.Instances, count(float64(c.Campaigns)), c.Zipf, count(c.Rate), c.TTL, c.Prewarm,
		r.HitRatio, model, 1000*float64(r.Reads)/float64(max(r.Requests, 1)), r.Requests,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.P99Boundary.Round(10*time.Microsecond),
		r.ReadsPerSecBefore, r.LeadReads, r.Burst, r.Peak)
}

const scaleHeader = "| run | instances | campaigns | s | req/s | TTL | pre-warm K | hit ratio | model | reads / 1,000 req | requests | p50 | p99 | p99, 1st s after boundary | reads/s before | reads in the lead | reads, 1st s after boundary | peak reads / 100 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
