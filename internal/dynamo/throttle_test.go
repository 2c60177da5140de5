package dynamo_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/testkit"
)

// throttler is an aws.HTTPClient that answers the first throttle
// BatchWriteItem requests (all of them while always is set) as DynamoDB
// answers a write beyond the table's throughput, and sends every other
// request.
type throttler struct {
	throttle atomic.Int64
	always   atomic.Bool
	batches  atomic.Int64 // BatchWriteItem requests seen
}

func (c *throttler) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".BatchWriteItem") {
		c.batches.Add(1)
		if c.always.Load() || c.throttle.Add(-1) >= 0 {
			body := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",` +
				`"message":"The level of configured provisioned throughput for the table was exceeded."}`
			return &http.Response{
				StatusCode: http.StatusBadRequest,
				Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
				Body:       io.NopCloser(strings.NewReader(body)),
				Request:    req,
			}, nil
		}
	}
	return http.DefaultClient.Do(req)
}

// TestThrottledLoad: throttled batches are waited out and re-sent by the
// store, not by the SDK, so every request is counted and the load says how
// long it waited; a load throttled past its deadline fails naming the
// quarter and the cause, and the previous data stays served.
func TestThrottledLoad(t *testing.T) {
	a, b := campaigns(1, 60), campaigns(1, 40)
	dynamotest.Each(t, func(t *testing.T, srv *dynamotest.Server) {
		ctx := t.Context()
		th := &throttler{}
		th.throttle.Store(3)
		s := dynamo.New(srv.Client(func(o *dynamodb.Options) { o.HTTPClient = th }), srv.NewTable(t, srv.Client()))
		st, err := s.PutQuarter(ctx, 1, a)
		require.NoError(t, err)
		require.Equal(t, 60, st.Put)
		require.Equal(t, 3, st.Retries)
		require.Equal(t, int(th.batches.Load()), st.Batches, "the SDK re-sent nothing the store did not count")
		require.Positive(t, st.Throttled)
		testkit.RequireCampaigns(t, s, a)
		gen, err := s.Generation(ctx, 1)
		require.NoError(t, err)

		th.always.Store(true)
		// Long enough for the load's reads before its first batch on a
		// busy machine; the rest of it is spent waiting out throttling.
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = s.PutQuarter(short, 1, b)
		require.ErrorIs(t, err, dynamo.ErrThrottled)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "put quarter 1: ")
		require.ErrorContains(t, err, "throttled for ")
		got, err := s.Generation(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, gen, got, "readers are not moved on to data not all written")
		testkit.RequireCampaigns(t, s, a[40:]) // not yet deleted

		th.always.Store(false)
		th.throttle.Store(0)
		st, err = s.PutQuarter(ctx, 1, b)
		require.NoError(t, err, "the failed load gave its lease back")
		require.Equal(t, 20, st.Deleted)
		testkit.RequireCampaigns(t, s, b)
		_, err = s.Campaign(ctx, banner.Key{CampaignID: 50, Quarter: 1})
		require.ErrorIs(t, err, banner.ErrNotFound)
	})
}
