package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/lambdatest"
	"banners/internal/tracing/tracingtest"
)

// tracedFunction is the function name the traced test runs under.
const tracedFunction = "banners-api-traced-test"

// TestTracedLambda runs the real bootstrap under a stand-in for the Lambda
// Runtime API that hands each invocation a trace header, with Lambda's
// environment (AWS_XRAY_CONTEXT_MISSING=LOG_ERROR, the daemon's address,
// the function's name, a session token), the table on dynalite and the
// segments captured from UDP, and checks what an operator finds in X-Ray:
// the request's subsegment under the invocation's Parent, the annotations
// and their types, DynamoDB subsegments naming the table and the item,
// nothing sent for unsampled invocations, and no ERROR line from a
// generation read made outside any request. Its subtests are steps in the
// life of one function instance: run them together.
func TestTracedLambda(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	table := loadCampaign10(t, srv)
	const parent = "53995c3f42cd8ad8" // every invocation's Parent
	ddb := newDynamoRecorder(t, srv.URL, parent)
	daemon := tracingtest.Listen(t)
	fn := startRuntimeAPI(t, lambdatest.Build(t, "."), tracedFunction, []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + tracedFunction,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + tracedFunction,
		"AWS_REGION=" + dynamotest.Region,
		"AWS_DEFAULT_REGION=" + dynamotest.Region,
		"AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE00",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEXAMPLE",
		"AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
		"AWS_XRAY_DAEMON_ADDRESS=" + daemon.Addr(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + ddb.url,
		"TABLE_NAME=" + table,
		"CACHE_TTL=15m",
		"TZ=:UTC",
	})
	invoke := func(t *testing.T, event, traceHeader string) events.LambdaFunctionURLResponse {
		t.Helper()
		ev, err := os.ReadFile("testdata/" + event)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := fn.Invoke(ctx, invocation{Event: ev, TraceHeader: traceHeader})
		require.NoError(t, err)
		require.False(t, res.Error, "function error: %s", res.Payload)
		var resp events.LambdaFunctionURLResponse
		require.NoError(t, json.Unmarshal(res.Payload, &resp))
		return resp
	}
	header := func(root, sampled string) string { return "Root=" + root + ";Parent=" + parent + ";Sampled=" + sampled }
	const (
		rootMiss     = "1-6745a0c2-000000000000000000000001"
		rootAdTag    = "1-6745a0c2-000000000000000000000002"
		rootUnsample = "1-6745a0c2-000000000000000000000003"
		rootAfter    = "1-6745a0c2-000000000000000000000004"
	)
	// request checks the request subsegment of one sampled invocation.
	request := func(t *testing.T, root string, wantAnnotations map[string]any) tracingtest.Segment {
		t.Helper()
		seg := daemon.Next(t)
		require.Equal(t, root, seg.TraceID, "the next segment belongs to the next sampled invocation: %s", seg.JSON)
		require.Equal(t, app.SegmentName, seg.Name)
		require.Equal(t, "subsegment", seg.Type)
		require.Equal(t, parent, seg.ParentID, "under the invocation's Parent")
		require.Equal(t, wantAnnotations, seg.Annotations, "annotations and their JSON types")
		require.Equal(t, map[string]any{"cache": wantAnnotations["cache"]}, seg.Find("cache").Annotations)
		return seg
	}

	t.Run("cold miss reads the generation and the campaign", func(t *testing.T) {
		resp := invoke(t, "get-banners.json", header(rootMiss, "1"))
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		seg := request(t, rootMiss, map[string]any{"campaign_id": 10.0, "quarter": 2.0, "cache": "miss", "banners": 7.0, "status": 200.0})

		var got []map[string]any
		for _, sub := range seg.Find("cache").Subsegments {
			require.Equal(t, "DynamoDB", sub.Name, "only DynamoDB calls under the cache: %s", seg.JSON)
			require.Equal(t, "aws", sub.Namespace)
			require.Equal(t, table, sub.AWS["table_name"], "aws.table_name: %s", seg.JSON)
			require.Equal(t, "GetItem", sub.AWS["operation"])
			require.Equal(t, dynamotest.Region, sub.AWS["region"])
			require.Equal(t, map[string]any{"dynamodb": "GetItem"}, sub.Annotations)
			require.Equal(t, 200, sub.HTTP.Response.Status)
			key, _ := sub.Metadata["default"]["key"].(map[string]any)
			got = append(got, key)
		}
		require.Equal(t, []map[string]any{
			{"pk": dynamo.GenerationPK, "sk": "Q#2"}, // the quarter's generation, first read
			{"pk": "C#10", "sk": "Q#2"},              // the campaign
		}, got)
		reads := ddb.take()
		require.Len(t, reads, 2)
		for _, r := range reads {
			require.True(t, strings.HasPrefix(r.traceHeader, "Root="+rootMiss+";"), "the reads carry the trace downstream: %+v", r)
			require.True(t, r.traced, "under their subsegments: %+v", r)
		}
	})

	t.Run("ad tag hit", func(t *testing.T) {
		resp := invoke(t, "ad-tag.json", header(rootAdTag, "1"))
		require.Equal(t, http.StatusFound, resp.StatusCode, resp.Body)
		id, ok := strings.CutPrefix(resp.Headers["Location"], "/images/image_")
		id, ok2 := strings.CutSuffix(id, ".png")
		require.True(t, ok && ok2, "Location %q", resp.Headers["Location"])
		n, err := strconv.ParseInt(id, 10, 64)
		require.NoError(t, err)
		// The ad tag serves one banner of the seven selected, and says which.
		want := map[string]any{"campaign_id": 10.0, "quarter": 2.0, "cache": "hit", "banners": 1.0, "banner_id": float64(n), "status": 302.0}
		seg := request(t, rootAdTag, want)
		require.Nil(t, seg.Find("DynamoDB"), "a hit reads nothing: %s", seg.JSON)
	})

	// Unsampled invocations, until one finds the generation 5 s old and
	// reads it in the background, outside any request: with Lambda's
	// LOG_ERROR, an instrumented call there would log an X-Ray error.
	t.Run("unsampled invocations and a background generation read", func(t *testing.T) {
		deadline := time.Now().Add(30 * time.Second)
		for !ddb.sawBackgroundGeneration() {
			require.True(t, time.Now().Before(deadline), "no background generation read within 30 s")
			resp := invoke(t, "get-banners.json", header(rootUnsample, "0"))
			require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
			ddb.waitBackgroundGeneration(500 * time.Millisecond)
		}
	})

	t.Run("after the poll: nothing from unsampled invocations, no ERROR line", func(t *testing.T) {
		resp := invoke(t, "get-banners.json", header(rootAfter, "1"))
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		// The UDP documents of one process arrive in order: the next one
		// is this invocation's, so the unsampled ones sent nothing.
		seg := request(t, rootAfter, map[string]any{"campaign_id": 10.0, "quarter": 2.0, "cache": "hit", "banners": 7.0, "status": 200.0})
		require.Nil(t, seg.Find("DynamoDB"), "the generation was read in the background: %s", seg.JSON)

		// Its access log line is written before its response, and after
		// everything the background read could have logged.
		out, err := fn.WaitLine(func(line string) bool {
			return strings.Contains(line, `"msg":"request"`) && strings.Contains(line, rootAfter)
		}, 10*time.Second)
		require.NoError(t, err)
		requests := 0
		for line := range strings.Lines(out) {
			require.NotContains(t, line, `"level":"ERROR"`)
			require.NotContains(t, line, "X-Ray")
			var l map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &l), "a JSON line: %s", line)
			if l["msg"] != "request" {
				continue
			}
			requests++
			id, _ := l["trace_id"].(string)
			require.Contains(t, []string{rootMiss, rootAdTag, rootUnsample, rootAfter}, id, line)
			require.Equal(t, id != rootUnsample, l["sampled"], line)
		}
		require.GreaterOrEqual(t, requests, 4)
	})
}

// loadCampaign10 creates a table on srv holding campaign 10 in quarter 2
// with seven converting banners (101 to 107), and returns its name.
func loadCampaign10(t *testing.T, srv *dynamotest.Server) string {
	t.Helper()
	client := srv.Client()
	table := srv.NewTable(t, client)
	c := banner.NewTally()
	for id := int64(101); id <= 107; id++ {
		c.Revenue[id] = id * 1000
		c.Banners[id] = struct{}{}
	}
	_, err := dynamo.New(client, table).PutQuarter(context.Background(), 2, []banner.Campaign{c.Campaign(banner.Key{CampaignID: 10, Quarter: 2})})
	require.NoError(t, err)
	return table
}

// dynamoRead is a GetItem the function sent.
type dynamoRead struct {
	pk, sk      string
	traceHeader string // X-Amzn-Trace-Id
	// traced is true when the header names a subsegment as Parent. The
	// header of an untraced call is the invocation's own, the last one
	// (the SDK's recursion detection copies _X_AMZN_TRACE_ID into it), or
	// none.
	traced bool
}

// dynamoRecorder is a reverse proxy in front of the DynamoDB server that
// records the function's GetItem calls.
type dynamoRecorder struct {
	url        string
	parent     string // the invocations' Parent
	mu         sync.Mutex
	reads      []dynamoRead
	background chan struct{} // closed at the first untraced read of quarter 2's generation
	closeOnce  sync.Once
}

func newDynamoRecorder(t *testing.T, target, parent string) *dynamoRecorder {
	u, err := url.Parse(target)
	require.NoError(t, err)
	d := &dynamoRecorder{parent: parent, background: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetItem") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			d.record(t, body, r.Header.Get("X-Amzn-Trace-Id"))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return d
}

func (d *dynamoRecorder) record(t *testing.T, body []byte, traceHeader string) {
	var in struct {
		Key map[string]struct{ S string }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		t.Errorf("GetItem body: %v: %s", err, body)
		return
	}
	r := dynamoRead{pk: in.Key["pk"].S, sk: in.Key["sk"].S, traceHeader: traceHeader,
		traced: strings.Contains(traceHeader, ";Parent=") && !strings.Contains(traceHeader, ";Parent="+d.parent)}
	d.mu.Lock()
	d.reads = append(d.reads, r)
	d.mu.Unlock()
	// Quarter 2's, which the events ask for (pre-warm may read the next
	// quarter's when the test runs just before a boundary).
	if r.pk == dynamo.GenerationPK && r.sk == "Q#2" && !r.traced {
		d.closeOnce.Do(func() { close(d.background) })
	}
}

// take returns the reads recorded since the last take.
func (d *dynamoRecorder) take() []dynamoRead {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.reads
	d.reads = nil
	return r
}

func (d *dynamoRecorder) sawBackgroundGeneration() bool {
	select {
	case <-d.background:
		return true
	default:
		return false
	}
}

// waitBackgroundGeneration waits up to wait for the first untraced read
// of quarter 2's generation.
func (d *dynamoRecorder) waitBackgroundGeneration(wait time.Duration) {
	select {
	case <-d.background:
	case <-time.After(wait):
	}
}
