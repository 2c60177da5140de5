// Command scale measures how the caches of many API instances shield
// DynamoDB: the analytic model's table, or a simulation of N in-process
// instances (the real handler, cache and store, each with its own cache)
// over one table on dynalite, under Poisson arrivals for Zipf-distributed
// campaigns across a quarter boundary, once without pre-warm and once with.
//
//	go run ./bench/scale -model  # the model's table
//	go run ./bench/scale         # 4 instances, 1,000 campaigns, 1,000 req/s
//
// Run it inside the module (it finds dynalite in node_modules).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"banners/bench/internal/localdb"
	"banners/internal/ingest"
)

func main() {
	var c scaleConfig
	model := flag.Bool("model", false, "print the model's table (1k/100k/1M campaigns × 83/10k/100k req/s) and exit")
	flag.IntVar(&c.Instances, "instances", 4, "API instances, each with its own cache")
	flag.IntVar(&c.Campaigns, "campaigns", 1000, "campaigns, IDs 1 to N (data from the sample generator scaled to N)")
	flag.Float64Var(&c.Zipf, "zipf", 1, "Zipf exponent s of campaign popularity")
	flag.Float64Var(&c.Rate, "rate", 1000, "requests per second over all instances (Poisson arrivals)")
	flag.DurationVar(&c.Duration, "duration", 12*time.Second, "length of each run")
	flag.DurationVar(&c.Before, "before", 8*time.Second, "the quarter boundary comes this long after the start (≥ -duration: none)")
	flag.DurationVar(&c.TTL, "ttl", time.Minute, "cache TTL")
	flag.IntVar(&c.Prewarm, "prewarm", 200, "pre-warm's top K per instance for the second run (0: one run, without)")
	flag.DurationVar(&c.Lead, "lead", 5*time.Second, "pre-warm's lead before the boundary")
	flag.DurationVar(&c.Warmup, "warmup", 2*time.Second, "left out of the hit ratio and latencies")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "scale: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *model {
		writeModelTable(c.Zipf)
		return
	}
	if c.Instances < 1 || c.Campaigns < 1 || c.Rate <= 0 || c.Duration <= 0 || c.Prewarm < 0 || c.Lead < 0 || c.Warmup < 0 {
		fmt.Fprintln(os.Stderr, "scale: -instances, -campaigns, -rate, and -duration must be positive, -prewarm, -lead and -warmup not negative")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// run loads the sample generator's data scaled to c.Campaigns into a
// table on dynalite and prints the row of a simulation without pre-warm,
// then (with c.Prewarm > 0) of one with.
func run(ctx context.Context, c scaleConfig) error {
	_, store, stop, err := localdb.Start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	t0 := time.Now()
	data, err := scaleData(c.Campaigns)
	if err != nil {
		return err
	}
	sum, err := ingest.LoadFS(ctx, store, data, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generated and loaded %d campaigns in %v: %d items\n", c.Campaigns, time.Since(t0).Round(time.Millisecond), sum.Total.Put)
	fmt.Print(scaleHeader)
	for _, k := range slices.Compact([]int{0, c.Prewarm}) {
		c.Prewarm = k
		res, err := simulate(ctx, store, c)
		if err != nil {
			return err
		}
		if res.Errors > 0 {
			return fmt.Errorf("%d of %d requests were not answered 200", res.Errors, res.Requests)
		}
		writeScaleRow(c, res)
	}
	return nil
}
