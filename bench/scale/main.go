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
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"banners/bench/internal/localdb"
	"banners/internal/ingest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scale:", err)
		}
		os.Exit(1)
	}
}

// run parses args and prints the model's table or the simulation's rows.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("scale", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var c scaleConfig
	model := fl.Bool("model", false, "print the model's table (1k/100k/1M campaigns × 83/10k/100k req/s) and exit")
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
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if *model {
		writeModelTable(stdout, []int{1_000, 100_000, 1_000_000}, []float64{5000.0 / 60, 10_000, 100_000}, c.Zipf)
		return nil
	}
	if c.Instances < 1 || c.Campaigns < 1 || c.Rate <= 0 || c.Duration <= 0 || c.Prewarm < 0 || c.Lead < 0 || c.Warmup < 0 {
		return errors.New("-instances, -campaigns, -rate, and -duration must be positive, -prewarm, -lead and -warmup not negative")
	}
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
	fmt.Fprintf(stderr, "generated and loaded %d campaigns in %v: %d items\n", c.Campaigns, time.Since(t0).Round(time.Millisecond), sum.Total.Put)
	fmt.Fprint(stdout, scaleHeader)
	without := c
	without.Prewarm = 0
	runs := []scaleConfig{without}
	if c.Prewarm > 0 {
		runs = append(runs, c)
	}
	for _, rc := range runs {
		res, err := simulate(ctx, store, rc)
		if err != nil {
			return err
		}
		if res.Errors > 0 {
			return fmt.Errorf("%d of %d requests were not answered 200", res.Errors, res.Requests)
		}
		name := "no pre-warm"
		if rc.Prewarm > 0 {
			name = "pre-warm"
		}
		writeScaleRow(stdout, name, rc, res)
	}
	return nil
}
