package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"
)

// report is what a run writes to report.json.
type report struct {
	Started  time.Time       `json:"started"`
	Machine  machine         `json:"machine"`
	Config   config          `json:"config"`
	Mode     string          `json:"mode"`
	Attacks  []*attackReport `json:"attacks"`
	Failures []string        `json:"failures"`
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
	Target string `json:"target"`
	// Requests, throughput and latencies as vegeta computed them.
	Metrics *vegeta.Metrics `json:"metrics"`
	// Checked is the number of complete answers the checker read; Wrong of
	// them were wrong, by kind in Violations, with a few Examples.
	Checked    int            `json:"checked"`
	Wrong      int            `json:"wrong"`
	Violations map[string]int `json:"violations"`
	Examples   []string       `json:"examples,omitempty"`
	ErrorRatio float64        `json:"error_ratio"`
}

func printTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\n%s\n", rep.Mode)
	fmt.Fprintf(w, "%-12s %9s %10s %9s %9s %9s %9s %7s %6s  %s\n",
		"attack", "requests", "through/s", "p50", "p90", "p99", "max", "errors", "wrong", "codes")
	for _, ar := range rep.Attacks {
		m := ar.Metrics
		fmt.Fprintf(w, "%-12s %9d %10.1f %9s %9s %9s %9s %6.2f%% %6d  %s\n",
			ar.Name, m.Requests, m.Throughput, round(m.Latencies.P50), round(m.Latencies.P90), round(m.Latencies.P99),
			round(m.Latencies.Max), ar.ErrorRatio*100, ar.Wrong, codes(m.StatusCodes))
		for _, e := range ar.Examples {
			fmt.Fprintf(w, "  wrong: %s\n", e)
		}
		for _, e := range m.Errors {
			fmt.Fprintf(w, "  error: %s\n", e)
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
	_, err = p.WriteTo(f)
	return errors.Join(err, f.Close())
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
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
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
