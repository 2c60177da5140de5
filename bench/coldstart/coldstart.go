// Command coldstart measures the API function's cold start against the
// floor, the smallest aws-lambda-go function (bench/coldstart/floor): it
// builds both as the deploy does (stripped, for the host), and the floor
// twice more with the SDKs the API links (floor+xray, floor+sdks), puts the
// sample data in a dynalite table, starts each function under the Lambda
// Runtime Interface Emulator -n times, alternating, and prints medians of
// INIT, first answer, warm invoke (for the API a cache hit) and bootstrap
// size, each with its ratio to the floor's in the same run.
//
//	go run ./bench/coldstart            # 7 cold starts each, 30 warm invokes after each
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
	"io"
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
	var cfg coldConfig
	flag.IntVar(&cfg.Rounds, "n", 7, "cold starts per function, alternating (at least 7: the figures are medians)")
	flag.IntVar(&cfg.Warm, "warm", 30, "warm invokes after each cold start")
	flag.StringVar(&cfg.Event, "event", "functions/api/testdata/get-banners.json", "the function URL event every invoke sends, relative to the module root")
	flag.Parse()
	if flag.NArg() > 0 || cfg.Rounds < 7 || cfg.Warm < 1 {
		fmt.Fprintln(os.Stderr, "coldstart: -n must be at least 7, -warm at least 1, and no arguments")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// coldConfig is what a run measures.
type coldConfig struct {
	// Rounds is the number of cold starts per function, alternating.
	Rounds int
	// Warm is the number of warm invokes after each cold one.
	Warm int
	// Event is the function URL event every invoke sends.
	Event string
}

// function is one bootstrap a run measures.
type function struct {
	name string
	pkg  string
	tags []string
	env  func(table string) []string
	// check says whether an answer is right.
	check func(events.LambdaFunctionURLResponse) error

	path string
	size int64
}

// coldRun is one cold start and the warm invokes after it.
type coldRun struct {
	init        float64 // INIT REPORT, ms
	firstAnswer float64 // client side, invoke sent to answer read, ms
	firstInvoke float64 // INVOKE RTDONE of the first invoke, ms
	wiring      float64 // the API's init_duration_ms (0 for the floors), ms
	warm        []float64
}

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(status: success[^)]*duration: ([0-9.]+)ms\)`)
	// wiring is the API's own cold start line: main's start to lambda.Start.
	wiring = regexp.MustCompile(`"msg":"cold start","init_duration_ms":([0-9.]+)`)
)

// run builds the API function, the floor function, the floor with the
// X-Ray SDK linked in and the floor with both the X-Ray SDK and the
// DynamoDB client linked in (floor+sdks), as the deploy builds them
// (stripped, for the host), puts the sample data in a dynalite table, then
// starts each under the Runtime Interface Emulator cfg.Rounds times,
// alternating, and prints a table of medians: binary size, INIT duration,
// first answer and warm invoke duration, each also as a ratio to the
// floor's.
func run(ctx context.Context, cfg coldConfig, stdout, stderr io.Writer) error {
	root, err := testkit.ModuleRoot()
	if err != nil {
		return err
	}
	event, err := os.ReadFile(filepath.Join(root, cfg.Event))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	const table = "banners"
	url, store, stop, err := localdb.Start(ctx, table)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := ingest.LoadFS(ctx, store, sample.FS(), slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	env := func(string) []string { return nil }
	lambdaEnv := func(table string) []string {
		return []string{
			"TABLE_NAME=" + table, "AWS_ENDPOINT_URL_DYNAMODB=" + url,
			// The SDK's credentials from the environment, as Lambda gives
			// them; they sign requests to dynalite.
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=test",
		}
	}
	fns := []*function{
		{name: "floor", pkg: "./bench/coldstart/floor", env: env, check: wantStatus(200)},
		{name: "floor+xray", pkg: "./bench/coldstart/floor", tags: []string{"xraysdk"}, env: env, check: wantStatus(200)},
		{name: "floor+sdks", pkg: "./bench/coldstart/floor", tags: []string{"xraysdk", "dynamodbsdk"}, env: env, check: wantStatus(200)},
		{name: "api", pkg: "./functions/api", check: wantBanners, env: lambdaEnv},
	}
	for _, f := range fns {
		f.path = filepath.Join(dir, f.name, "bootstrap")
		if err := lambdatest.BuildTo(f.path, filepath.Join(root, f.pkg), lambdatest.Release(), lambdatest.Tags(f.tags...)); err != nil {
			return err
		}
		st, err := os.Stat(f.path)
		if err != nil {
			return err
		}
		f.size = st.Size()
	}

	runs := make(map[string][]coldRun)
	for round := range cfg.Rounds {
		for j := range fns {
			f := fns[(j+round)%len(fns)]
			r, err := coldStart(ctx, f, append(lambdaBase(), f.env(table)...), event, cfg.Warm)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", f.name, round+1, err)
			}
			runs[f.name] = append(runs[f.name], r)
			fmt.Fprintf(stderr, "coldstart: round %d %-10s INIT %6.2f ms (wiring %.2f), first answer %6.2f ms, warm invoke %.3f ms\n",
				round+1, f.name, r.init, r.wiring, r.firstAnswer, medianOf(r.warm))
		}
	}
	printColdTable(stdout, cfg, fns, runs)
	return nil
}

// lambdaBase is the environment Lambda gives every function (provided.al2023,
// 256 MB), except for X-Ray's daemon address, which is a loopback port
// here where no daemon listens (the emulator sends no trace header, so
// nothing is sent). Nothing comes from this process's environment.
func lambdaBase() []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "TZ=:UTC",
		"AWS_REGION=" + localdb.Region, "AWS_DEFAULT_REGION=" + localdb.Region,
		"AWS_LAMBDA_FUNCTION_NAME=coldstart", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_LOG_FORMAT=Text", "_HANDLER=bootstrap",
		"AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
	}
}

// coldStart runs f under a fresh emulator: one cold invoke, then warm ones.
func coldStart(ctx context.Context, f *function, env []string, event []byte, warm int) (coldRun, error) {
	fn, err := lambdatest.RunEnv(f.path, env)
	if err != nil {
		return coldRun{}, err
	}
	defer fn.Stop()
	var r coldRun
	for i := range warm + 1 {
		start := time.Now()
		payload, err := fn.Invoke(ctx, event)
		took := time.Since(start)
		if err != nil {
			return r, err
		}
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(payload, &resp); err != nil {
			return r, fmt.Errorf("invoke %d: %w: %s", i, err, payload)
		}
		if err := f.check(resp); err != nil {
			return r, fmt.Errorf("invoke %d: %w: %s", i, err, payload)
		}
		if i == 0 {
			r.firstAnswer = ms(took)
		}
	}
	// The emulator may log an invoke's RTDONE just after it answers it:
	// wait (a bounded while) for the last one.
	var logs string
	var done [][]string
	for deadline := time.Now().Add(5 * time.Second); ; {
		logs = fn.Logs()
		if done = invokeDone.FindAllStringSubmatch(logs, -1); len(done) >= warm+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(done) != warm+1 {
		return r, fmt.Errorf("%d INVOKE RTDONE lines for %d invokes:\n%s", len(done), warm+1, logs)
	}
	m := initReport.FindStringSubmatch(logs)
	if m == nil {
		return r, fmt.Errorf("no INIT REPORT in the emulator's log:\n%s", logs)
	}
	r.init, _ = strconv.ParseFloat(m[1], 64)
	if m := wiring.FindStringSubmatch(logs); m != nil {
		r.wiring, _ = strconv.ParseFloat(m[1], 64)
	}
	for i, d := range done {
		v, _ := strconv.ParseFloat(d[1], 64)
		if i == 0 {
			r.firstInvoke = v
		} else {
			r.warm = append(r.warm, v)
		}
	}
	return r, nil
}

func wantStatus(code int) func(events.LambdaFunctionURLResponse) error {
	return func(resp events.LambdaFunctionURLResponse) error {
		if resp.StatusCode != code {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, code)
		}
		return nil
	}
}

// wantBanners checks the API's answer: 200 with campaign 10's banners and
// the cookie naming the first.
func wantBanners(resp events.LambdaFunctionURLResponse) error {
	if err := wantStatus(200)(resp); err != nil {
		return err
	}
	var a struct {
		CampaignID *int64 `json:"campaign_id"`
		Banners    []struct {
			ID *int64 `json:"id"`
		} `json:"banners"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		return err
	}
	if a.CampaignID == nil || *a.CampaignID != 10 || len(a.Banners) == 0 || a.Banners[0].ID == nil {
		return errors.New("not campaign 10's banners")
	}
	if len(resp.Cookies) != 1 || !strings.HasPrefix(resp.Cookies[0], httpapi.CookieName+"="+strconv.FormatInt(*a.Banners[0].ID, 10)+";") {
		return fmt.Errorf("cookie %q does not name the first banner", resp.Cookies)
	}
	return nil
}

func printColdTable(w io.Writer, cfg coldConfig, fns []*function, runs map[string][]coldRun) {
	pick := func(name string, f func(coldRun) float64) []float64 {
		var out []float64
		for _, r := range runs[name] {
			out = append(out, f(r))
		}
		return out
	}
	floor := fns[0].name
	floorInit := medianOf(pick(floor, func(r coldRun) float64 { return r.init }))
	floorFirst := medianOf(pick(floor, func(r coldRun) float64 { return r.firstAnswer }))
	floorWarm := medianOf(pick(floor, func(r coldRun) float64 { return medianOf(r.warm) }))
	floorSize := float64(fns[0].size)
	fmt.Fprintf(w, "\n%d alternating cold starts per function under the Runtime Interface Emulator, %d warm invokes after each; medians (min–max); ratios to %s in the same run\n\n", cfg.Rounds, cfg.Warm, floor)
	fmt.Fprintf(w, "| function | binary | INIT | INIT / floor | first answer | first answer / floor | warm invoke | warm / floor |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, f := range fns {
		init := pick(f.name, func(r coldRun) float64 { return r.init })
		first := pick(f.name, func(r coldRun) float64 { return r.firstAnswer })
		warm := pick(f.name, func(r coldRun) float64 { return medianOf(r.warm) })
		fmt.Fprintf(w, "| %s | %.1f MB (%.1f×) | %.2f ms (%.2f–%.2f) | **%.2f×** | %.2f ms (%.2f–%.2f) | %.2f× | %.3f ms | **%.2f×** |\n",
			f.name, float64(f.size)/1e6, float64(f.size)/floorSize,
			medianOf(init), slices.Min(init), slices.Max(init), medianOf(init)/floorInit,
			medianOf(first), slices.Min(first), slices.Max(first), medianOf(first)/floorFirst,
			medianOf(warm), medianOf(warm)/floorWarm)
	}
	// Per round, the functions ran back to back: differences within a
	// round are steadier than differences of medians on a busy machine.
	diff := func(a, b string) float64 {
		var d []float64
		for i := range min(len(runs[a]), len(runs[b])) {
			d = append(d, runs[a][i].init-runs[b][i].init)
		}
		return medianOf(d)
	}
	if _, ok := runs["floor+sdks"]; ok {
		wired := medianOf(pick("api", func(r coldRun) float64 { return r.wiring }))
		fmt.Fprintf(w, "\nINIT split (medians of the per-round differences): the SDKs' package initialisation (floor+sdks − floor) %.2f ms, of it the X-Ray SDK's (floor+xray − floor) %.2f ms; the API's own (api − floor+sdks) %.2f ms, of it its wiring (main to lambda.Start, its cold start line) %.2f ms.\n",
			diff("floor+sdks", floor), diff("floor+xray", floor), diff("api", "floor+sdks"), wired)
	}
	fmt.Fprintf(w, "\nINIT: the emulator's INIT REPORT (process start to the runtime's first /next). First answer: the first invoke as the client sees it (INIT, then for api a cache miss read from dynalite). Warm invoke: INVOKE RTDONE of the later invokes (for api, cache hits).\n")
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
