package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/httpapi"
	"banners/internal/testkit"
)

// fakeStore serves campaigns from a map and counts its reads. While down is
// set every read fails; while gate is non-nil reads wait for it to close.
type fakeStore struct {
	campaigns map[banner.Key]*banner.Campaign
	reads     atomic.Int64
	down      atomic.Bool
	gate      chan struct{}
}

var errDown = errors.New("connection refused")

func (s *fakeStore) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	s.reads.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.down.Load() {
		return nil, errDown
	}
	c, ok := s.campaigns[k]
	if !ok {
		return nil, banner.ErrNotFound
	}
	return c, nil
}

var (
	warm    = banner.Key{CampaignID: 10, Quarter: 2}
	unknown = banner.Key{CampaignID: 99, Quarter: 2}
)

func newStore() *fakeStore {
	return &fakeStore{campaigns: map[banner.Key]*banner.Campaign{
		warm: {Key: warm, Converting: 1, Earners: []banner.Earner{{BannerID: 101, Revenue: 5}}},
	}}
}

// outcomes records the "cache" annotations.
type outcomes struct {
	mu   sync.Mutex
	last string
}

func (o *outcomes) annotate(_ context.Context, key string, value any) {
	if key == "cache" {
		o.mu.Lock()
		o.last = value.(string)
		o.mu.Unlock()
	}
}

func newCache(t testing.TB, s banner.Store, cfg cache.Config) *cache.Cache {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := cache.New(s, cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestLookups(t *testing.T) {
	// step is one lookup: after moving the clock by advance, with the store
	// up or down, look up key.
	type step struct {
		advance     time.Duration
		down        bool
		key         banner.Key
		wantOutcome string
		wantErr     error // matched with errors.Is; nil means the warm campaign
		wantReads   int64 // store reads so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"miss then hit", []step{
			{key: warm, wantOutcome: cache.Miss, wantReads: 1},
			{key: warm, wantOutcome: cache.Hit, wantReads: 1},
			{advance: 59 * time.Second, key: warm, wantOutcome: cache.Hit, wantReads: 1},
		}},
		{"TTL expiry", []step{
			{key: warm, wantOutcome: cache.Miss, wantReads: 1},
			{advance: 60 * time.Second, key: warm, wantOutcome: cache.Miss, wantReads: 2},
			{key: warm, wantOutcome: cache.Hit, wantReads: 2},
		}},
		{"negative caching", []step{
			{key: unknown, wantOutcome: cache.Miss, wantErr: banner.ErrNotFound, wantReads: 1},
			{advance: 9 * time.Second, key: unknown, wantOutcome: cache.Hit, wantErr: banner.ErrNotFound, wantReads: 1},
			{advance: time.Second, key: unknown, wantOutcome: cache.Miss, wantErr: banner.ErrNotFound, wantReads: 2},
		}},
		{"store down, nothing cached", []step{
			{down: true, key: warm, wantOutcome: cache.Miss, wantErr: banner.ErrUnavailable, wantReads: 1},
			{down: true, key: warm, wantOutcome: cache.Miss, wantErr: errDown, wantReads: 2},
		}},
		{"store down, stale entry served, then recovery", []step{
			{key: warm, wantOutcome: cache.Miss, wantReads: 1},
			{advance: 61 * time.Second, down: true, key: warm, wantOutcome: cache.Stale, wantReads: 2},
			// Within RetryInterval the store is not asked again.
			{advance: 500 * time.Millisecond, down: true, key: warm, wantOutcome: cache.Stale, wantReads: 2},
			{advance: time.Second, down: true, key: warm, wantOutcome: cache.Stale, wantReads: 3},
			{advance: time.Second, key: warm, wantOutcome: cache.Miss, wantReads: 4},
			{key: warm, wantOutcome: cache.Hit, wantReads: 4},
		}},
		{"stale window over", []step{
			{key: warm, wantOutcome: cache.Miss, wantReads: 1},
			{advance: 60*time.Second + 10*time.Minute, down: true, key: warm, wantOutcome: cache.Miss, wantErr: banner.ErrUnavailable, wantReads: 2},
		}},
		{"not found is not served stale", []step{
			{key: unknown, wantOutcome: cache.Miss, wantErr: banner.ErrNotFound, wantReads: 1},
			{advance: 11 * time.Second, down: true, key: unknown, wantOutcome: cache.Miss, wantErr: banner.ErrUnavailable, wantReads: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			clk := testkit.NewClock(time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC))
			var o outcomes
			c := newCache(t, s, cache.Config{Now: clk.Now, Annotate: o.annotate})
			for i, st := range tt.steps {
				clk.Add(st.advance)
				s.down.Store(st.down)
				got, err := c.Campaign(context.Background(), st.key)
				c.Wait()
				if st.wantErr != nil {
					require.ErrorIs(t, err, st.wantErr, "step %d", i)
					require.Nil(t, got, "step %d", i)
				} else {
					require.NoError(t, err, "step %d", i)
					require.Equal(t, s.campaigns[warm], got, "step %d", i)
				}
				require.Equal(t, st.wantOutcome, o.last, "step %d", i)
				require.Equal(t, st.wantReads, s.reads.Load(), "step %d", i)
			}
		})
	}
}

func TestConcurrentMissesReadOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore()
		c := newCache(t, s, cache.Config{})
		lookUpTogether(t, c, s, 100)
		require.Equal(t, int64(1), s.reads.Load())
	})
}

// lookUpTogether looks warm up from n goroutines at once, inside a
// synctest bubble: the store holds its read until every caller is in it or
// waiting on it. Every caller must get warm's read model.
func lookUpTogether(t *testing.T, c *cache.Cache, s *fakeStore, n int) {
	t.Helper()
	s.gate = make(chan struct{})
	var done sync.WaitGroup
	got := make([]*banner.Campaign, n)
	errs := make([]error, n)
	for i := range n {
		done.Go(func() {
			got[i], errs[i] = c.Campaign(context.Background(), warm)
		})
	}
	synctest.Wait()
	close(s.gate)
	done.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Same(t, s.campaigns[warm], got[i])
	}
}

// TestConcurrentStaleServesLogOnce: callers that share a failed read of a
// stale key get the stale entry; the failure is logged and cached once.
func TestConcurrentStaleServesLogOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore()
		var log testkit.Buffer
		o := &outcomes{}
		c := newCache(t, s, cache.Config{
			TTL:      time.Minute,
			Logger:   slog.New(slog.NewTextHandler(&log, nil)),
			Annotate: o.annotate,
		})
		_, err := c.Campaign(context.Background(), warm)
		require.NoError(t, err)
		c.Wait()
		time.Sleep(2 * time.Minute) // fake time: past the TTL, within the stale window
		s.down.Store(true)
		lookUpTogether(t, c, s, 50)
		require.Equal(t, int64(2), s.reads.Load(), "one read to warm, one shared failed read")
		require.Equal(t, 1, strings.Count(log.String(), "serving stale"), log.String())
		require.Equal(t, cache.Stale, o.last)
	})
}

// slowStore answers after its context is done.
type slowStore struct{}

func (slowStore) Campaign(ctx context.Context, _ banner.Key) (*banner.Campaign, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestReadTimeout(t *testing.T) {
	c := newCache(t, slowStore{}, cache.Config{ReadTimeout: 20 * time.Millisecond})
	start := time.Now()
	_, err := c.Campaign(context.Background(), warm)
	require.ErrorIs(t, err, banner.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Second)
}

func TestCanceledCallerDoesNotCancelSharedRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore()
		s.gate = make(chan struct{})
		c := newCache(t, s, cache.Config{})

		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := c.Campaign(ctx, warm)
			errc <- err
		}()
		synctest.Wait() // the read is waiting on the gate
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled)

		// The read goes on for the others and fills the cache.
		close(s.gate)
		got, err := c.Campaign(context.Background(), warm)
		require.NoError(t, err)
		require.Equal(t, s.campaigns[warm], got)
		require.Equal(t, int64(1), s.reads.Load())
	})
}

func TestThroughHandler(t *testing.T) {
	tests := []struct {
		name       string
		warmFirst  bool
		wantStatus int
	}{
		{"store down, nothing cached: 503", false, http.StatusServiceUnavailable},
		{"store down, stale entry: 200", true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			clk := testkit.NewClock(time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC))
			c := newCache(t, s, cache.Config{Now: clk.Now})
			h := httpapi.New(c, httpapi.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
			if tt.warmFirst {
				_, err := c.Campaign(context.Background(), warm)
				require.NoError(t, err)
				c.Wait()
			}
			clk.Add(2 * time.Minute)
			s.down.Store(true)

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/campaigns/10/banners", nil))
			require.Equal(t, tt.wantStatus, rec.Code)
			if tt.wantStatus == http.StatusServiceUnavailable {
				require.Equal(t, "5", rec.Header().Get("Retry-After"))
			}
		})
	}
}

// TestCostMatchesTheHeap measures what read models of several shapes take
// on the heap and checks Cost against it: Cost may add the cache's own
// entry, but must neither undercount nor overcount by much.
func TestCostMatchesTheHeap(t *testing.T) {
	tests := []struct {
		name                   string
		earners, clicked, fill int
	}{
		{"one earner", 1, 0, 0},
		{"top 10 earners", 10, 0, 0},
		{"three clicked, random fill", 0, 3, 200},
		{"large fill", 0, 0, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 1000
			keep := make([]*banner.Campaign, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range keep {
				keep[i] = &banner.Campaign{
					Earners: make([]banner.Earner, tt.earners),
					Clicked: make([]banner.Clicked, tt.clicked),
					Fill:    make([]int64, tt.fill),
				}
			}
			runtime.ReadMemStats(&after)
			measured := float64(after.TotalAlloc-before.TotalAlloc) / n
			got := float64(cache.Cost(keep[0]))
			t.Logf("Cost %.0f bytes, heap %.0f bytes per read model", got, measured)
			require.GreaterOrEqual(t, got, 0.9*measured, "Cost undercounts")
			require.LessOrEqual(t, got, 1.5*measured+200, "Cost overcounts")
		})
	}
}

// fillTwice looks every campaign of s up once (each a store read, applied
// to the cache before the next), then once more, and returns how many of
// the second round went to the store: the ones the cache did not keep.
func fillTwice(t *testing.T, c *cache.Cache, s *fakeStore) int64 {
	t.Helper()
	for k := range s.campaigns {
		_, err := c.Campaign(context.Background(), k)
		require.NoError(t, err)
		c.Wait()
	}
	reads := s.reads.Load()
	for k := range s.campaigns {
		_, err := c.Campaign(context.Background(), k)
		require.NoError(t, err)
	}
	return s.reads.Load() - reads
}

// campaigns returns a store of n campaigns in quarter 1, each with fill
// banners for random fill.
func campaigns(n int64, fill int) *fakeStore {
	s := &fakeStore{campaigns: map[banner.Key]*banner.Campaign{}}
	for id := int64(1); id <= n; id++ {
		k := banner.Key{CampaignID: id, Quarter: 1}
		s.campaigns[k] = &banner.Campaign{Key: k, Fill: make([]int64, fill)}
	}
	return s
}

func TestMaxBytesBoundsTheCache(t *testing.T) {
	// 1,000 campaigns of about 8 KB each cannot all fit in 100 KB: at most
	// about 12 of them can have been cached.
	s := campaigns(1000, 1000)
	c := newCache(t, s, cache.Config{MaxBytes: 100 << 10})
	require.GreaterOrEqual(t, fillTwice(t, c, s), int64(1000-13))
}

func TestMoreEntriesThanItemsStillFit(t *testing.T) {
	// Items sizes the admission counters, not the capacity: 2,000 small
	// campaigns, far more than the 10 expected, all stay within MaxBytes.
	s := campaigns(2000, 1)
	c := newCache(t, s, cache.Config{Items: 10})
	require.Zero(t, fillTwice(t, c, s), "entries beyond Items were dropped")
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  cache.Config
	}{
		{"negative MaxBytes", cache.Config{MaxBytes: -1}},
		{"negative TTL", cache.Config{TTL: -time.Second}},
		{"negative Items", cache.Config{Items: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cache.New(newStore(), tt.cfg)
			require.Error(t, err)
		})
	}
}

// BenchmarkNew is what the cache adds to a cold start.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := cache.New(newStore(), cache.Config{})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// warmCache returns a cache holding warm.
func warmCache(b *testing.B) *cache.Cache {
	c := newCache(b, newStore(), cache.Config{})
	_, err := c.Campaign(context.Background(), warm)
	require.NoError(b, err)
	c.Wait()
	return c
}

func BenchmarkHit(b *testing.B) {
	c := warmCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Campaign(ctx, warm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHitParallel(b *testing.B) {
	c := warmCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Campaign(ctx, warm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCloseWhileReading closes the cache while a read is in flight: the
// read finishes without caching (ristretto is closed) and without a panic,
// and a second Close does nothing.
func TestCloseWhileReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore()
		s.gate = make(chan struct{})
		c, err := cache.New(s, cache.Config{Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := c.Campaign(context.Background(), warm)
			done <- err
		}()
		synctest.Wait() // the read waits on the gate
		c.Close()
		close(s.gate)
		require.NoError(t, <-done)
		c.Close()
	})
}
