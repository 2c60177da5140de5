package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"banners/internal/app"
	"banners/internal/server"
	"banners/internal/testkit"
)

// Servers the wrk mode runs, each in its own process.
const (
	serveLog      = "local+log"
	serveNoLog    = "local-nolog"
	serveBaseline = "baseline"
	// serveTimeouts is the baseline with the local server's timeouts.
	serveTimeouts = "baseline+timeouts"
)

// wrkResult is one wrk run against one server.
type wrkResult struct {
	Server string
	Round  int
	Rate   float64 // requests per second
	Bad    int     // non-2xx/3xx answers and socket errors
	// Requests is how many requests wrk completed, CPU the server process's
	// CPU time (user and system) meanwhile: CPU/Requests is the CPU per
	// request, which other load on a shared machine does not change.
	Requests int
	CPU      time.Duration
}

var (
	wrkRate   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkTotal  = regexp.MustCompile(`(\d+) requests in `)
	wrkSocket = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk measures the CPU per request of the local server, with and
// without its access log, against the baseline and against the baseline
// with the local server's timeouts (which shows what the timeouts cost
// apart from the handlers): each runs as its own
// process, wired as functions/api/local wires it, pinned to CPU 0 with GOMAXPROCS
// 1, and wrk (C, one thread, cfg.Workers connections, loadtest/wrk.lua)
// loads it from CPU 1. The servers take turns, cfg.Rounds times, and each
// round's throughputs are compared with that round's baseline. wrk checks
// nothing: before loading, every campaign-quarter is asked once and must
// answer 200 (the in-process Go generator, -self, checks every answer).
func runWrk(ctx context.Context, cfg config, keys []key, stdout, stderr io.Writer) ([]wrkResult, error) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("-wrk needs wrk (the HTTP benchmarking tool) on PATH: apt-get install wrk")
	}
	root, err := testkit.ModuleRoot()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	// Pin the servers to CPU 0 and wrk to CPU 1 when there are two CPUs
	// and taskset; otherwise they share what there is, and say so.
	pin := func(cpu string, args ...string) []string { return args }
	taskset, terr := exec.LookPath("taskset")
	if terr == nil && runtime.NumCPU() >= 2 {
		pin = func(cpu string, args ...string) []string { return append([]string{taskset, "-c", cpu}, args...) }
	} else {
		fmt.Fprintln(stderr, "loadtest: no taskset or fewer than 2 CPUs: servers and wrk are not pinned")
	}

	var names []string
	if cfg.AccessLog != "off" {
		names = append(names, serveLog)
	}
	if cfg.AccessLog != "on" {
		names = append(names, serveNoLog)
	}
	names = append(names, serveTimeouts, serveBaseline)
	urls := map[string]string{}
	pids := map[string]int{}
	for _, name := range names {
		url, pid, stop, err := startServeProcess(ctx, pin("0", self, "-serve", name, "-out", cfg.Out), stderr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer stop()
		urls[name], pids[name] = url, pid
		if name != serveBaseline && name != serveTimeouts {
			if _, err := probe(ctx, http.DefaultClient, url, keys); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}

	script := filepath.Join(root, "loadtest", "wrk.lua")
	var results []wrkResult
	for round := 1; round <= cfg.Rounds; round++ {
		for j := range names {
			name := names[(j+round-1)%len(names)]
			args := pin("1", wrk, "-t1", "-c"+strconv.Itoa(cfg.Workers), "-d"+cfg.Duration.String(), "-s", script, urls[name])
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cpu0, cerr := cpuTime(pids[name])
			out, err := cmd.CombinedOutput()
			cpu1, cerr1 := cpuTime(pids[name])
			if err != nil {
				return nil, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
			r, err := parseWrk(string(out))
			if err != nil {
				return nil, fmt.Errorf("%s: %w\n%s", name, err, out)
			}
			r.Server, r.Round = name, round
			if cerr == nil && cerr1 == nil {
				r.CPU = cpu1 - cpu0
			}
			results = append(results, r)
			fmt.Fprintf(stderr, "loadtest: wrk round %d %-12s %9.0f req/s, %5.1f µs of CPU per request\n", round, name, r.Rate, r.cpuPerRequest())
		}
	}
	printWrk(stdout, cfg, names, results)
	for _, r := range results {
		if r.Bad > 0 {
			return results, fmt.Errorf("%s round %d: %d failed requests", r.Server, r.Round, r.Bad)
		}
	}
	return results, nil
}

// parseWrk reads wrk's summary.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRate.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("no Requests/sec in wrk's output")
	}
	r.Rate, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.Bad += n
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.Bad += n
		}
	}
	return r, nil
}

func (r wrkResult) cpuPerRequest() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.CPU.Microseconds()) / float64(r.Requests)
}

// cpuTime returns the CPU time (user and system, all threads) process pid
// has used, from /proc (Linux; clock ticks of 10 ms).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func printWrk(w io.Writer, cfg config, names []string, results []wrkResult) {
	base := map[int]wrkResult{}
	for _, r := range results {
		if r.Server == serveBaseline {
			base[r.Round] = r
		}
	}
	fmt.Fprintf(w, "\nwrk -t1 -c%d -d%s -s loadtest/wrk.lua, %d rounds; each server its own process pinned to CPU 0 (GOMAXPROCS 1), wrk on CPU 1\n\n", cfg.Workers, cfg.Duration, cfg.Rounds)
	fmt.Fprintln(w, "| server | req/s (median) | throughput / baseline (median; per round) | µs of CPU per request (median) | baseline's CPU per request / ours (median; per round) |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, name := range names {
		var rs, qs, cs, cq []float64
		var qtext, cqtext []string
		for _, r := range results {
			if r.Server != name {
				continue
			}
			rs = append(rs, r.Rate)
			q := div(r.Rate, base[r.Round].Rate)
			qs = append(qs, q)
			qtext = append(qtext, strconv.FormatFloat(q, 'f', 2, 64))
			c := r.cpuPerRequest()
			cs = append(cs, c)
			x := div(base[r.Round].cpuPerRequest(), c)
			cq = append(cq, x)
			cqtext = append(cqtext, strconv.FormatFloat(x, 'f', 2, 64))
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f (%s) | %.1f | **%.2f** (%s) |\n", name, medianOf(rs), medianOf(qs), strings.Join(qtext, " / "),
			medianOf(cs), medianOf(cq), strings.Join(cqtext, " / "))
	}
	fmt.Fprintln(w, "\nThroughput ratios hold only while nothing else runs on the machine; the CPU ratio (the server process's CPU time from /proc over the requests wrk completed) is what a saturated core would give, whatever else runs.")
}

// serveOne runs one server of the wrk mode in this process until it is
// interrupted, and prints its URL on stdout (with LOADTEST_CPUPROFILE=FILE
// set, it writes a CPU profile there: where the time per request goes): the local server wired by
// internal/app as functions/api/local wires it (the access log buffered to
// out/access-wrk.log, or off), or the baseline answering like it.
func serveOne(ctx context.Context, name, out string, stdout io.Writer) error {
	if p := os.Getenv("LOADTEST_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	switch name {
	case serveLog, serveNoLog:
		var accessLog io.Writer
		if name == serveLog {
			f, err := os.Create(filepath.Join(out, "access-wrk.log"))
			if err != nil {
				return err
			}
			defer f.Close()
			lw := server.NewLogWriter(f, 200*time.Millisecond)
			defer lw.Close()
			accessLog = lw
		}
		scfg, api, err := app.NewLocal(app.Local{AccessLog: accessLog}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer api.Close()
		fmt.Fprintln(stdout, url)
		return server.Run(ctx, scfg, ln)
	case serveBaseline, serveTimeouts:
		_, api, err := app.NewLocal(app.Local{}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		c, err := cannedAnswer(api.Handler, []key{{Campaign: 10, Quarter: 1}, {Campaign: 20, Quarter: 2}, {Campaign: 30, Quarter: 3}, {Campaign: 40, Quarter: 4}})
		api.Close()
		if err != nil {
			return err
		}
		ln.Close()
		srv, err := startBaseline(c, name == serveTimeouts)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, srv.URL)
		<-ctx.Done()
		return srv.Stop()
	}
	return fmt.Errorf("unknown server %q", name)
}

// startServeProcess starts args (this program with -serve) and returns the
// URL it prints and the function that stops it.
func startServeProcess(ctx context.Context, args []string, stderr io.Writer) (string, int, func(), error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = stderr
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(outp)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		io.Copy(io.Discard, outp) //nolint:errcheck // nothing more is expected
	}()
	select {
	case url, ok := <-line:
		if !ok || !strings.HasPrefix(url, "http://") {
			stop()
			return "", 0, nil, fmt.Errorf("%s printed no URL", strings.Join(args, " "))
		}
		return url, cmd.Process.Pid, stop, nil
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	stop()
	return "", 0, nil, fmt.Errorf("%s did not start", strings.Join(args, " "))
}
