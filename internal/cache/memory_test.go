package cache_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
)

// manyStore serves a real-shaped read model (ten earners) for any key,
// built on every read as the DynamoDB store decodes a fresh one.
type manyStore struct{}

func (manyStore) Campaign(_ context.Context, k banner.Key) (*banner.Campaign, error) {
	c := &banner.Campaign{Key: k, Converting: 40}
	for i := range int64(10) {
		c.Earners = append(c.Earners, banner.Earner{BannerID: 100 + i, Revenue: 9_000_000 - i})
	}
	return c, nil
}

// heap returns the live heap after a full collection, in bytes.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryPerEntry measures what a cached real-shaped read model costs
// in live heap, ristretto's own bookkeeping included, and checks that
// Cost, which MaxBytes bounds, accounts for at least half of it. The
// figures feed the Lambda memory setting (loadtest/RESULTS.md, Scale).
func TestMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a cache with 100,000 entries")
	}
	const n = 100_000
	// An empty cache's own memory (ristretto's counters) follows Items
	// (default 10,000), not MaxBytes: about the same at both.
	for _, mb := range []int64{64, 128} {
		before := heap()
		c, err := cache.New(manyStore{}, cache.Config{MaxBytes: mb << 20})
		require.NoError(t, err)
		t.Logf("empty cache, MaxBytes %d MiB: %.1f MiB", mb, float64(heap()-before)/(1<<20))
		c.Close()
	}
	before := heap()
	c, err := cache.New(manyStore{}, cache.Config{MaxBytes: 256 << 20})
	require.NoError(t, err)
	defer c.Close()
	empty := heap()
	ctx := context.Background()
	for id := range int64(n) {
		_, err := c.Campaign(ctx, banner.Key{CampaignID: id + 1, Quarter: 1})
		require.NoError(t, err)
		if id%1000 == 999 {
			c.Wait() // ristretto drops Sets when its buffer is full
		}
	}
	c.Wait()
	full := heap()
	cached := 0
	for id := range int64(n) {
		if _, err := c.Campaign(ctx, banner.Key{CampaignID: id + 1, Quarter: 1}); err == nil {
			cached++ // a miss here re-reads it; count every key anyway
		}
	}
	perEntry := float64(full-empty) / n
	camp, _ := manyStore{}.Campaign(ctx, banner.Key{CampaignID: 1, Quarter: 1})
	t.Logf("empty cache (MaxBytes 256 MiB): %.1f MiB; %d entries: %.1f MiB, %.0f B per entry; Cost %d B",
		float64(empty-before)/(1<<20), n, float64(full-empty)/(1<<20), perEntry, cache.Cost(camp))
	require.Equal(t, n, cached)
	require.GreaterOrEqual(t, float64(cache.Cost(camp)), perEntry/2, "Cost must account for at least half of an entry's heap")
}
