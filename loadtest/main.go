// Command loadtest drives load at Banners with vegeta (as a library) and
// checks every answer while it does: the speed of a wrong answer does not
// count.
//
// Open loop, a fixed rate for a duration (default: the assignment's 5,000
// requests a minute for 10 s), or closed loop, N workers as fast as the
// server answers, to find the ceiling:
//
//	go run ./loadtest -self                                  # what make load runs
//	go run ./loadtest -target https://d1a2b3c4d5e6f7.cloudfront.net
//	go run ./loadtest -self -rate 250000/1m -duration 20s
//	go run ./loadtest -self -workers 32 -duration 10s
//
// Requests spread over campaigns and quarters and over both endpoints. A
// pool of simulated visitors keeps one last-banner cookie each. -self starts
// the local server in-process, with and without its access log (one attack
// each). The report (report.json) and vegeta's latency plot (plot.html) go
// to -out.
//
// The exit status is 1 when any answer was wrong or the error ratio exceeds
// -max-error-ratio.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(2)
	}
	rep, err := run(ctx, cfg, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
	if len(rep.Failures) > 0 {
		for _, f := range rep.Failures {
			fmt.Fprintln(os.Stderr, "FAIL:", f)
		}
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	Target        string        `json:"target,omitempty"`
	Self          bool          `json:"self"`
	Rate          vegeta.Rate   `json:"-"`
	RateText      string        `json:"rate"`
	Duration      time.Duration `json:"duration"`
	Workers       int           `json:"workers"`
	Campaigns     []int64       `json:"campaigns"`
	Quarters      []int64       `json:"quarters"`
	Mix           float64       `json:"redirect_share"`
	Visitors      int           `json:"visitors"`
	AccessLog     string        `json:"access_log"`
	Out           string        `json:"out"`
	MaxErrorRatio float64       `json:"max_error_ratio"`
	Timeout       time.Duration `json:"timeout"`
	Connections   int           `json:"connections"`
	// Until, when not nil, also ends every attack once it is closed,
	// before Duration; Answered, when not nil, counts the answers checked
	// so far. A test steers the load by events with them, not by a clock.
	Until    <-chan struct{} `json:"-"`
	Answered *atomic.Int64   `json:"-"`
}

// closedLoop reports whether the run uses N workers as fast as they go.
func (c config) closedLoop() bool { return c.Workers > 0 }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fl := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.Target, "target", "", "base URL of a running server, e.g. http://127.0.0.1:8080 or a CloudFront URL")
	fl.BoolVar(&c.Self, "self", false, "start the local server in-process on a free loopback port (instead of -target)")
	fl.StringVar(&c.RateText, "rate", "5000/1m", "open loop: requests per time unit, e.g. 5000/1m, 4000/s or 4000 (per second)")
	fl.DurationVar(&c.Duration, "duration", 10*time.Second, "how long each attack lasts")
	fl.IntVar(&c.Workers, "workers", 0, "closed loop: this many workers send requests back to back (ignores -rate)")
	campaigns := fl.String("campaigns", "1-50", "campaign IDs to ask for: ranges and lists, e.g. 1-50,56")
	quarters := fl.String("quarters", "1-4", "quarters to ask for, e.g. 1-4 or 2")
	fl.Float64Var(&c.Mix, "mix", 0.2, "share of requests to the ad tag GET /campaigns/{id} (302); the rest go to the JSON API")
	fl.IntVar(&c.Visitors, "visitors", 1000, "simulated visitors, each with its own last-banner cookie (at least -workers)")
	fl.StringVar(&c.AccessLog, "access-log", "both", "with -self: the local server's access log on (to OUT/access.log), off, or both (one attack each)")
	fl.StringVar(&c.Out, "out", "loadtest/out", "folder for report.json, plot.html and access.log")
	fl.Float64Var(&c.MaxErrorRatio, "max-error-ratio", 0.001, "fail when more than this share of requests of any attack fail (transport errors, 4xx, 5xx)")
	fl.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fl.IntVar(&c.Connections, "connections", 256, "most open connections to a server; requests beyond wait for one, and the wait counts in their latency (0: unlimited, one per request in flight)")
	if err := fl.Parse(args); err != nil {
		return c, err
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	var err error
	if c.Rate, err = parseRate(c.RateText); err != nil {
		return c, fmt.Errorf("-rate: %w", err)
	}
	if c.Campaigns, err = parseRanges(*campaigns, 1, 1e17); err != nil {
		return c, fmt.Errorf("-campaigns: %w", err)
	}
	if c.Quarters, err = parseRanges(*quarters, 1, 4); err != nil {
		return c, fmt.Errorf("-quarters: %w", err)
	}
	switch {
	case c.Self == (c.Target != ""):
		return c, errors.New("give exactly one of -self and -target")
	case c.Duration <= 0:
		return c, errors.New("-duration must be positive")
	case c.Connections < 0:
		return c, errors.New("-connections must not be negative")
	case c.Workers < 0:
		return c, errors.New("-workers must not be negative")
	case c.Mix < 0 || c.Mix > 1:
		return c, errors.New("-mix must be between 0 and 1")
	case c.Visitors < 1 || c.Visitors < c.Workers:
		return c, errors.New("-visitors must be at least 1 and at least -workers")
	case c.AccessLog != "on" && c.AccessLog != "off" && c.AccessLog != "both":
		return c, errors.New("-access-log must be on, off or both")
	case c.MaxErrorRatio < 0:
		return c, errors.New("-max-error-ratio must not be negative")
	}
	if c.Target != "" {
		c.Target = strings.TrimSuffix(c.Target, "/")
		if !strings.HasPrefix(c.Target, "http://") && !strings.HasPrefix(c.Target, "https://") {
			return c, errors.New("-target must be an http:// or https:// base URL")
		}
	}
	return c, nil
}

// parseRate reads "N/unit" (unit a duration such as 1m, s or 100ms) or "N"
// per second.
func parseRate(s string) (vegeta.Rate, error) {
	num, unit, hasUnit := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return vegeta.Rate{}, fmt.Errorf("%q: want a positive count, e.g. 5000/1m", s)
	}
	per := time.Second
	if hasUnit {
		if unit != "" && (unit[0] < '0' || unit[0] > '9') {
			unit = "1" + unit
		}
		if per, err = time.ParseDuration(unit); err != nil || per <= 0 {
			return vegeta.Rate{}, fmt.Errorf("%q: bad time unit %q", s, unit)
		}
	}
	return vegeta.Rate{Freq: n, Per: per}, nil
}

// parseRanges reads "1-50,56" into the listed numbers, each in [lo, hi],
// without duplicates.
func parseRanges(s string, lo, hi int64) ([]int64, error) {
	var out []int64
	seen := map[int64]bool{}
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		from, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: bad number %q", s, a)
		}
		to := from
		if isRange {
			if to, err = strconv.ParseInt(b, 10, 64); err != nil {
				return nil, fmt.Errorf("%q: bad number %q", s, b)
			}
		}
		if from < lo || to > hi || from > to {
			return nil, fmt.Errorf("%q: %d-%d is outside %d-%d or reversed", s, from, to, lo, hi)
		}
		for n := from; n <= to; n++ {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}
