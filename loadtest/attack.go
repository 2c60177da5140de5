package main

import (
	"context"
	"encoding/json"
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
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		select {
		case <-ctx.Done():
		case <-cfg.Until: // a nil Until never ends the attack
		case <-ended:
			return
		}
		atk.Stop()
	}()

	ar := &attackReport{Name: t.name, Target: t.url, Metrics: &vegeta.Metrics{}, Violations: map[string]int{}}
	var win window
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	began := time.Now()
	results := atk.Attack(vis.targeter(), pacer, cfg.Duration, t.name)
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
			fmt.Fprintf(stderr, "[%s] %4.0fs  %s\n", t.name, time.Since(began).Seconds(), win.flush())
		}
	}
	ar.Metrics.Close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if ar.Metrics.Requests > 0 {
		ar.ErrorRatio = 1 - ar.Metrics.Success
	}
	return ar, nil
}

// probe asks target once for every key: every key must answer 200, and it
// learns which keys serve a single banner (the ad tag may repeat those).
func probe(ctx context.Context, client *http.Client, base string, keys []key) (map[key]bool, error) {
	single := map[key]bool{}
	for _, k := range keys {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+k.path(false), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("probe: campaign %d quarter %d answered %d; choose -campaigns that exist", k.Campaign, k.Quarter, resp.StatusCode)
		}
		var got bannersAnswer
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, fmt.Errorf("probe: campaign %d quarter %d: %w", k.Campaign, k.Quarter, err)
		}
		if len(got.Banners) == 1 {
			single[k] = true
		}
	}
	return single, nil
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
