package cache_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/httpapi"
)

// topTen returns campaign id of quarter 2 with twelve converting banners
// numbered from first, the best first: the API serves the first ten.
func topTen(id, first int64) banner.Campaign {
	c := banner.Campaign{Key: banner.Key{CampaignID: id, Quarter: 2}, Converting: 12}
	for i := range int64(12) {
		c.Earners = append(c.Earners, banner.Earner{BannerID: first + i, Revenue: 9_000_000 - i})
	}
	return c
}

// TestReingestServedWithin10s runs the cache with a 15-minute TTL (and a
// 15-minute negative TTL) over dynalite, through the HTTP handler: after a
// re-ingest, the changed top 10 of a campaign, and a campaign that was not
// there before, are served within 10 s of PutQuarter returning.
func TestReingestServedWithin10s(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	client := srv.Client()
	store := dynamo.New(client, srv.NewTable(t, client))
	ctx := t.Context()
	_, err := store.PutQuarter(ctx, 2, []banner.Campaign{topTen(10, 100)})
	require.NoError(t, err)

	c := newCache(t, store, cache.Config{TTL: 15 * time.Minute, NotFoundTTL: 15 * time.Minute, Generations: store})
	h := httpapi.New(c, httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	// get answers the campaign's banner IDs, sorted, or nil and the status.
	get := func(id string) ([]int64, int) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/campaigns/"+id+"/banners?quarter=2", nil))
		if rec.Code != 200 {
			return nil, rec.Code
		}
		var a struct {
			Banners []struct {
				ID int64 `json:"id"`
			} `json:"banners"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
		var ids []int64
		for _, b := range a.Banners {
			ids = append(ids, b.ID)
		}
		slices.Sort(ids)
		return ids, rec.Code
	}
	ids := func(first int64) []int64 {
		var out []int64
		for i := range int64(10) {
			out = append(out, first+i)
		}
		return out
	}

	got, _ := get("10")
	require.Equal(t, ids(100), got)
	_, code := get("20")
	require.Equal(t, 404, code)

	_, err = store.PutQuarter(ctx, 2, []banner.Campaign{topTen(10, 200), topTen(20, 300)})
	require.NoError(t, err)
	done := time.Now()
	require.Eventually(t, func() bool {
		ten, _ := get("10")
		twenty, _ := get("20")
		return slices.Equal(ten, ids(200)) && slices.Equal(twenty, ids(300))
	}, 10*time.Second, 50*time.Millisecond, "the re-ingested quarter within 10 s")
	t.Logf("re-ingest served %v after PutQuarter returned", time.Since(done).Round(time.Millisecond))
}
