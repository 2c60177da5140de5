package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/lambdatest"
	"banners/internal/sample"
	"banners/internal/testkit"
)

// coldConfig is what the cold-start mode measures.
type coldConfig struct {
	// Rounds is the number of cold starts per function, alternating.
	Rounds int
	// Warm is the number of warm invokes after each cold one.
	Warm int
	// Event is the function URL event every invoke sends.
	Event string
}

// function is one bootstrap the cold-start mode runs.
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

// runColdStart builds the API function, the floor function, the floor
// with the X-Ray SDK linked in and the floor with both the X-Ray SDK and
// the DynamoDB client linked in (floor+sdks), as the deploy builds them (stripped, for
// the host), puts the sample data in a dynalite table, then starts each
// under the Runtime Interface Emulator cfg.Rounds times, alternating, and
// prints a table of medians: binary size, INIT duration, first answer and
// warm invoke duration, each also as a ratio to the floor's.
func runColdStart(ctx context.Context, cfg coldConfig, stdout, stderr io.Writer) error {
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

	url, stop, err := startDynalite(root)
	if err != nil {
		return err
	}
	defer stop()
	const table = "banners"
	if err := loadSample(ctx, url, table); err != nil {
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
		{name: "floor", pkg: "./functions/floor", env: env, check: wantStatus(200)},
		{name: "floor+xray", pkg: "./functions/floor", tags: []string{"xraysdk"}, env: env, check: wantStatus(200)},
		{name: "floor+sdks", pkg: "./functions/floor", tags: []string{"xraysdk", "dynamodbsdk"}, env: env, check: wantStatus(200)},
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
		"AWS_REGION=eu-central-1", "AWS_DEFAULT_REGION=eu-central-1",
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
	var a bannersAnswer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		return err
	}
	if a.CampaignID == nil || *a.CampaignID != 10 || len(a.Banners) == 0 || a.Banners[0].ID == nil {
		return errors.New("not campaign 10's banners")
	}
	if len(resp.Cookies) != 1 || !strings.HasPrefix(resp.Cookies[0], "banner_last="+strconv.FormatInt(*a.Banners[0].ID, 10)+";") {
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

// startDynalite runs dynalite (from the module's node_modules) on a free
// port and returns its URL and the function that stops it.
func startDynalite(root string) (string, func(), error) {
	bin := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		return "", nil, fmt.Errorf("dynalite not found (run `npm ci` at the module root): %w", err)
	}
	port, err := testkit.FreePort()
	if err != nil {
		return "", nil, err
	}
	p := strconv.Itoa(port)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", p, "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() { _ = cmd.Process.Kill(); <-exited }
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second)
		if err == nil {
			c.Close()
			return "http://127.0.0.1:" + p, stop, nil
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("dynalite exited: %s", logs.String())
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("dynalite is not listening after 30 s")
		}
	}
}

// loadSample creates table on the DynamoDB at url and writes the built-in
// sample data into it.
func loadSample(ctx context.Context, url, table string) error {
	client := dynamodb.NewFromConfig(aws.Config{
		Region:       "eu-central-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	})
	store := dynamo.New(client, table)
	if err := store.CreateTable(ctx); err != nil {
		return err
	}
	campaigns, _, err := csvload.LoadFS(sample.FS(), nil)
	if err != nil {
		return err
	}
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		var in []banner.Campaign
		for _, c := range campaigns {
			if c.Quarter == q {
				in = append(in, c)
			}
		}
		if _, err := store.PutQuarter(ctx, q, in); err != nil {
			return err
		}
	}
	return nil
}
