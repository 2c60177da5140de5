package cache

// Pre-warm at the quarter boundary. Visitors ask for the current quarter,
// so at :00, :15, :30 and :45 every instance's hot keys change at once and
// every instance misses every campaign together: a read burst on the store
// and a latency spike. With Config.Prewarm on, the cache counts lookups per
// campaign in the current quarter, and Lead before each boundary reads the
// next quarter's entries of the TopK most looked-up campaigns: one read per
// key at most (an entry still fresh is skipped; a read in flight is
// shared through singleflight, as for lookups), spread evenly over the
// lead time, at most Concurrency at a time. The counts start again after
// each boundary. Each pre-warm that runs to its end logs one line,
// "next quarter pre-warmed", with the quarter, the campaigns it considered,
// the reads it made and how long it took: the reads run outside any
// request, so they are in no trace.

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"banners/internal/banner"
)

// Defaults of Prewarm.
const (
	DefaultPrewarmLead        = 30 * time.Second
	DefaultPrewarmConcurrency = 2
)

// quarterLen is the length of a quarter.
const quarterLen = 15 * time.Minute

// Prewarm configures reading the next quarter's entries ahead of each
// quarter boundary. The zero value is off.
type Prewarm struct {
	// TopK is the most campaigns warmed per boundary: those looked up
	// most in the current quarter. 0 turns pre-warm off.
	TopK int
	// Lead is how long before the boundary warming starts, in time of
	// Config.Now; the reads are spread over its first nine tenths.
	// Default 30 s.
	Lead time.Duration
	// Concurrency bounds the warming reads in flight. Default 2.
	Concurrency int
}

// hotShards is the number of independently locked shards of a hotSet.
const hotShards = 16

// hotSet counts lookups per campaign of the current quarter, for at most
// limit campaigns per shard: a campaign first seen when its shard is full
// is not counted (popular ones arrive early and often).
type hotSet struct {
	limit  int
	shards [hotShards]struct {
		mu sync.Mutex
		n  map[int64]uint32
	}
}

// quarterOf returns the quarter of the Unix time now (ns), as
// banner.QuarterAt does, without building a time.Time.
func quarterOf(now int64) banner.Quarter {
	minute := (now / int64(time.Minute)) % 60
	if minute < 0 {
		minute += 60
	}
	return banner.Quarter(minute/15 + 1)
}

// record counts a lookup of k at now (Unix ns) if k is in now's quarter.
func (h *hotSet) record(k banner.Key, now int64) {
	if k.Quarter != quarterOf(now) {
		return
	}
	s := &h.shards[uint64(k.CampaignID)%hotShards]
	s.mu.Lock()
	if n, ok := s.n[k.CampaignID]; ok || len(s.n) < h.limit {
		s.n[k.CampaignID] = n + 1
	}
	s.mu.Unlock()
}

// take returns the k most counted campaigns, most counted first (ties by
// ID), and starts counting again.
func (h *hotSet) take(k int) []int64 {
	type count struct {
		id int64
		n  uint32
	}
	var all []count
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for id, n := range s.n {
			all = append(all, count{id, n})
		}
		clear(s.n)
		s.mu.Unlock()
	}
	slices.SortFunc(all, func(a, b count) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.id, b.id))
	})
	ids := make([]int64, 0, min(k, len(all)))
	for _, c := range all[:min(k, len(all))] {
		ids = append(ids, c.id)
	}
	return ids
}

// startPrewarm checks Config.Prewarm and starts its loop when it is on.
func (c *Cache) startPrewarm() error {
	p := &c.cfg.Prewarm
	switch {
	case p.TopK < 0 || p.Lead < 0 || p.Concurrency < 0:
		return errors.New("cache: Prewarm settings must not be negative")
	case p.TopK == 0:
		return nil
	}
	if p.Lead == 0 {
		p.Lead = DefaultPrewarmLead
	}
	if p.Lead >= quarterLen {
		return errors.New("cache: Prewarm.Lead must be shorter than a quarter (15 min)")
	}
	if p.Concurrency == 0 {
		p.Concurrency = DefaultPrewarmConcurrency
	}
	c.hot = &hotSet{limit: max(p.TopK*4/hotShards, 16)}
	for i := range c.hot.shards {
		c.hot.shards[i].n = make(map[int64]uint32)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.bg.Go(func() {
		<-c.stop
		cancel()
	})
	c.bg.Go(func() { c.prewarmLoop(ctx) })
	return nil
}

// prewarmLoop warms the next quarter Lead before every boundary until ctx
// ends.
func (c *Cache) prewarmLoop(ctx context.Context) {
	lead := c.cfg.Prewarm.Lead
	for {
		now := c.cfg.Now()
		boundary := now.Truncate(quarterLen).Add(quarterLen)
		if !sleepCtx(ctx, boundary.Add(-lead).Sub(now)) {
			return
		}
		c.warm(ctx, boundary)
		// Wait for the boundary, so the next round counts the new quarter.
		if !sleepCtx(ctx, boundary.Sub(c.cfg.Now())) {
			return
		}
	}
}

// warm reads the next quarter's entries of the most looked-up campaigns,
// spread over nine tenths of the time left before boundary, and logs what
// it did unless ctx ended first.
func (c *Cache) warm(ctx context.Context, boundary time.Time) {
	ids := c.hot.take(c.cfg.Prewarm.TopK)
	start := c.cfg.Now()
	if len(ids) == 0 || !start.Before(boundary) {
		return // nothing looked up, or woken too late (a thawed Lambda instance)
	}
	q := banner.QuarterAt(boundary)
	span := boundary.Sub(start) * 9 / 10
	sem := make(chan struct{}, c.cfg.Prewarm.Concurrency)
	var (
		wg    sync.WaitGroup
		reads atomic.Int64
	)
	for i, id := range ids {
		at := start.Add(span * time.Duration(i) / time.Duration(len(ids)))
		if !sleepCtx(ctx, at.Sub(c.cfg.Now())) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c.warmKey(ctx, banner.Key{CampaignID: id, Quarter: q}, &reads)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	c.cfg.Logger.InfoContext(ctx, "next quarter pre-warmed", "quarter", int(q), "campaigns", len(ids),
		"reads", reads.Load(), "duration_ms", float64(c.cfg.Now().Sub(start).Microseconds())/1000)
}

// warmKey reads k into the cache unless a fresh entry holds it, sharing a
// read in flight, and counts the read in reads (a read shared with a
// lookup counts too). It neither annotates nor counts as a lookup.
func (c *Cache) warmKey(ctx context.Context, k banner.Key, reads *atomic.Int64) {
	old, epoch, fresh := c.lookup(ctx, k, c.cfg.Now().UnixNano())
	if fresh {
		return
	}
	reads.Add(1)
	<-c.flight.DoChan(flightKey(k, epoch), func() (any, error) {
		return c.load(ctx, k, old, epoch)
	})
}

// sleepCtx waits d, or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
