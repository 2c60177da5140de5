package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/httpapi"
	"banners/internal/images"
	"banners/internal/sample"
	"banners/internal/server"
	"banners/site"
)

// counting counts the reads that reach the store behind the cache.
type counting struct {
	next  httpapi.Store
	reads atomic.Int64
}

func (c *counting) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	c.reads.Add(1)
	return c.next.Campaign(ctx, k)
}

// TestSoak runs the local server on the DynamoDB store (dynalite) through
// the cache, under ten times the assignment's rate (50,000 requests a
// minute), and checks zero errors and wrong answers, and that goroutines
// and memory stay flat. SOAK_DURATION sets the length (default 8s; `make
// soak` runs minutes). The cache TTL is short so that fills keep reaching
// DynamoDB during the run.
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

	// DynamoDB holding the sample dataset, written the way ingest writes it.
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	// Our own transport, so its idle connections can be closed at the end.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	client := srv.Client(func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	table := srv.NewTable(t, client)
	store := dynamo.New(client, table)
	campaigns, _, err := csvload.LoadFS(sample.FS(), nil)
	require.NoError(t, err)
	byQuarter := map[banner.Quarter][]banner.Campaign{}
	for _, c := range campaigns {
		byQuarter[c.Quarter] = append(byQuarter[c.Quarter], c)
	}
	for q, cs := range byQuarter {
		_, err := store.PutQuarter(t.Context(), q, cs)
		require.NoError(t, err)
	}

	// The local server, wired as functions/api -table wires it.
	log := slog.New(slog.DiscardHandler)
	reads := &counting{next: store}
	c, err := cache.New(reads, cache.Config{TTL: time.Second, Logger: log})
	require.NoError(t, err)
	defer c.Close()
	// Goroutines before the server starts: after the load and shutdown,
	// the count must come back here, or something leaked.
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			API: httpapi.New(c, httpapi.Options{Logger: log}), Images: images.Placeholders{}, Site: site.FS, Logger: log,
		}, ln)
	}()
	stopped := false
	shutdown := func() {
		if !stopped {
			stopped = true
			stop()
			require.NoError(t, <-done)
		}
	}
	defer shutdown()

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

	cfg, err := parseFlags([]string{"-target", "http://" + ln.Addr().String(), "-rate", "50000/1m",
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
	// so they are checked after the load: once the server has shut down,
	// the count returns to where it was before it started.
	require.GreaterOrEqual(t, len(samples), 4)
	first, last := samples[1], samples[len(samples)-1]
	peak := 0
	for _, s := range samples {
		peak = max(peak, s.goroutines)
	}
	require.LessOrEqual(t, last.heap, 2*first.heap+32<<20, "heap %d → %d bytes", first.heap, last.heap)
	shutdown()
	tr.CloseIdleConnections()
	after := runtime.NumGoroutine()
	require.Eventually(t, func() bool {
		after = runtime.NumGoroutine()
		return after <= before+10
	}, 15*time.Second, 50*time.Millisecond, "goroutines %d before the server, %d after its shutdown", before, after)

	hit := 1 - float64(reads.reads.Load())/float64(m.Requests)
	summary := fmt.Sprintf("soak %s at 50,000/min: %d requests, %.0f/s, p99 %s, 0 errors, 0 wrong; "+
		"DynamoDB reads %d (cache hit ratio %.2f%%); goroutines %d before, peak %d under load, %d after shutdown; heap %.1f → %.1f MB",
		duration, m.Requests, m.Throughput, m.Latencies.P99, reads.reads.Load(), 100*hit,
		before, peak, after, float64(first.heap)/(1<<20), float64(last.heap)/(1<<20))
	t.Log(summary)
	if out := os.Getenv("SOAK_REPORT"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(summary+"\n"), 0o644))
	}
}
