package main

// The scale simulation of issue 13: N in-process API instances, each the
// real stack (app.New: handler, cache, store) with its own cache, over one
// DynamoDB server (dynalite), under Poisson arrivals of requests for
// Zipf-distributed campaigns, across a quarter boundary. Requests are
// served by calling each instance's handler directly (no sockets): the
// simulation measures the caches and the store, not loopback HTTP.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/sample"
	"banners/internal/testkit"
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
	// WarmReads the campaign reads pre-warm asked for in the whole run.
	Reads, GenReads, WarmReads int64
	// HitRatio is 1 − Reads/Requests; Model is the model for the
	// same settings.
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

// countingStore counts the reads that reach DynamoDB on a timeline, and
// passes generation reads on, so the cache follows generations.
type countingStore struct {
	next    *dynamo.Store
	start   time.Time
	bins    []atomic.Int64
	genBins []atomic.Int64
}

func newCountingStore(next *dynamo.Store, d time.Duration) *countingStore {
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

// simulate runs cfg against store, whose table holds quarters 1 and 2 of
// campaigns 1 to cfg.Campaigns.
func simulate(ctx context.Context, store *dynamo.Store, cfg scaleConfig) (scaleResult, error) {
	res := scaleResult{Config: cfg}
	cs := newCountingStore(store, cfg.Duration+5*time.Second)
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
	for _, a := range apis {
		res.WarmReads += a.Cache.Warmed()
	}
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

// scaleData returns quarters 1 and 2 of n campaigns from the sample
// generator scaled to n campaigns (about 15 impressions per campaign and
// quarter, at least the real data's 150,000).
func scaleData(n int) ([]banner.Campaign, error) {
	fsys, err := sample.Generate(sample.Shape{Campaigns: n, Scale: max(1, n/10_000)})
	if err != nil {
		return nil, err
	}
	campaigns, _, err := csvload.LoadFS(fsys, nil)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(campaigns, func(c banner.Campaign) bool { return c.Quarter > 2 }), nil
}

// seed writes campaigns into store's table: by quarter with PutQuarter
// (manifest and generation, as the ingest writes) up to
// dynamo.MaxCampaigns a quarter, in bulk beyond.
func seed(ctx context.Context, store *dynamo.Store, campaigns []banner.Campaign) error {
	byQuarter := map[banner.Quarter][]banner.Campaign{}
	for _, c := range campaigns {
		byQuarter[c.Quarter] = append(byQuarter[c.Quarter], c)
	}
	for q, cs := range byQuarter {
		var err error
		if len(cs) <= dynamo.MaxCampaigns {
			_, err = store.PutQuarter(ctx, q, cs)
		} else {
			_, err = store.PutCampaigns(ctx, cs)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// dynaliteClient returns a DynamoDB client for the server at url, with the
// static credentials local servers take.
func dynaliteClient(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "eu-central-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      retry.NewStandard(),
	})
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
		r.ReadsPerSecBefore, r.Burst, r.Peak, r.WarmReads)
}

const scaleHeader = "| run | instances | campaigns | s | req/s | TTL | pre-warm K | hit ratio | model | reads / 1,000 req | requests | p50 | p99 | p99, 1st s after boundary | reads/s before | reads, 1st s after boundary | peak reads / 100 ms | pre-warm reads |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"

// runScale is the -scale mode: the model table, or a simulation run
// without and with pre-warm.
func runScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("loadtest -scale", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var c scaleConfig
	model := fl.Bool("model", false, "print the model's table (1k/100k/1M campaigns × 83/10k/100k req/s) and exit")
	ingest := fl.Int("ingest", 0, "instead of simulating: generate this many times the real data and time the ingest of each quarter into dynalite")
	fl.IntVar(&c.Instances, "instances", 4, "API instances, each with its own cache")
	fl.IntVar(&c.Campaigns, "campaigns", 1000, "campaigns, IDs 1 to N (data from the sample generator scaled to N)")
	fl.Float64Var(&c.Zipf, "zipf", 1, "Zipf exponent s of campaign popularity")
	fl.Float64Var(&c.Rate, "rate", 1000, "requests per second over all instances (Poisson arrivals)")
	fl.DurationVar(&c.Duration, "duration", 12*time.Second, "length of each run")
	fl.DurationVar(&c.Before, "before", 8*time.Second, "the quarter boundary comes this long after the start (≥ -duration: none)")
	fl.DurationVar(&c.TTL, "ttl", time.Minute, "cache TTL")
	fl.IntVar(&c.Prewarm, "prewarm", 200, "pre-warm's top K per instance for the second run (0: one run, without)")
	fl.DurationVar(&c.Lead, "lead", 5*time.Second, "pre-warm's lead before the boundary")
	fl.DurationVar(&c.Warmup, "warmup", 2*time.Second, "left out of the hit ratio and latencies")
	fl.IntVar(&c.Workers, "workers", 64, "requests in flight at most")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *model {
		writeModelTable(stdout, modelTable([]int{1_000, 100_000, 1_000_000}, []float64{5000.0 / 60, 10_000, 100_000}, c.Zipf), c.Zipf)
		return nil
	}
	if c.Instances < 1 || c.Campaigns < 1 || c.Rate <= 0 || c.Duration <= 0 || c.Workers < 1 || c.Prewarm < 0 {
		return errors.New("-instances, -campaigns, -rate, -duration and -workers must be positive, -prewarm not negative")
	}
	root, err := testkit.ModuleRoot()
	if err != nil {
		return err
	}
	url, stop, err := startDynalite(root)
	if err != nil {
		return err
	}
	defer stop()
	client := dynaliteClient(url)
	store := dynamo.New(client, "banners")
	if err := store.CreateTable(ctx); err != nil {
		return err
	}
	if *ingest > 0 {
		return runIngestScale(ctx, store, *ingest, stdout, stderr)
	}
	t0 := time.Now()
	data, err := scaleData(c.Campaigns)
	if err != nil {
		return err
	}
	if err := seed(ctx, store, data); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "seeded %d campaign-quarters in %v\n", len(data), time.Since(t0).Round(time.Millisecond))
	fmt.Fprint(stdout, scaleHeader)
	runs := []scaleConfig{c}
	runs[0].Prewarm = 0
	if c.Prewarm > 0 {
		runs = append(runs, c)
	}
	for _, rc := range runs {
		res, err := simulate(ctx, store, rc)
		if err != nil {
			return err
		}
		name := "no pre-warm"
		if rc.Prewarm > 0 {
			name = "pre-warm"
		}
		writeScaleRow(stdout, name, res)
	}
	return nil
}
