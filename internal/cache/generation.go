package cache

// Freshness by generation. A quarter's read models change only when an
// ingest writes a new generation of it, so instead of re-reading every key
// when a clock TTL runs out, the cache reads one small item per quarter per
// PollInterval, the quarter's generation, and keeps entries until it
// changes:
//
//   - Each quarter has an epoch, a counter that goes up whenever the
//     generation read for the quarter differs from the one before.
//   - An entry is tagged with its quarter's epoch as it was when the entry's
//     read started. A lookup serves it only while the tag equals the
//     quarter's epoch (and before the TTL, now an upper bound): an entry
//     read before a change, or during it, is read again.
//   - Lookups drive the polling: a lookup of a quarter whose generation was
//     read PollInterval ago or more starts a read in the background, and a
//     lookup finding it older than twice PollInterval (a cold start, or a
//     Lambda instance thawed after a pause) reads it first, shared through
//     singleflight. So an answer never rests on a generation read more than
//     2 × PollInterval (10 s) before it, and quarters nobody asks for cost
//     nothing.
//   - A change is applied twice: when it is first read and again at the
//     next poll, so an entry read from a replica that had not yet seen the
//     ingest's last items (DynamoDB reads are eventually consistent) is read
//     once more.
//   - A failed generation read leaves the epoch as it is: entries stay
//     fresh, within TTL, and the read is retried after PollInterval.
//   - A degraded entry (a stale serve) answers for RetryInterval whatever
//     the epoch; negative entries follow the epoch like any other.

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"banners/internal/banner"
)

// DefaultPollInterval is the default Config.PollInterval.
const DefaultPollInterval = 5 * time.Second

// Generations tells a quarter's generation: a string that changes whenever
// the quarter's data changes ("" when unknown). *dynamo.Store implements it
// with one read of a tiny item.
type Generations interface {
	Generation(ctx context.Context, q banner.Quarter) (string, error)
}

// quarterGen follows one quarter's generation.
type quarterGen struct {
	// epoch goes up by one each time the generation is found changed, and
	// once more at the poll after.
	epoch atomic.Uint64
	// checked is when the last generation read started, in Unix ns of
	// Config.Now; 0 before the first.
	checked atomic.Int64
	// polling is set while a background read runs.
	polling atomic.Bool

	mu      sync.Mutex // guards the fields below
	gen     string
	known   bool
	recheck bool
}

// epoch returns q's epoch for a lookup at now (Unix ns), first reading q's
// generation when it is too old (see the file comment). Without
// Config.Generations it is always 0.
func (c *Cache) epoch(ctx context.Context, q banner.Quarter, now int64) uint64 {
	if c.cfg.Generations == nil {
		return 0
	}
	g := &c.gens[q&7]
	age := time.Duration(now - g.checked.Load())
	switch {
	case age >= 2*c.cfg.PollInterval:
		c.pollShared(ctx, q)
	case age >= c.cfg.PollInterval && g.polling.CompareAndSwap(false, true):
		if !c.goBackground(func() {
			defer g.polling.Store(false)
			c.pollShared(context.Background(), q)
		}) {
			g.polling.Store(false)
		}
	}
	return g.epoch.Load()
}

// pollShared reads q's generation once for all the callers that ask at
// the same time.
func (c *Cache) pollShared(ctx context.Context, q banner.Quarter) {
	_, _, _ = c.flight.Do("gen/"+strconv.Itoa(int(q)), func() (any, error) {
		c.poll(ctx, q)
		return nil, nil
	})
}

// poll reads q's generation, bounded by ReadTimeout and detached from
// ctx's cancellation, and moves q's epoch on when it changed or when the
// poll before found it changed.
func (c *Cache) poll(ctx context.Context, q banner.Quarter) {
	g := &c.gens[q&7]
	start := c.cfg.Now().UnixNano()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ReadTimeout)
	defer cancel()
	gen, err := c.cfg.Generations.Generation(rctx, q)
	defer g.checked.Store(start)
	if err != nil {
		c.cfg.Logger.WarnContext(ctx, "reading the quarter's generation failed; entries stay fresh until their TTL",
			"quarter", int(q), "err", err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !g.known:
		// The first read: the entries read so far were read at about
		// the same time (a lookup waits for this read on a cold start).
		g.gen, g.known = gen, true
		g.epoch.Add(1)
	case gen != g.gen:
		g.gen, g.recheck = gen, true
		g.epoch.Add(1)
	case g.recheck:
		g.recheck = false
		g.epoch.Add(1)
	}
}
