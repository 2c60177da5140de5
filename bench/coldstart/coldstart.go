// Command coldstart measures the API function's cold start against the
// floor, the smallest aws-lambda-go function (bench/coldstart/floor): it
// builds both as the deploy does (stripped, for the host), puts the sample
// data in a dynalite table, starts each function under the Lambda Runtime
// Interface Emulator -n times, alternating, and prints medians of INIT,
// first answer, warm invoke (for the API a cache hit) and bootstrap size,
// each with its ratio to the floor's in the same run.
//
//	go run ./bench/coldstart -n 9 -warm 50
//
// Run it inside the module (it builds ./functions/api and finds dynalite
// in node_modules); it needs `npm ci` and the emulator (a tool in go.mod).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"banners/bench/internal/localdb"
	"banners/internal/httpapi"
	"banners/internal/ingest"
	"banners/internal/lambdatest"
	"banners/internal/sample"
	"banners/internal/testkit"
)

func main() {
	rounds := flag.Int("n", 7, "cold starts per function, alternating (at least 7: the figures are medians)")
	warm := flag.Int("warm", 30, "warm invokes after each cold start")
	flag.Parse()
	if flag.NArg() > 0 || *rounds < 7 || *warm < 1 {
		fmt.Fprintln(os.Stderr, "coldstart: -n must be at least 7, -warm at least 1, and no arguments")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *rounds, *warm); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// function is one bootstrap a run measures, and its figures in ms, one
// per cold start.
type function struct {
	name string
	pkg  string
	env  []string
	api  bool // reads the table; its answers are checked in full
	path string
	size int64

	init, first, warm, wiring []float64
}

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(status: success[^)]*duration: ([0-9.]+)ms\)`)
	// wiring is the API's own cold start line: main's start to lambda.Start.
	wiring = regexp.MustCompile(`"msg":"cold start","init_duration_ms":([0-9.]+)`)
)

// run builds the functions, puts the sample data in a dynalite table,
// starts each function rounds times, alternating, with warm invokes after
// each cold start, and prints the table of medians. Every invoke sends the
// API's GET /api/campaigns/10/banners event.
func run(ctx context.Context, rounds, warm int) error {
	root, err := testkit.ModuleRoot()
	if err != nil {
		return err
	}
	event, err := os.ReadFile(filepath.Join(root, "functions/api/testdata/get-banners.json"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	url, store, stop, err := localdb.Start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := ingest.LoadFS(ctx, store, sample.FS(), slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	// The SDK's credentials come from the environment, as Lambda gives
	// them; they sign requests to dynalite.
	apiEnv := slices.Concat(lambdaEnv, []string{
		"TABLE_NAME=" + localdb.Table, "AWS_ENDPOINT_URL_DYNAMODB=" + url,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=test",
	})
	fns := []*function{
		{name: "floor", pkg: "./bench/coldstart/floor", env: lambdaEnv},
		{name: "api", pkg: "./functions/api", env: apiEnv, api: true},
	}
	for _, f := range fns {
		f.path = filepath.Join(dir, f.name, "bootstrap")
		if err := lambdatest.BuildTo(f.path, filepath.Join(root, f.pkg), true); err != nil {
			return err
		}
		st, err := os.Stat(f.path)
		if err != nil {
			return err
		}
		f.size = st.Size()
	}
	for round := range rounds {
		for j := range fns {
			f := fns[(j+round)%len(fns)]
			if err := coldStart(ctx, f, event, warm); err != nil {
				return fmt.Errorf("%s, round %d: %w", f.name, round+1, err)
			}
			fmt.Fprintf(os.Stderr, "coldstart: round %d %-5s INIT %6.2f ms (wiring %.2f), first answer %6.2f ms, warm invoke %.3f ms\n",
				round+1, f.name, f.init[round], f.wiring[round], f.first[round], f.warm[round])
		}
	}
	printTable(rounds, warm, fns)
	return nil
}

// lambdaEnv is the environment Lambda gives every function (provided.al2023,
// 256 MB), except for X-Ray's daemon address, which is a loopback port
// here where no daemon listens (the emulator sends no trace header, so
// nothing is sent). Nothing comes from this process's environment.
var lambdaEnv = []string{
	"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "TZ=:UTC",
	"AWS_REGION=" + localdb.Region, "AWS_DEFAULT_REGION=" + localdb.Region,
	"AWS_LAMBDA_FUNCTION_NAME=coldstart", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
	"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_LOG_FORMAT=Text", "_HANDLER=bootstrap",
	"AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
}

// coldStart runs f under a fresh emulator, one cold invoke and then warm
// ones, checks every answer and appends the round's figures to f.
func coldStart(ctx context.Context, f *function, event []byte, warm int) error {
	fn, err := lambdatest.RunEnv(f.path, f.env)
	if err != nil {
		return err
	}
	defer fn.Stop()
	var first float64
	for i := range warm + 1 {
		start := time.Now()
		payload, err := fn.Invoke(ctx, event)
		if i == 0 {
			first = float64(time.Since(start).Microseconds()) / 1000
		}
		if err == nil {
			err = checkAnswer(payload, f.api)
		}
		if err != nil {
			return fmt.Errorf("invoke %d: %w: %s", i, err, payload)
		}
	}
	// The emulator may log an invoke's RTDONE just after it answers it:
	// wait (a bounded while) for the last one.
	var logs string
	var done [][]string
	for deadline := time.Now().Add(5 * time.Second); len(done) < warm+1 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		logs = fn.Logs()
		done = invokeDone.FindAllStringSubmatch(logs, -1)
	}
	if len(done) != warm+1 {
		return fmt.Errorf("%d INVOKE RTDONE lines for %d invokes:\n%s", len(done), warm+1, logs)
	}
	m := initReport.FindStringSubmatch(logs)
	if m == nil {
		return fmt.Errorf("no INIT REPORT in the emulator's log:\n%s", logs)
	}
	f.init = append(f.init, parse(m[1]))
	f.first = append(f.first, first)
	wired := 0.0 // the floor logs no cold start line
	if m := wiring.FindStringSubmatch(logs); m != nil {
		wired = parse(m[1])
	}
	f.wiring = append(f.wiring, wired)
	var warms []float64
	for _, d := range done[1:] {
		warms = append(warms, parse(d[1]))
	}
	f.warm = append(f.warm, median(warms))
	return nil
}

// checkAnswer checks an answer: 200, and for the API campaign 10's
// banners with the cookie naming the first.
func checkAnswer(payload []byte, api bool) error {
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	if !api {
		return nil
	}
	var a httpapi.Answer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		return err
	}
	if a.CampaignID != 10 || len(a.Banners) == 0 {
		return errors.New("not campaign 10's banners")
	}
	if len(resp.Cookies) != 1 || !strings.HasPrefix(resp.Cookies[0], httpapi.CookieName+"="+strconv.FormatInt(a.Banners[0].ID, 10)+";") {
		return fmt.Errorf("cookie %q does not name the first banner", resp.Cookies)
	}
	return nil
}

// printTable prints the medians (min–max) of every function with their
// ratios to the floor's, then what of the API's INIT is its own wiring.
func printTable(rounds, warm int, fns []*function) {
	floor := fns[0]
	fmt.Printf("\n%d alternating cold starts per function under the Runtime Interface Emulator, %d warm invokes after each; medians (min–max); ratios to %s in the same run\n\n", rounds, warm, floor.name)
	fmt.Println("| function | binary | INIT | INIT / floor | first answer | first answer / floor | warm invoke | warm / floor |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, f := range fns {
		fmt.Printf("| %s | %.1f MB (%.1f×) | %.2f ms (%.2f–%.2f) | **%.2f×** | %.2f ms (%.2f–%.2f) | %.2f× | %.3f ms | **%.2f×** |\n",
			f.name, float64(f.size)/1e6, float64(f.size)/float64(floor.size),
			median(f.init), slices.Min(f.init), slices.Max(f.init), median(f.init)/median(floor.init),
			median(f.first), slices.Min(f.first), slices.Max(f.first), median(f.first)/median(floor.first),
			median(f.warm), median(f.warm)/median(floor.warm))
	}
	api := fns[1]
	fmt.Printf("\nThe API's INIT over the floor's: %.2f ms (median), of it its wiring (main to lambda.Start, its cold start line) %.2f ms.\n",
		median(api.init)-median(floor.init), median(api.wiring))
	fmt.Printf("\nINIT: the emulator's INIT REPORT (process start to the runtime's first /next). First answer: the first invoke as the client sees it (INIT, then for api a cache miss read from dynalite). Warm invoke: INVOKE RTDONE of the later invokes (for api, cache hits).\n")
}

// median returns the median of v, which is not empty.
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// parse reads a figure the regular expressions matched as a number.
func parse(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}
