package cache_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
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
	"banners/internal/httpapi"
	"banners/internal/testkit"
)

// loadTable creates a table on srv holding campaigns 10 and 20 in
// quarter 2, and returns a store on it that reads through client.
func loadTable(t *testing.T, srv *dynamotest.Server, client *dynamodb.Client) *dynamo.Store {
	t.Helper()
	table := srv.NewTable(t, srv.Client())
	camps := []banner.Campaign{
		{Key: banner.Key{CampaignID: 10, Quarter: 2}, Converting: 1, Earners: []banner.Earner{{BannerID: 101, Revenue: 5}}},
		{Key: banner.Key{CampaignID: 20, Quarter: 2}, Converting: 1, Earners: []banner.Earner{{BannerID: 201, Revenue: 7}}},
	}
	_, err := dynamo.New(srv.Client(), table).PutQuarter(context.Background(), 2, camps)
	require.NoError(t, err)
	return dynamo.New(client, table)
}

func TestConcurrentMissesReadOnceFromDynamoDB(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	var gets atomic.Int64
	hook := &dynamotest.HookClient{Operation: "GetItem", Before: func(int) error {
		gets.Add(1)
		time.Sleep(50 * time.Millisecond) // keep the read in flight while the others arrive
		return nil
	}}
	store := loadTable(t, srv, srv.Client(func(o *dynamodb.Options) { o.HTTPClient = hook }))
	c := newCache(t, store, cache.Config{})

	const n = 100
	var start, done sync.WaitGroup
	start.Add(1)
	errs := make([]error, n)
	for i := range n {
		done.Go(func() {
			start.Wait()
			_, errs[i] = c.Campaign(context.Background(), warm)
		})
	}
	start.Done()
	done.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), gets.Load())
}

// TestDynamoDBOutage stops moto mid-run: warm keys are still served
// (stale), cold keys get 503, and both are served fresh again once it is
// back. The server is cut off by closing the proxy in front of it on its
// port, which to the client is the same as the process going away (refused
// connections, reset keep-alives), while the data survives for recovery.
func TestDynamoDBOutage(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Moto)
	p := dynamotest.NewProxy(t, srv.URL[len("http://"):])
	client := dynamodb.NewFromConfig(srv.Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://" + p.Addr)
	})
	store := loadTable(t, srv, client)
	clk := testkit.NewClock(time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC))
	var o outcomes
	c := newCache(t, store, cache.Config{Now: clk.Now, ReadTimeout: 500 * time.Millisecond, Annotate: o.annotate})
	h := httpapi.New(c, httpapi.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})

	get := func(id string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/campaigns/"+id+"/banners?quarter=2", nil))
		c.Wait()
		return rec.Code, rec.Header().Get("Retry-After")
	}
	type step struct {
		name        string
		advance     time.Duration
		up          bool
		id          string
		wantStatus  int
		wantOutcome string
	}
	steps := []step{
		{"warm up campaign 10", 0, true, "10", 200, cache.Miss},
		{"moto gone: warm key served stale", 61 * time.Second, false, "10", 200, cache.Stale},
		{"moto gone: cold key 503", 0, false, "20", 503, cache.Miss},
		{"moto back: warm key fresh again", 2 * time.Second, true, "10", 200, cache.Miss},
		{"moto back: cold key served", 0, true, "20", 200, cache.Miss},
		{"then a hit", 0, true, "20", 200, cache.Hit},
	}
	for _, st := range steps {
		clk.Add(st.advance)
		if st.up {
			p.Start(t)
		} else {
			p.Stop()
		}
		gotStatus, retryAfter := get(st.id)
		require.Equal(t, st.wantStatus, gotStatus, st.name)
		require.Equal(t, st.wantOutcome, o.last, st.name)
		if st.wantStatus == 503 {
			require.Equal(t, "5", retryAfter, st.name)
		}
	}
}
