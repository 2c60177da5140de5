package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"
)

// attack loads one target with the configured pacing, checks every answer,
// prints progress every second and returns the figures.
func attack(ctx context.Context, cfg config, t target, keys []key, p *plot.Plot, stderr io.Writer) (*attackReport, error) {
	client := &http.Client{Timeout: cfg.Timeout}
	single, err := probe(ctx, client, t.url, keys)
	if err != nil {
		return nil, err
	}
	client.CloseIdleConnections()
	name := t.name
	vis := newVisitors(t.url, keys, single, cfg.Visitors, cfg.Mix)
	opts := []func(*vegeta.Attacker){
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.Timeout(cfg.Timeout),
		vegeta.KeepAlive(true),
		vegeta.MaxBody(64 << 10),
	}
	if cfg.Connections > 0 {
		// Without a cap an overloaded open loop opens a connection per
		// request in flight, and the connection storm, not the server,
		// sets the figures.
		opts = append(opts, vegeta.MaxConnections(cfg.Connections))
	}
	pacer := vegeta.Pacer(cfg.Rate)
	if cfg.closedLoop() {
		opts = append(opts, vegeta.Workers(uint64(cfg.Workers)), vegeta.MaxWorkers(uint64(cfg.Workers)))
		pacer = vegeta.Rate{Freq: 0, Per: time.Second} // zero: as fast as the workers go
	}
	atk := vegeta.NewAttacker(opts...)
	stopOnCancel := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stopOnCancel()
	if cfg.Until != nil {
		ended := make(chan struct{})
		defer close(ended)
		go func() {
			select {
			case <-cfg.Until:
				atk.Stop()
			case <-ended:
			}
		}()
	}

	ar := &attackReport{Name: name, Target: t.url, Metrics: &vegeta.Metrics{}, Violations: map[string]int{}}
	var win window
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	began := time.Now()
	results := atk.Attack(vis.targeter(), pacer, cfg.Duration, name)
	for done := false; !done; {
		select {
		case res, ok := <-results:
			if !ok {
				done = true
				break
			}
			ar.Metrics.Add(res)
			p.Add(res) //nolint:errcheck // only fails on out-of-range timestamps
			bad := handle(vis, res)
			if res.Code != 0 {
				ar.Checked++
				if cfg.Answered != nil {
					cfg.Answered.Add(1)
				}
			}
			if bad != nil {
				ar.Wrong++
				ar.Violations[bad.Kind]++
				if len(ar.Examples) < 5 {
					ar.Examples = append(ar.Examples, res.URL+": "+bad.Error())
				}
			}
			win.add(res, bad != nil)
		case <-tick.C:
			fmt.Fprintf(stderr, "[%s] %4.0fs  %s\n", name, time.Since(began).Seconds(), win.flush())
		}
	}
	ar.Metrics.Close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	m := ar.Metrics
	if m.Requests > 0 {
		ar.ErrorRatio = 1 - m.Success
	}
	ar.Summary = summary{
		Requests:      m.Requests,
		RatePerSec:    m.Rate,
		ThroughputRPS: m.Throughput,
		P50ms:         ms(m.Latencies.P50),
		P90ms:         ms(m.Latencies.P90),
		P99ms:         ms(m.Latencies.P99),
		Maxms:         ms(m.Latencies.Max),
		StatusCodes:   m.StatusCodes,
		Errors:        m.Errors,
	}
	return ar, nil
}

// handle checks one result and frees its visitor. Transport errors carry no
// answer to check.
func handle(vis *visitors, res *vegeta.Result) *violation {
	i := vis.visitorOf(res.URL)
	if i < 0 {
		return wrong(badJSON, "result for unknown visitor: %s", res.URL)
	}
	if res.Code == 0 {
		return vis.done(i, nil)
	}
	return vis.done(i, &answer{Code: int(res.Code), Header: res.Headers, Body: res.Body})
}

// window holds the last second's results for the progress line.
type window struct {
	n, errs, wrong int
	lat            []time.Duration
}

func (w *window) add(r *vegeta.Result, wrong bool) {
	w.n++
	w.lat = append(w.lat, r.Latency)
	if r.Error != "" {
		w.errs++
	}
	if wrong {
		w.wrong++
	}
}

// flush formats and resets the window.
func (w *window) flush() string {
	var p99 time.Duration
	if len(w.lat) > 0 {
		slices.Sort(w.lat)
		p99 = w.lat[(len(w.lat)*99+99)/100-1]
	}
	s := fmt.Sprintf("rate %6d/s  p99 %8s  errors %d  wrong %d", w.n, p99.Round(time.Microsecond), w.errs, w.wrong)
	w.n, w.errs, w.wrong, w.lat = 0, 0, 0, w.lat[:0]
	return s
}
