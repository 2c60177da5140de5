// Package cache keeps campaign read models in memory in front of a slower
// store (DynamoDB): a ristretto cache bounded in bytes, with a TTL, a stale
// window that keeps banners flowing while the store is down, short-lived
// negative entries for unknown campaigns, one store read per key at a time
// and a deadline on every read.
//
// The cache is best-effort, never the source of truth: ristretto may drop a
// Set, and then the next lookup simply reads the store again.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"

	"banners/internal/banner"
)

// Outcomes of a lookup, passed to Config.Annotate under the key "cache".
const (
	// Hit means a fresh entry (read model or "not found") answered.
	Hit = "hit"
	// Miss means the store was asked.
	Miss = "miss"
	// Stale means the store failed (now or within RetryInterval) and an
	// entry past its TTL but within the stale window answered.
	Stale = "stale"
)

// Defaults of Config.
const (
	DefaultMaxBytes      = 64 << 20
	DefaultItems         = 10_000
	DefaultTTL           = 60 * time.Second
	DefaultStaleFor      = 10 * time.Minute
	DefaultNotFoundTTL   = 10 * time.Second
	DefaultReadTimeout   = 2 * time.Second
	DefaultRetryInterval = time.Second
)

// Config tunes a Cache. The zero value works.
type Config struct {
	// MaxBytes bounds the estimated memory held by cached entries, in bytes.
	// Default 64 MiB. It is a bound, not an allocation.
	MaxBytes int64
	// Items is how many entries the cache is expected to hold when full:
	// campaigns × quarters (the real data has 200). It sizes ristretto's
	// admission counters, ten per item, which are allocated up front (at
	// cold start, in Lambda). More entries still fit within MaxBytes, with
	// a less exact admission policy. Default 10,000.
	Items int64
	// TTL is how long an entry is served without asking the store again.
	// Default 60 s.
	TTL time.Duration
	// StaleFor is how long past its TTL an entry is kept to be served when
	// the store fails. Default 10 min; negative disables stale serving.
	StaleFor time.Duration
	// NotFoundTTL is how long "no such campaign" is remembered, so that
	// requests for random IDs cannot flood the store. Default 10 s;
	// negative disables negative caching.
	NotFoundTTL time.Duration
	// ReadTimeout bounds each store read. Default 2 s.
	ReadTimeout time.Duration
	// RetryInterval is how long, after a failed read, a stale entry is
	// served without asking the store again, so an outage does not make
	// every request wait for ReadTimeout. Default 1 s.
	RetryInterval time.Duration
	// Now tells the time, for freshness. Default time.Now.
	Now func() time.Time
	// Logger receives stale serves. Default slog.Default().
	Logger *slog.Logger
	// Annotate, if set, is told each lookup's outcome for tracing: key
	// "cache", value Hit, Miss or Stale.
	Annotate func(ctx context.Context, key string, value any)
	// Generations, when set, makes freshness follow the data: an entry
	// answers only while its quarter's generation is the one known when
	// its read started, and TTL becomes an upper bound (see
	// generation.go). Default none: freshness by TTL alone.
	Generations Generations
	// PollInterval is how often a quarter's generation is read, in time
	// of Now: a lookup finding it older starts a read in the background,
	// and one finding it older than twice PollInterval reads it first.
	// Only quarters being looked up are read. Default 5 s.
	PollInterval time.Duration
	// Prewarm, when its TopK is positive, reads the next quarter's entries
	// of the most looked-up campaigns before each quarter boundary (see
	// prewarm.go). Default off.
	Prewarm Prewarm
}

// ParseTTL parses a TTL setting (CACHE_TTL, -cache-ttl, the CDK app's
// cacheTtl) as a Go duration, such as "60s" or "15m". Every place that takes
// a TTL validates it here, so one that deploys is one that starts.
func ParseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("cache TTL %q: want a positive Go duration such as 60s", s)
	}
	return d, nil
}

// entry is what ristretto holds for a key. It is never modified once set.
type entry struct {
	key banner.Key
	c   *banner.Campaign // nil when notFound
	// fresh and stale are Unix nanoseconds: the entry answers as a hit
	// before fresh, and as stale (only when the store fails) before stale.
	fresh, stale int64
	notFound     bool
	// degraded marks an entry re-set after a failed read: a hit on it is a
	// stale serve.
	degraded bool
	// epoch is the cache's epoch of the key's quarter (see generation.go)
	// when the entry's read started; 0 without Config.Generations.
	epoch uint64
}

// Cache is a Store that answers from memory and falls back to the store it
// wraps. It is safe for concurrent use. Create it with New.
type Cache struct {
	next   banner.Store
	cache  *ristretto.Cache[uint64, *entry]
	flight singleflight.Group
	cfg    Config
	// gens follows the generation of each quarter, indexed by quarter&7.
	gens [8]quarterGen
	// hot counts lookups per campaign for Prewarm; nil when it is off.
	hot *hotSet
	// bg tracks background work (generation reads, pre-warm); stop ends it.
	bg   sync.WaitGroup
	stop chan struct{}
	// mu guards closed: writes to ristretto and new background work take
	// it for reading, Close for writing, so nothing touches ristretto
	// after it is closed (a read detached from its caller may still be
	// running then).
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
}

// New returns a Cache in front of next.
func New(next banner.Store, cfg Config) (*Cache, error) {
	if err := errors.Join(
		orDefault(&cfg.MaxBytes, DefaultMaxBytes, "MaxBytes"),
		orDefault(&cfg.Items, DefaultItems, "Items"),
		orDefault(&cfg.TTL, DefaultTTL, "TTL"),
	); err != nil {
		return nil, err
	}
	if cfg.StaleFor == 0 {
		cfg.StaleFor = DefaultStaleFor
	}
	cfg.StaleFor = max(cfg.StaleFor, 0)
	if cfg.NotFoundTTL == 0 {
		cfg.NotFoundTTL = DefaultNotFoundTTL
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollInterval < 0 {
		return nil, errors.New("cache: PollInterval must not be negative")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	// Ristretto wants about ten counters per item it is expected to hold.
	// They follow Items, not MaxBytes: 64 MiB at about 300 bytes a campaign
	// would allocate 13 MB of counters at every cold start.
	counters := max(cfg.Items*10, 1000)
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *entry]{
		NumCounters: counters,
		MaxCost:     cfg.MaxBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{next: next, cache: rc, cfg: cfg, stop: make(chan struct{})}
	if err := c.startPrewarm(); err != nil {
		rc.Close()
		return nil, err
	}
	return c, nil
}

// orDefault sets *v to def when it is zero; a negative *v is an error
// naming the setting.
func orDefault[T int | int64 | time.Duration](v *T, def T, name string) error {
	switch {
	case *v == 0:
		*v = def
	case *v < 0:
		return fmt.Errorf("cache: %s must be positive", name)
	}
	return nil
}

// Close stops the cache's goroutines and drops its entries; lookups then
// go to the store. Reads still in flight finish without caching. Calling it
// again does nothing.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.stop)
		c.bg.Wait()
		c.cache.Close()
	})
}

// set caches e under pk unless the cache is closed.
func (c *Cache) set(pk uint64, e *entry, cost int64, ttl time.Duration) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		c.cache.SetWithTTL(pk, e, cost, ttl)
	}
}

// goBackground runs f on its own goroutine, tracked by bg, unless the
// cache is closed.
func (c *Cache) goBackground(f func()) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	c.bg.Go(f)
	return true
}

// Wait blocks until every Set so far is applied (or dropped). Tests use it.
func (c *Cache) Wait() { c.cache.Wait() }

// Campaign returns the read model for k from memory when fresh, else from
// the store. It returns banner.ErrNotFound for an unknown campaign. When the
// store fails it serves the last read model if it is within the stale
// window, and otherwise returns an error wrapping banner.ErrUnavailable and
// the store's error. A canceled ctx returns ctx.Err().
func (c *Cache) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	now := c.cfg.Now().UnixNano()
	old, epoch, fresh := c.lookup(ctx, k, now)
	if c.hot != nil {
		c.hot.record(k, now)
	}
	if fresh {
		return c.answer(ctx, old, Hit)
	}

	ch := c.flight.DoChan(flightKey(k, epoch), func() (any, error) {
		return c.load(ctx, k, old, epoch)
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.Err != nil {
		// The read was shared with a caller (or pre-warm) that had no
		// stale entry to fall back on; this caller may have one.
		if old != nil && !old.notFound && now < old.stale {
			return c.answer(ctx, old, Stale)
		}
		c.annotate(ctx, Miss)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", banner.ErrUnavailable, res.Err)
	}
	return c.answer(ctx, res.Val.(*entry), Miss)
}

// lookup returns k's cached entry (nil if none), the epoch of k's quarter
// for a lookup at now (Unix ns), and whether the entry answers without a
// read: fresh, and degraded or read in the current epoch.
func (c *Cache) lookup(ctx context.Context, k banner.Key, now int64) (old *entry, epoch uint64, fresh bool) {
	epoch = c.epoch(ctx, k.Quarter, now)
	old, ok := c.cache.Get(pack(k))
	if ok && old.key != k {
		old = nil // a key outside the packable range; never cached
	}
	return old, epoch, old != nil && now < old.fresh && (old.degraded || old.epoch == epoch)
}

// load reads k from the store, bounded by ReadTimeout and detached from the
// cancellation of ctx (other callers share the read), and caches it tagged
// with epoch, the quarter's epoch when the read started. When
// the store fails and old is within its stale window, it logs that once
// and caches old, marked degraded, for RetryInterval: every caller sharing
// the read, and those that come within RetryInterval, get old as a stale
// serve.
func (c *Cache) load(ctx context.Context, k banner.Key, old *entry, epoch uint64) (*entry, error) {
	pk := pack(k)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ReadTimeout)
	defer cancel()
	camp, err := c.next.Campaign(rctx, k)
	now := c.cfg.Now()
	switch {
	case err == nil && camp == nil:
		return nil, fmt.Errorf("campaign %d quarter %d: store returned neither a campaign nor an error", k.CampaignID, k.Quarter)
	case err == nil:
		e := &entry{key: k, c: camp, fresh: now.Add(c.cfg.TTL).UnixNano(), stale: now.Add(c.cfg.TTL + c.cfg.StaleFor).UnixNano(), epoch: epoch}
		c.set(pk, e, Cost(camp), c.cfg.TTL+c.cfg.StaleFor)
		return e, nil
	case errors.Is(err, banner.ErrNotFound):
		e := &entry{key: k, notFound: true, fresh: now.Add(c.cfg.NotFoundTTL).UnixNano(), epoch: epoch}
		e.stale = e.fresh
		if c.cfg.NotFoundTTL > 0 {
			c.set(pk, e, entrySize, c.cfg.NotFoundTTL)
		}
		return e, nil
	case old != nil && !old.notFound && now.UnixNano() < old.stale:
		c.cfg.Logger.WarnContext(ctx, "store failed, serving stale banners",
			"campaign_id", old.key.CampaignID, "quarter", int(old.key.Quarter),
			"age", now.Sub(time.Unix(0, old.fresh))+c.cfg.TTL, "err", err)
		d := *old
		d.degraded = true
		d.fresh = min(now.Add(c.cfg.RetryInterval).UnixNano(), old.stale)
		c.set(pk, &d, Cost(old.c), time.Duration(d.stale-now.UnixNano()))
		return &d, nil
	default:
		return nil, err
	}
}

// flightKey is the singleflight key of a read of k started in epoch: a
// lookup after a generation change never joins a read started before it.
func flightKey(k banner.Key, epoch uint64) string {
	return strconv.FormatUint(pack(k), 36) + "/" + strconv.FormatUint(epoch, 36)
}

// annotate must only be called on the caller's goroutine (never from
// load, which may run on another caller's): Config.Annotate writes to the
// request's trace and access log line.
func (c *Cache) annotate(ctx context.Context, outcome string) {
	if c.cfg.Annotate != nil {
		c.cfg.Annotate(ctx, "cache", outcome)
	}
}

// answer tells Config.Annotate outcome, or Stale for a degraded entry (a
// stale serve), and returns e's read model, or banner.ErrNotFound.
func (c *Cache) answer(ctx context.Context, e *entry, outcome string) (*banner.Campaign, error) {
	if e.degraded {
		outcome = Stale
	}
	c.annotate(ctx, outcome)
	if e.notFound {
		return nil, banner.ErrNotFound
	}
	return e.c, nil
}

// pack makes the ristretto key of k: the campaign ID shifted left by three
// bits, the quarter in the low three. IDs below 2^61 (the HTTP API allows
// fewer than 10^18) and quarters 1 to 4 map one to one; entries remember
// their key, so other values never answer for each other.
func pack(k banner.Key) uint64 {
	return uint64(k.CampaignID)<<3 | uint64(k.Quarter)&7
}

// Sizes used by Cost, in bytes.
const (
	entrySize    = int64(unsafe.Sizeof(entry{}))
	campaignSize = int64(unsafe.Sizeof(banner.Campaign{}))
	earnerSize   = int64(unsafe.Sizeof(banner.Earner{}))
	clickedSize  = int64(unsafe.Sizeof(banner.Clicked{}))
	idSize       = int64(unsafe.Sizeof(int64(0)))
)

// Cost estimates the memory an entry holding c takes, in bytes: the entry,
// the read model and the backing arrays of its slices. Ristretto adds its
// own per-item overhead.
func Cost(c *banner.Campaign) int64 {
	return entrySize + campaignSize +
		int64(cap(c.Earners))*earnerSize +
		int64(cap(c.Clicked))*clickedSize +
		int64(cap(c.Fill))*idSize
}
