package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/ingest"
	"banners/internal/sample"
	"banners/internal/server"
)

// counting counts the reads that reach the store behind the cache, and
// those of them that failed, and keeps each key's last error.
type counting struct {
	next         banner.Store
	reads, fails atomic.Int64
	lastErr      sync.Map // banner.Key → error
}

func (c *counting) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	c.reads.Add(1)
	camp, err := c.next.Campaign(ctx, k)
	if err != nil && !errors.Is(err, banner.ErrNotFound) {
		c.fails.Add(1)
		c.lastErr.Store(k, err)
	}
	return camp, err
}

// errOf returns the last error a read of k failed with, nil for none.
func (c *counting) errOf(k banner.Key) error {
	err, _ := c.lastErr.Load(k)
	e, _ := err.(error)
	return e
}

// onDynamo is the local server on the DynamoDB store (dynalite holding the
// sample dataset, written the way ingest writes it) through the cache, as
// `functions/api/local -table` wires it (server.NewLocal). DynamoDB is reached through a proxy, so
// that a test can take it away and bring it back.
type onDynamo struct {
	// URL is the server's base URL.
	URL string
	// Proxy stands between the store and dynalite.
	Proxy *dynamotest.Proxy
	// Reads counts the reads that reach DynamoDB.
	Reads *counting
	// Before is the number of goroutines before the server started.
	Before int

	tr      *http.Transport
	stop    func() error
	stopped bool
}

// startOnDynamo starts it with the cache configured by cfg.
func startOnDynamo(t *testing.T, cfg cache.Config) *onDynamo {
	t.Helper()
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	d := &onDynamo{Proxy: dynamotest.NewProxy(t, strings.TrimPrefix(srv.URL, "http://"))}
	// Our own transport, so its idle connections can be closed at the end;
	// the production retryer, as in Lambda.
	d.tr = http.DefaultTransport.(*http.Transport).Clone()
	client := srv.Client(func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: d.tr}
		o.BaseEndpoint = aws.String("http://" + d.Proxy.Addr)
		o.Retryer = dynamo.NewRetryer()
	})
	table := srv.NewTable(t, client)
	store := dynamo.New(client, table)
	_, err := ingest.LoadFS(t.Context(), store, sample.FS(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)

	d.Reads = &counting{next: store}
	scfg, api, err := server.NewLocal(server.Local{Store: d.Reads, Cache: cfg}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	d.Before = runtime.NumGoroutine()
	d.URL, d.stop, err = serve(scfg)
	require.NoError(t, err)
	t.Cleanup(func() { d.Shutdown(t); api.Close() })
	return d
}

// Shutdown stops the server, closes idle connections to DynamoDB and
// checks that the goroutines come back to their count before the server
// started: anything more leaked.
func (d *onDynamo) Shutdown(t *testing.T) (after int) {
	t.Helper()
	if d.stopped {
		return runtime.NumGoroutine()
	}
	d.stopped = true
	require.NoError(t, d.stop())
	d.tr.CloseIdleConnections()
	require.Eventually(t, func() bool {
		after = runtime.NumGoroutine()
		return after <= d.Before+10
	}, 30*time.Second, 50*time.Millisecond, "goroutines %d before the server, %d after its shutdown", d.Before, after)
	return after
}

// TestSoak runs the local server on DynamoDB through the cache under ten
// times the assignment's rate (50,000 requests a minute), and checks zero
// errors and wrong answers, a flat heap, and no goroutine left behind.
// SOAK_DURATION sets the length (default 8s; `make soak` runs minutes).
// The cache TTL is short so that fills keep reaching DynamoDB.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of load")
	}
	duration := 8 * time.Second
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		duration = d
	}
	srv := startOnDynamo(t, cache.Config{TTL: time.Second})

	// Sample goroutines and the live heap once a second.
	type sampleAt struct {
		goroutines int
		heap       uint64
	}
	var (
		mu      sync.Mutex
		samples []sampleAt
	)
	monitor, stopMonitor := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-monitor.Done():
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mu.Lock()
				samples = append(samples, sampleAt{runtime.NumGoroutine(), ms.HeapAlloc})
				mu.Unlock()
			}
		}
	}()

	cfg, err := parseFlags([]string{"-target", srv.URL, "-rate", "50000/1m",
		"-duration", duration.String(), "-mix", "0.2", "-visitors", "500", "-out", t.TempDir()}, io.Discard)
	require.NoError(t, err)
	rep, err := run(context.Background(), cfg, io.Discard, io.Discard)
	stopMonitor()
	wg.Wait()
	require.NoError(t, err)
	require.Empty(t, rep.Failures)
	require.Len(t, rep.Attacks, 1)
	ar := rep.Attacks[0]
	m := ar.Metrics
	require.Zero(t, ar.Wrong, "wrong answers: %v %v", ar.Violations, ar.Examples)
	require.Equal(t, int(m.Requests), m.StatusCodes["200"]+m.StatusCodes["302"], "codes %v", m.StatusCodes)
	require.Empty(t, m.Errors)

	// Memory is flat: the live heap at the end is no larger than early on,
	// give or take the GC's timing. Goroutines under load follow the number
	// of connections the generator opens (more when the machine is busy),
	// so they are checked after the load, by Shutdown.
	require.GreaterOrEqual(t, len(samples), 4)
	first, last := samples[1], samples[len(samples)-1]
	peak := 0
	for _, s := range samples {
		peak = max(peak, s.goroutines)
	}
	require.LessOrEqual(t, last.heap, 2*first.heap+32<<20, "heap %d → %d bytes", first.heap, last.heap)
	after := srv.Shutdown(t)

	reads := srv.Reads.reads.Load()
	hit := 1 - float64(reads)/float64(m.Requests)
	summary := fmt.Sprintf("soak %s at 50,000/min: %d requests, %.0f/s, p99 %s, 0 errors, 0 wrong; "+
		"DynamoDB reads %d (cache hit ratio %.2f%%); goroutines %d before, peak %d under load, %d after shutdown; heap %.1f → %.1f MB",
		duration, m.Requests, m.Throughput, m.Latencies.P99, reads, 100*hit,
		srv.Before, peak, after, float64(first.heap)/(1<<20), float64(last.heap)/(1<<20))
	t.Log(summary)
	if out := os.Getenv("SOAK_REPORT"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(summary+"\n"), 0o644))
	}
}

// TestDynamoDBGoneUnderLoad takes DynamoDB away in the middle of a load at
// ten times the assignment's rate: every warm key keeps being served
// (stale), a cold key fails with 503 and Retry-After once its read's
// deadline passes, and once DynamoDB is back the cold key is served again
// without a restart, and nothing leaks. Each step waits for an event
// (answers checked, reads counted at the store), not for a clock: the load
// runs until the test ends it.
func TestDynamoDBGoneUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of load")
	}
	const readTimeout = 500 * time.Millisecond
	srv := startOnDynamo(t, cache.Config{TTL: time.Second, ReadTimeout: readTimeout})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
		resp.Body.Close()
		return resp
	}
	// Warm every key the load will ask for.
	for id := 1; id <= 50; id++ {
		for q := 1; q <= 4; q++ {
			require.Equal(t, http.StatusOK, get(fmt.Sprintf("/api/campaigns/%d/banners?quarter=%d", id, q)).StatusCode)
		}
	}

	// The duration is a backstop: the test ends the load with Until.
	cfg, err := parseFlags([]string{"-target", srv.URL, "-rate", "50000/1m", "-duration", "3m",
		"-campaigns", "1-50", "-mix", "0.2", "-visitors", "200", "-out", t.TempDir()}, io.Discard)
	require.NoError(t, err)
	until := make(chan struct{})
	var answered atomic.Int64
	cfg.Until, cfg.Answered = until, &answered
	type result struct {
		rep *report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := run(context.Background(), cfg, io.Discard, io.Discard)
		done <- result{rep, err}
	}()

	// waitFor polls cond until it holds; the load ending first fails the
	// test.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case res := <-done:
				t.Fatalf("the load ended (err %v) before %s", res.err, what)
			case <-tick.C:
			}
		}
	}
	// Take DynamoDB away once the load is refreshing keys from it (the TTL
	// is 1 s), and bring it back after many failed reads: the warm keys
	// have then gone stale under load.
	waitFor("the load is under way", func() bool { return answered.Load() >= 500 })
	readsWarm := srv.Reads.reads.Load()
	waitFor("the load refreshes keys from DynamoDB", func() bool { return srv.Reads.reads.Load() >= readsWarm+20 })
	srv.Proxy.Stop()
	waitFor("reads fail while DynamoDB is gone", func() bool { return srv.Reads.fails.Load() >= 10 })
	start := time.Now()
	cold := get("/api/campaigns/51/banners?quarter=1")
	coldTook := time.Since(start)
	require.Equal(t, http.StatusServiceUnavailable, cold.StatusCode, "a cold key while DynamoDB is gone")
	require.Equal(t, "5", cold.Header.Get("Retry-After"))
	// The read's deadline ended it, not the retryer's ten attempts
	// (seconds of backoff).
	coldErr := srv.Reads.errOf(banner.Key{CampaignID: 51, Quarter: 1})
	require.ErrorIs(t, coldErr, context.DeadlineExceeded, "a cold key fails at the read deadline")
	waitFor("more keys go stale", func() bool { return srv.Reads.fails.Load() >= 30 })
	answeredGone := answered.Load()
	srv.Proxy.Start(t)
	readsBack := srv.Reads.reads.Load()
	close(until)

	res := <-done
	require.NoError(t, res.err)
	ar := res.rep.Attacks[0]
	m := ar.Metrics
	require.Zero(t, ar.Wrong, "wrong answers: %v %v", ar.Violations, ar.Examples)
	require.Equal(t, int(m.Requests), m.StatusCodes["200"]+m.StatusCodes["302"], "warm keys are always served: codes %v", m.StatusCodes)

	// Recovery: the cold key is served again, without a restart. It is
	// asked until it is: reads sent while DynamoDB was away may still be
	// queued at dynalite on a busy machine, and each answer is at most the
	// read deadline away. The bound only ends a test that never recovers.
	var code int
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if code = get("/api/campaigns/51/banners?quarter=1").StatusCode; code == http.StatusOK {
			break
		}
	}
	require.Equal(t, http.StatusOK, code, "the cold key is served once DynamoDB is back (last error %v; reads %d, failed %d)",
		srv.Reads.errOf(banner.Key{CampaignID: 51, Quarter: 1}), srv.Reads.reads.Load(), srv.Reads.fails.Load())
	require.Greater(t, srv.Reads.reads.Load(), readsBack, "reads reach DynamoDB again once it is back")
	failsBack := srv.Reads.fails.Load()
	after := srv.Shutdown(t)
	t.Logf("DynamoDB gone for %d failed reads under a load at 50,000/min: %d requests (%d answered by then), codes %v, p99 %s; cold key answered 503 in %s; goroutines %d before, %d after",
		failsBack, m.Requests, answeredGone, m.StatusCodes, m.Latencies.P99, coldTook.Round(time.Millisecond), srv.Before, after)
}
