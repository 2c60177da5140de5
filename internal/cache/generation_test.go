package cache_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
)

// versioned is a store whose data an "ingest" replaces: every campaign's
// Converting is the version of the data, and the generation is "g<version>".
type versioned struct {
	mu       sync.Mutex
	version  int
	known    map[banner.Key]bool
	reads    atomic.Int64
	genReads atomic.Int64
	down     atomic.Bool
	genDown  atomic.Bool
	gate     chan struct{} // when set, generation reads wait for it
}

func (s *versioned) Campaign(_ context.Context, k banner.Key) (*banner.Campaign, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known[k] {
		return nil, banner.ErrNotFound
	}
	return &banner.Campaign{Key: k, Converting: s.version, Earners: []banner.Earner{{BannerID: 1, Revenue: 1}}}, nil
}

func (s *versioned) Generation(ctx context.Context, _ banner.Quarter) (string, error) {
	s.genReads.Add(1)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if s.genDown.Load() {
		return "", errors.New("generation read failed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return "g" + strconv.Itoa(s.version), nil
}

// ingest replaces the data with version v, holding the keys given.
func (s *versioned) ingest(v int, keys ...banner.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
	s.known = map[banner.Key]bool{}
	for _, k := range keys {
		s.known[k] = true
	}
}

// TestFreshnessByGeneration walks a cache with a 15-minute TTL through
// re-ingests, store and generation failures, on fake time (synctest): a new
// generation is served within two poll intervals (10 s) of the ingest,
// never later, and otherwise entries answer without store reads.
func TestFreshnessByGeneration(t *testing.T) {
	other := banner.Key{CampaignID: 30, Quarter: 2}
	type step struct {
		name         string
		sleep        time.Duration
		ingest       int          // when > 0, replace the data with this version first
		keys         []banner.Key // the keys the ingest holds (default warm)
		down         bool         // the store fails
		genDown      bool         // generation reads fail
		gate         bool         // the generation read this lookup starts waits until it returned
		key          banner.Key   // default warm
		wantOutcome  string
		wantVersion  int // 0: want banner.ErrNotFound
		wantReads    int64
		wantGenReads int64
	}
	steps := []step{
		{name: "cold: generation read first, then the campaign", wantOutcome: cache.Miss, wantVersion: 1, wantReads: 1, wantGenReads: 1},
		{name: "hit", sleep: 4 * time.Second, wantOutcome: cache.Hit, wantVersion: 1, wantReads: 1, wantGenReads: 1},
		{name: "re-ingested, not yet polled: old data, within 10 s", ingest: 2, wantOutcome: cache.Hit, wantVersion: 1, wantReads: 1, wantGenReads: 1},
		{name: "poll due: background read, this answer still old", sleep: time.Second, gate: true, wantOutcome: cache.Hit, wantVersion: 1, wantReads: 1, wantGenReads: 2},
		{name: "new generation seen: read again", wantOutcome: cache.Miss, wantVersion: 2, wantReads: 2, wantGenReads: 2},
		{name: "then hits", wantOutcome: cache.Hit, wantVersion: 2, wantReads: 2, wantGenReads: 2},
		{name: "next poll applies the change again", sleep: 5 * time.Second, gate: true, wantOutcome: cache.Hit, wantVersion: 2, wantReads: 2, wantGenReads: 3},
		{name: "read once more, for a lagging replica", wantOutcome: cache.Miss, wantVersion: 2, wantReads: 3, wantGenReads: 3},
		{name: "unchanged poll: hits", sleep: 5 * time.Second, gate: true, wantOutcome: cache.Hit, wantVersion: 2, wantReads: 3, wantGenReads: 4},
		{name: "still hits", wantOutcome: cache.Hit, wantVersion: 2, wantReads: 3, wantGenReads: 4},
		{name: "idle 10 s after an ingest: the lookup polls first", sleep: 10 * time.Second, ingest: 3, wantOutcome: cache.Miss, wantVersion: 3, wantReads: 4, wantGenReads: 5},
		{name: "store down after an ingest: stale served", sleep: 10 * time.Second, ingest: 4, down: true, wantOutcome: cache.Stale, wantVersion: 3, wantReads: 5, wantGenReads: 6},
		{name: "store back: new data", sleep: 2 * time.Second, wantOutcome: cache.Miss, wantVersion: 4, wantReads: 6, wantGenReads: 6},
		{name: "generation reads fail: entries stay", sleep: 10 * time.Second, genDown: true, wantOutcome: cache.Hit, wantVersion: 4, wantReads: 6, wantGenReads: 7},
		{name: "unknown campaign: not found, cached", key: other, wantOutcome: cache.Miss, wantReads: 7, wantGenReads: 7},
		{name: "ingest adds it: found within 10 s, before NotFoundTTL", sleep: 10 * time.Second, ingest: 5, keys: []banner.Key{warm, other}, key: other, wantOutcome: cache.Miss, wantVersion: 5, wantReads: 8, wantGenReads: 8},
		{name: "TTL stays an upper bound", sleep: 15 * time.Minute, gate: true, key: other, wantOutcome: cache.Miss, wantVersion: 5, wantReads: 9, wantGenReads: 9},
	}
	synctest.Test(t, func(t *testing.T) {
		s := &versioned{}
		s.ingest(1, warm)
		var o outcomes
		c := newCache(t, s, cache.Config{TTL: 15 * time.Minute, NotFoundTTL: time.Minute, Generations: s, Annotate: o.annotate})
		for _, st := range steps {
			time.Sleep(st.sleep)
			if st.ingest > 0 {
				s.ingest(st.ingest, append([]banner.Key{warm}, st.keys...)...)
			}
			s.down.Store(st.down)
			s.genDown.Store(st.genDown)
			var gate chan struct{}
			if st.gate {
				gate = make(chan struct{})
				s.mu.Lock()
				s.gate = gate
				s.mu.Unlock()
			}
			key := warm
			if st.key != (banner.Key{}) {
				key = st.key
			}
			got, err := c.Campaign(context.Background(), key)
			if gate != nil {
				s.mu.Lock()
				s.gate = nil
				s.mu.Unlock()
				close(gate)
			}
			synctest.Wait() // background generation reads finish
			c.Wait()
			if st.wantVersion == 0 {
				require.ErrorIs(t, err, banner.ErrNotFound, st.name)
			} else {
				require.NoError(t, err, st.name)
				require.Equal(t, st.wantVersion, got.Converting, st.name)
			}
			require.Equal(t, st.wantOutcome, o.last, st.name)
			require.Equal(t, st.wantReads, s.reads.Load(), "%s: store reads", st.name)
			require.Equal(t, st.wantGenReads, s.genReads.Load(), "%s: generation reads", st.name)
		}
	})
}

// TestGenerationReadsShared checks that concurrent lookups of a quarter
// whose generation is unknown share one generation read.
func TestGenerationReadsShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &versioned{}
		s.ingest(1, warm)
		gate := make(chan struct{})
		s.gate = gate
		c := newCache(t, s, cache.Config{Generations: s})
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, err := c.Campaign(context.Background(), warm)
				require.NoError(t, err)
			})
		}
		synctest.Wait()
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
		wg.Wait()
		require.Equal(t, int64(1), s.genReads.Load())
		// The campaign reads are not held back: callers released after
		// the first read finished may read again before its Set lands.
		require.Positive(t, s.reads.Load())
	})
}
