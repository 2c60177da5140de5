package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"banners/internal/cache"
	"banners/internal/server"
)

// report is what a run writes to report.json.
type report struct {
	Started time.Time       `json:"started"`
	Machine machine         `json:"machine"`
	Config  config          `json:"config"`
	Mode    string          `json:"mode"`
	Attacks []*attackReport `json:"attacks"`
	// Medians summarise each server over the rounds, when there are several.
	Medians  []median `json:"medians,omitempty"`
	Failures []string `json:"failures"`
}

type machine struct {
	CPU        string `json:"cpu,omitempty"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Note       string `json:"note"`
}

// attackReport is one attack: one server under one load.
type attackReport struct {
	Name   string `json:"name"`
	Round  int    `json:"round"`
	Target string `json:"target"`
	// Requests, throughput and latencies as vegeta computed them.
	Metrics *vegeta.Metrics `json:"metrics"`
	Summary summary         `json:"summary"`
	// Checked is the number of complete answers the checker read; Wrong of
	// them were wrong, by kind in Violations, with a few Examples.
	Checked    int            `json:"checked"`
	Wrong      int            `json:"wrong"`
	Violations map[string]int `json:"violations"`
	Examples   []string       `json:"examples,omitempty"`
	ErrorRatio float64        `json:"error_ratio"`
	// VsBaseline is our throughput and p99 divided by the baseline's.
	VsBaseline *ratios `json:"vs_baseline,omitempty"`
}

// summary repeats the key figures in readable units.
type summary struct {
	Requests      uint64         `json:"requests"`
	RatePerSec    float64        `json:"rate_per_sec"`
	ThroughputRPS float64        `json:"throughput_per_sec"`
	P50ms         float64        `json:"p50_ms"`
	P90ms         float64        `json:"p90_ms"`
	P99ms         float64        `json:"p99_ms"`
	Maxms         float64        `json:"max_ms"`
	StatusCodes   map[string]int `json:"status_codes"`
	Errors        []string       `json:"errors,omitempty"`
}

type ratios struct {
	Throughput float64 `json:"throughput"`
	P99        float64 `json:"p99"`
}

// median is one server's median figures over the rounds.
type median struct {
	Name          string  `json:"name"`
	ThroughputRPS float64 `json:"throughput_per_sec"`
	P99ms         float64 `json:"p99_ms"`
	// ThroughputRatio and P99Ratio are the medians of the per-round ratios
	// to the baseline of the same round.
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
	P99Ratio        float64 `json:"p99_ratio,omitempty"`
}

// medians summarises each target over the rounds.
func medians(targets []target, attacks []*attackReport) []median {
	var out []median
	for _, t := range targets {
		var thr, p99, rthr, rp99 []float64
		for _, ar := range attacks {
			if !strings.HasPrefix(ar.Name, t.name+"#") {
				continue
			}
			thr = append(thr, ar.Metrics.Throughput)
			p99 = append(p99, ms(ar.Metrics.Latencies.P99))
			if ar.VsBaseline != nil {
				rthr = append(rthr, ar.VsBaseline.Throughput)
				rp99 = append(rp99, ar.VsBaseline.P99)
			}
		}
		out = append(out, median{Name: t.name, ThroughputRPS: mid(thr), P99ms: mid(p99), ThroughputRatio: mid(rthr), P99Ratio: mid(rp99)})
	}
	return out
}

// mid returns the median of xs, 0 for none.
func mid(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// target is one server to attack.
type target struct {
	name      string
	url       string
	shapeOnly bool // the baseline's constant answer: check the shape only
}

// run starts what cfg asks for, attacks each target in turn, prints the
// results and writes the report and plot to cfg.Out.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (*report, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	rep := &report{Started: time.Now().UTC(), Machine: describeMachine(), Config: cfg, Mode: mode(cfg)}
	var keys []key
	for _, c := range cfg.Campaigns {
		for _, q := range cfg.Quarters {
			keys = append(keys, key{Campaign: c, Quarter: int(q)})
		}
	}

	var targets []target
	var stops []*running
	defer func() {
		for _, s := range stops {
			s.Stop() //nolint:errcheck // best effort at exit
		}
	}()
	var cannedFrom http.Handler
	if cfg.Self {
		sampleStore, err := loadSample()
		if err != nil {
			return nil, err
		}
		// The cache in front, as functions/api wires it.
		store, err := cache.New(sampleStore, cache.Config{})
		if err != nil {
			return nil, err
		}
		defer store.Close()
		if cfg.AccessLog != "off" {
			f, err := os.Create(filepath.Join(cfg.Out, "access.log"))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			// Buffered, as functions/api buffers its access log.
			lw := server.NewLogWriter(f, 200*time.Millisecond)
			defer lw.Close()
			srv, err := startLocal(localConfig(store, lw))
			if err != nil {
				return nil, err
			}
			stops = append(stops, srv)
			targets = append(targets, target{name: "local+log", url: srv.URL})
		}
		if cfg.AccessLog != "on" {
			srv, err := startLocal(localConfig(store, nil))
			if err != nil {
				return nil, err
			}
			stops = append(stops, srv)
			targets = append(targets, target{name: "local-nolog", url: srv.URL})
		}
		cannedFrom = localConfig(store, nil).API
	} else {
		targets = append(targets, target{name: "target", url: cfg.Target})
	}
	if cfg.Baseline {
		c, err := cannedFromTarget(ctx, cannedFrom, targets[0].url, keys)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		srv, err := startBaseline(c)
		if err != nil {
			return nil, err
		}
		stops = append(stops, srv)
		targets = append(targets, target{name: "baseline", url: srv.URL, shapeOnly: true})
	}

	p := plot.New(plot.Title("Banners load test: "+rep.Mode), plot.Downsample(4000))
	fmt.Fprintf(stderr, "loadtest: %s, %d campaign-quarters, %.0f%% ad tag, %d visitors; %d CPUs shared by generator and servers\n",
		rep.Mode, len(keys), cfg.Mix*100, cfg.Visitors, runtime.NumCPU())
	for round := 1; round <= cfg.Rounds; round++ {
		var base *attackReport
		var ours []*attackReport
		// Each round starts with the next server, so none always goes first
		// (or always last, on the biggest heap).
		for j := range targets {
			t := targets[(j+round-1)%len(targets)]
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			name := t.name
			if cfg.Rounds > 1 {
				name = fmt.Sprintf("%s#%d", t.name, round)
			}
			ar, err := attack(ctx, cfg, t, name, keys, p, stderr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			ar.Round = round
			rep.Attacks = append(rep.Attacks, ar)
			if t.shapeOnly {
				base = ar
			} else {
				ours = append(ours, ar)
			}
		}
		if base == nil {
			continue
		}
		for _, ar := range ours {
			ar.VsBaseline = &ratios{
				Throughput: div(ar.Metrics.Throughput, base.Metrics.Throughput),
				P99:        div(ar.Metrics.Latencies.P99.Seconds(), base.Metrics.Latencies.P99.Seconds()),
			}
		}
	}
	if cfg.Rounds > 1 {
		rep.Medians = medians(targets, rep.Attacks)
	}
	for _, ar := range rep.Attacks {
		if ar.Wrong > 0 {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %d wrong answers %v", ar.Name, ar.Wrong, ar.Violations))
		}
		if ar.ErrorRatio > cfg.MaxErrorRatio {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: error ratio %.4f above %.4f", ar.Name, ar.ErrorRatio, cfg.MaxErrorRatio))
		}
	}
	printTable(stdout, rep)
	if err := writeOut(cfg.Out, rep, p); err != nil {
		return rep, err
	}
	fmt.Fprintf(stdout, "\nreport: %s\nplot:   %s\n", filepath.Join(cfg.Out, "report.json"), filepath.Join(cfg.Out, "plot.html"))
	return rep, nil
}

// cannedFromTarget builds the baseline's answer from our handler when it
// runs in-process, else from the target's answers.
func cannedFromTarget(ctx context.Context, api http.Handler, url string, keys []key) (canned, error) {
	if api == nil {
		api = proxyHandler(ctx, url)
	}
	return cannedAnswer(api, keys)
}

// proxyHandler forwards a request to base and copies the answer back, so
// cannedAnswer can read a remote target like a local handler.
func proxyHandler(ctx context.Context, base string) http.Handler {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+r.URL.RequestURI(), nil)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body) //nolint:errcheck // the recorder never fails
	})
}

// attack loads one target with the configured pacing, checks every answer,
// prints progress every second and returns the figures.
func attack(ctx context.Context, cfg config, t target, name string, keys []key, p *plot.Plot, stderr io.Writer) (*attackReport, error) {
	single := map[key]bool{}
	if !t.shapeOnly {
		var err error
		client := &http.Client{Timeout: cfg.Timeout}
		if single, err = probe(ctx, client, t.url, keys); err != nil {
			return nil, err
		}
		client.CloseIdleConnections()
	}
	vis := newVisitors(t.url, keys, single, cfg.Visitors, cfg.Mix, t.shapeOnly)
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

func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\n%s\n", rep.Mode)
	fmt.Fprintf(w, "%-12s %9s %10s %9s %9s %9s %9s %7s %6s %11s %9s  %s\n",
		"attack", "requests", "through/s", "p50", "p90", "p99", "max", "errors", "wrong", "thr/base", "p99/base", "codes")
	for _, ar := range rep.Attacks {
		m := ar.Metrics
		thr, p99 := "", ""
		if ar.VsBaseline != nil {
			thr = fmt.Sprintf("%.0f%%", ar.VsBaseline.Throughput*100)
			p99 = fmt.Sprintf("%.2fx", ar.VsBaseline.P99)
		}
		fmt.Fprintf(w, "%-12s %9d %10.1f %9s %9s %9s %9s %6.2f%% %6d %11s %9s  %s\n",
			ar.Name, m.Requests, m.Throughput, round(m.Latencies.P50), round(m.Latencies.P90), round(m.Latencies.P99),
			round(m.Latencies.Max), ar.ErrorRatio*100, ar.Wrong, thr, p99, codes(m.StatusCodes))
		for _, e := range ar.Examples {
			fmt.Fprintf(w, "  wrong: %s\n", e)
		}
		for _, e := range m.Errors {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
	}
	if len(rep.Medians) > 0 {
		fmt.Fprintf(w, "\nmedian over %d rounds\n%-12s %10s %9s %11s %9s\n", rep.Config.Rounds, "server", "through/s", "p99", "thr/base", "p99/base")
		for _, m := range rep.Medians {
			thr, p99 := "", ""
			if m.ThroughputRatio > 0 {
				thr, p99 = fmt.Sprintf("%.0f%%", m.ThroughputRatio*100), fmt.Sprintf("%.2fx", m.P99Ratio)
			}
			fmt.Fprintf(w, "%-12s %10.1f %7.2fms %11s %9s\n", m.Name, m.ThroughputRPS, m.P99ms, thr, p99)
		}
	}
}

func writeOut(dir string, rep *report, p *plot.Plot) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "plot.html"))
	if err != nil {
		return err
	}
	p.Close()
	bw := bufio.NewWriter(f)
	_, err = p.WriteTo(bw)
	return errors.Join(err, bw.Flush(), f.Close())
}

func mode(cfg config) string {
	if cfg.closedLoop() {
		return fmt.Sprintf("closed loop, %d workers, %s per attack", cfg.Workers, cfg.Duration)
	}
	perSec := float64(cfg.Rate.Freq) / cfg.Rate.Per.Seconds()
	return fmt.Sprintf("open loop, %s (%.1f req/s), %s per attack", cfg.RateText, perSec, cfg.Duration)
}

func describeMachine() machine {
	m := machine{
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Note:       "generator and in-process servers share these CPUs",
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimLeft(name, " \t:"))
				break
			}
		}
	}
	return m
}

func codes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
