package cache_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/httpapi"
	"banners/internal/testkit"
)

// throttler answers every GetItem with DynamoDB's throttling error while on,
// as DynamoDB does when a partition runs hot; otherwise it passes requests
// on to the server.
type throttler struct {
	on        atomic.Bool
	throttled atomic.Int64
}

func (th *throttler) Do(req *http.Request) (*http.Response, error) {
	if th.on.Load() && strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".GetItem") {
		th.throttled.Add(1)
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate of requests exceeds the allowed throughput."}`
		return &http.Response{
			StatusCode: http.StatusBadRequest,
			Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"throttled"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    req,
		}, nil
	}
	return http.DefaultClient.Do(req)
}

// TestDynamoDBThrottling throttles every read for a while, with the
// production retryer: the SDK retries with backoff, the cache's read
// deadline bounds the wait, warm keys are served stale, cold keys get 503
// with Retry-After, and everything recovers when the throttling stops.
func TestDynamoDBThrottling(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	th := &throttler{}
	client := srv.Client(func(o *dynamodb.Options) {
		o.HTTPClient = th
		o.Retryer = dynamo.NewRetryer()
	})
	store := loadTable(t, srv, client)
	clk := testkit.NewClock(time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC))
	var o outcomes
	const readTimeout = time.Second
	c := newCache(t, store, cache.Config{Now: clk.Now, ReadTimeout: readTimeout, RetryInterval: time.Nanosecond, Annotate: o.annotate})
	h := httpapi.New(c, httpapi.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})

	tests := []struct {
		name        string
		advance     time.Duration
		throttle    bool
		id          string
		wantStatus  int
		wantOutcome string
	}{
		{"warm up campaign 10", 0, false, "10", 200, cache.Miss},
		{"throttled: warm key served stale", 61 * time.Second, true, "10", 200, cache.Stale},
		{"throttled: cold key 503", 0, true, "20", 503, cache.Miss},
		{"throttling over: warm key fresh again", time.Second, false, "10", 200, cache.Miss},
		{"throttling over: cold key served", 0, false, "20", 200, cache.Miss},
	}
	for _, tt := range tests {
		clk.Add(tt.advance)
		th.on.Store(tt.throttle)
		before := th.throttled.Load()
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/campaigns/"+tt.id+"/banners?quarter=2", nil))
		took := time.Since(start)
		c.Wait()
		require.Equal(t, tt.wantStatus, rec.Code, tt.name)
		require.Equal(t, tt.wantOutcome, o.last, tt.name)
		if tt.throttle {
			require.Positive(t, th.throttled.Load()-before, "%s: the read was throttled", tt.name)
			// Bounded by the read deadline, not by the retryer's ten attempts
			// with up to 5 s of backoff each (generous: the machine is shared).
			require.Less(t, took, readTimeout+4*time.Second, tt.name)
		}
		if tt.wantStatus == http.StatusServiceUnavailable {
			require.Equal(t, "5", rec.Header().Get("Retry-After"), tt.name)
		}
	}
}
