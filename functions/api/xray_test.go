package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/stretchr/testify/require"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/funcurl"
	"banners/internal/lambdatest"
	"banners/internal/testkit"
	"banners/internal/tracing"
	"banners/internal/tracing/tracingtest"
)

// dataset is what the end-to-end and X-Ray tests load: campaign 10 in
// quarter 2 with seven converting banners (so it serves all seven) and
// campaign 20 in quarter 2 with one.
func dataset() []banner.Campaign {
	c10 := banner.NewTally()
	for id := int64(101); id <= 107; id++ {
		c10.Revenue[id] = id * 1000
		c10.Banners[id] = struct{}{}
	}
	c20 := banner.NewTally()
	c20.Revenue[201] = 5
	c20.Banners[201] = struct{}{}
	return []banner.Campaign{
		c10.Campaign(banner.Key{CampaignID: 10, Quarter: 2}),
		c20.Campaign(banner.Key{CampaignID: 20, Quarter: 2}),
	}
}

// loadDataset creates a table on srv and loads dataset into it with the
// dynamo package's put path; it returns the table's name.
func loadDataset(t testing.TB, srv *dynamotest.Server) string {
	t.Helper()
	client := srv.Client()
	table := srv.NewTable(t, client)
	_, err := dynamo.New(client, table).PutQuarter(context.Background(), 2, dataset())
	require.NoError(t, err)
	return table
}

// tracedStack is the traced serving stack over DynamoDB on dynalite, with
// a switch that makes GetItem fail.
type tracedStack struct {
	api   http.Handler
	cache *cache.Cache
	clock *testkit.Clock
	down  *atomic.Bool
}

func newTracedStack(t *testing.T, srv *dynamotest.Server, table string) tracedStack {
	t.Helper()
	down := new(atomic.Bool)
	cfg := srv.Config()
	cfg.HTTPClient = &dynamotest.HookClient{Operation: "GetItem", Before: func(int) error {
		if down.Load() {
			return errors.New("dial tcp: connection refused")
		}
		return nil
	}}
	tracing.InstrumentAWS(&cfg)
	clk := testkit.NewClock(time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC)) // quarter 2
	api, err := app.New(dynamo.New(dynamodb.NewFromConfig(cfg), table), app.Config{
		Cache:  cache.Config{Now: clk.Now, ReadTimeout: 500 * time.Millisecond},
		Traced: true,
		Now:    clk.Now,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(api.Close)
	return tracedStack{api: api.Handler, cache: api.Cache, clock: clk, down: down}
}

// traceCase is one request of the X-Ray tests and what its segment must
// show.
type traceCase struct {
	name string
	// warm serves the campaign once before (its segment is skipped), on a
	// cache of its own: each case stands alone.
	warm            bool
	advance         time.Duration
	down            bool
	campaignID      int64
	wantStatus      int
	wantAnnotations map[string]any
	wantDynamoDB    bool // a DynamoDB GetItem subsegment under the cache's
	wantFault       bool
	// example saves the captured segment for the docs (see writeExample).
	example bool
}

var traceCases = []traceCase{
	{"miss", false, 0, false, 10, 200, map[string]any{"campaign_id": 10.0, "quarter": 2.0, "cache": "miss", "banners": 7.0, "status": 200.0}, true, false, false},
	{"hit", true, 0, false, 10, 200, map[string]any{"campaign_id": 10.0, "quarter": 2.0, "cache": "hit", "banners": 7.0, "status": 200.0}, false, false, false},
	{"stale", true, 61 * time.Second, true, 10, 200, map[string]any{"campaign_id": 10.0, "quarter": 2.0, "cache": "stale", "banners": 7.0, "status": 200.0}, true, false, true},
	{"unavailable", false, 0, true, 20, 503, map[string]any{"campaign_id": 20.0, "quarter": 2.0, "cache": "miss", "status": 503.0}, true, true, false},
}

// checkSegment asserts what the request (sub)segment seg shows for tc.
func checkSegment(t *testing.T, tc traceCase, seg tracingtest.Segment) {
	t.Helper()
	require.Equal(t, app.SegmentName, seg.Name)
	require.Equal(t, tc.wantAnnotations, seg.Annotations)
	require.Equal(t, tc.wantStatus, seg.HTTP.Response.Status)
	require.Equal(t, tc.wantFault, seg.Fault)

	lookup := seg.Find("cache")
	require.NotNil(t, lookup, "cache subsegment in %s", seg.JSON)
	require.Equal(t, map[string]any{"cache": tc.wantAnnotations["cache"]}, lookup.Annotations)
	ddb := lookup.Find("DynamoDB")
	if !tc.wantDynamoDB {
		require.Nil(t, ddb, "DynamoDB subsegment in %s", seg.JSON)
		return
	}
	require.NotNil(t, ddb, "DynamoDB subsegment in %s", seg.JSON)
	require.Equal(t, "aws", ddb.Namespace)
	require.Equal(t, "GetItem", ddb.AWS["operation"])
	require.Equal(t, tc.down, ddb.Fault)
}

// runTraceCases runs each trace case on a fresh traced stack over one
// dynalite table: send serves a request for a campaign in quarter 2 and
// returns its status; check asserts what is particular to the setting.
func runTraceCases(t *testing.T, daemon *tracingtest.Daemon, wrap func(http.Handler) http.Handler,
	send func(t *testing.T, h http.Handler, campaignID int64) int, check func(t *testing.T, seg tracingtest.Segment)) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	table := loadDataset(t, srv)
	for _, tc := range traceCases {
		t.Run(tc.name, func(t *testing.T) {
			st := newTracedStack(t, srv, table)
			h := wrap(st.api)
			if tc.warm {
				require.Equal(t, http.StatusOK, send(t, h, tc.campaignID))
				st.cache.Wait()
				daemon.Next(t)
			}
			st.clock.Add(tc.advance)
			st.down.Store(tc.down)
			require.Equal(t, tc.wantStatus, send(t, h, tc.campaignID))
			st.cache.Wait()

			seg := daemon.Next(t)
			check(t, seg)
			checkSegment(t, tc, seg)
			if tc.example {
				writeExample(t, seg)
			}
		})
	}
}

func TestXRayLocal(t *testing.T) {
	daemon := tracingtest.Start(t)
	wrap := func(h http.Handler) http.Handler { return tracing.Handler(app.SegmentName, h) }
	send := func(t *testing.T, h http.Handler, campaignID int64) int {
		ts := httptest.NewServer(h)
		defer ts.Close()
		resp, err := http.Get(ts.URL + "/api/campaigns/" + itoa(campaignID) + "/banners?quarter=2")
		require.NoError(t, err)
		resp.Body.Close()
		require.NotEmpty(t, resp.Header.Get("X-Amzn-Trace-Id"))
		return resp.StatusCode
	}
	runTraceCases(t, daemon, wrap, send, func(t *testing.T, seg tracingtest.Segment) {
		require.Empty(t, seg.ParentID)
		require.Equal(t, "GET", seg.HTTP.Request.Method)
	})
}

func TestXRayLambda(t *testing.T) {
	daemon := tracingtest.Start(t)
	const root, parent = "1-6745a0c2-3f0e1d2c4b5a69788796a5b4", "53995c3f42cd8ad8"
	wrap := func(h http.Handler) http.Handler { return tracing.LambdaHandler(app.SegmentName, h) }
	send := func(t *testing.T, h http.Handler, campaignID int64) int {
		ev := lambdatest.URLEvent(t, "get-banners.json")
		ev.RawPath = "/api/campaigns/" + itoa(campaignID) + "/banners"
		// The key and value the Lambda runtime library puts in each
		// invocation's context, and the SDK reads.
		//lint:ignore SA1029 the Lambda runtime's own string key, which the SDK reads
		ctx := context.WithValue(context.Background(), xray.LambdaTraceHeaderKey,
			"Root="+root+";Parent="+parent+";Sampled=1")
		resp, err := funcurl.New(h).Handle(ctx, ev)
		require.NoError(t, err)
		return resp.StatusCode
	}
	runTraceCases(t, daemon, wrap, send, func(t *testing.T, seg tracingtest.Segment) {
		require.Equal(t, "subsegment", seg.Type)
		require.Equal(t, root, seg.TraceID)
		require.Equal(t, parent, seg.ParentID)
	})
}

func TestLambdaWithoutTraceHeaderIsSilent(t *testing.T) {
	daemon := tracingtest.Start(t)
	t.Setenv("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR") // as Lambda sets it
	var logs testkit.Buffer
	require.NoError(t, tracing.Configure(tracing.Config{DaemonAddr: daemon.Addr(), Sampling: tracingtest.SampleAll(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	st := newTracedStack(t, srv, loadDataset(t, srv))
	h := funcurl.New(tracing.LambdaHandler(app.SegmentName, st.api))

	resp, err := h.Handle(context.Background(), lambdatest.URLEvent(t, "get-banners.json"))
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	daemon.None(t, 200*time.Millisecond)
	require.Empty(t, logs.String())
}

// writeExample saves a captured segment for docs/cache-and-tracing.md when
// XRAY_EXAMPLE names a file.
func writeExample(t *testing.T, seg tracingtest.Segment) {
	path := os.Getenv("XRAY_EXAMPLE")
	if path == "" {
		return
	}
	var v any
	require.NoError(t, json.Unmarshal(seg.JSON, &v))
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
