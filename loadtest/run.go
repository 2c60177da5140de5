package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tsenart/vegeta/v12/lib/plot"

	"banners/internal/server"
)

// target is one server to attack.
type target struct {
	name string
	url  string
}

// run starts what cfg asks for, attacks each target in turn, prints the
// results and writes the report and plot to cfg.Out.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (*report, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	rep := &report{Started: time.Now().UTC(), Machine: describeMachine(), Config: cfg, Mode: mode(cfg)}
	var keys []key // the campaign-quarters cfg asks for
	for _, c := range cfg.Campaigns {
		for _, q := range cfg.Quarters {
			keys = append(keys, key{Campaign: c, Quarter: int(q)})
		}
	}

	targets, cleanup, err := startTargets(cfg)
	defer cleanup()
	if err != nil {
		return nil, err
	}

	p := plot.New(plot.Title("Banners load test: "+rep.Mode), plot.Downsample(4000))
	fmt.Fprintf(stderr, "loadtest: %s, %d campaign-quarters, %.0f%% ad tag, %d visitors; %d CPUs shared by generator and servers\n",
		rep.Mode, len(keys), cfg.Mix*100, cfg.Visitors, runtime.NumCPU())
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ar, err := attack(ctx, cfg, t, keys, p, stderr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		rep.Attacks = append(rep.Attacks, ar)
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

// startTargets starts the servers cfg asks for (the local server, as
// functions/api/local wires it, with and without its access log) or names
// the remote target. cleanup stops what was started, the servers first,
// then what they write to; call it even when err is not nil.
func startTargets(cfg config) (targets []target, cleanup func(), err error) {
	// Undone last in, first out: servers are started after what they use.
	var undo []func() error
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]() //nolint:errcheck // best effort at exit
		}
	}
	if !cfg.Self {
		return []target{{name: "target", url: cfg.Target}}, cleanup, nil
	}
	local := func(name string, accessLog io.Writer) error {
		scfg, api, err := server.NewLocal(server.Local{AccessLog: accessLog}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		undo = append(undo, func() error { api.Close(); return nil })
		url, stop, err := serve(scfg)
		if err != nil {
			return err
		}
		undo = append(undo, stop)
		targets = append(targets, target{name: name, url: url})
		return nil
	}
	if cfg.AccessLog != "off" {
		f, err := os.Create(filepath.Join(cfg.Out, "access.log"))
		if err != nil {
			return nil, cleanup, err
		}
		undo = append(undo, f.Close)
		// Buffered, as functions/api/local buffers its access log.
		lw := server.NewLogWriter(f, 200*time.Millisecond)
		undo = append(undo, lw.Close)
		if err := local("local+log", lw); err != nil {
			return nil, cleanup, err
		}
	}
	if cfg.AccessLog != "on" {
		if err := local("local-nolog", nil); err != nil {
			return nil, cleanup, err
		}
	}
	return targets, cleanup, nil
}

// serve runs the local server (internal/server) with cfg on a free
// loopback port and returns its base URL and the function that shuts it
// down and waits for it.
func serve(cfg server.Config) (url string, stop func() error, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- server.Run(ctx, cfg, ln) }()
	return "http://" + ln.Addr().String(), func() error { cancel(); return <-errc }, nil
}
