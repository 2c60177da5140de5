package cache_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/testkit"
)

// recording serves every campaign of every quarter and records when each
// key was read.
type recording struct {
	mu    sync.Mutex
	reads map[banner.Key][]time.Time
}

func (s *recording) Campaign(_ context.Context, k banner.Key) (*banner.Campaign, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reads == nil {
		s.reads = map[banner.Key][]time.Time{}
	}
	s.reads[k] = append(s.reads[k], time.Now())
	return &banner.Campaign{Key: k, Converting: 1, Earners: []banner.Earner{{BannerID: 1, Revenue: 1}}}, nil
}

func (s *recording) readsOf(k banner.Key) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[k]
}

// TestPrewarm checks, on fake time, that before a quarter boundary the
// cache reads the next quarter's entries of its most looked-up campaigns,
// once each, spread over the lead time, so that they are hits after the
// boundary; and that it counts only lookups of the current quarter.
func TestPrewarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at 2000-01-01 00:00:00 UTC: quarter 1.
		s := &recording{}
		var o outcomes
		var log testkit.Buffer
		c := newCache(t, s, cache.Config{TTL: time.Hour, Annotate: o.annotate, Logger: slog.New(slog.NewJSONHandler(&log, nil)),
			Prewarm: cache.Prewarm{TopK: 3, Lead: 30 * time.Second, Concurrency: 1}})
		lookups := map[int64]int{1: 5, 2: 4, 3: 3, 4: 2, 5: 1}
		for id, n := range lookups {
			for range n {
				_, err := c.Campaign(context.Background(), banner.Key{CampaignID: id, Quarter: 1})
				require.NoError(t, err)
			}
		}
		// Lookups of other quarters do not count.
		for range 10 {
			_, err := c.Campaign(context.Background(), banner.Key{CampaignID: 9, Quarter: 3})
			require.NoError(t, err)
		}
		start := time.Now()
		time.Sleep(15*time.Minute - time.Second)
		synctest.Wait()
		c.Wait()

		lead := start.Add(15*time.Minute - 30*time.Second)
		tests := []struct {
			id   int64
			want []time.Time // when the next quarter's entry was read
		}{
			{1, []time.Time{lead}},
			{2, []time.Time{lead.Add(9 * time.Second)}},
			{3, []time.Time{lead.Add(18 * time.Second)}},
			{4, nil},
			{5, nil},
			{9, nil},
		}
		for _, tt := range tests {
			got := s.readsOf(banner.Key{CampaignID: tt.id, Quarter: 2})
			require.Equal(t, tt.want, got, "campaign %d", tt.id)
		}
		// One line per pre-warm: the reads spread over 27 s end 18 s in.
		requirePrewarmLines(t, &log, []prewarmLine{{Quarter: 2, Campaigns: 3, Reads: 3, DurationMS: 18000}})

		time.Sleep(2 * time.Second) // past the boundary: quarter 2
		outcomes := map[int64]string{1: cache.Hit, 2: cache.Hit, 3: cache.Hit, 4: cache.Miss}
		for id, want := range outcomes {
			_, err := c.Campaign(context.Background(), banner.Key{CampaignID: id, Quarter: 2})
			require.NoError(t, err)
			require.Equal(t, want, o.last, "campaign %d after the boundary", id)
		}

		// The next boundary warms what quarter 2 looked up most (4, then 1
		// and 2 by ID), and skips an entry that is still fresh (4).
		for _, k := range []banner.Key{{CampaignID: 4, Quarter: 2}, {CampaignID: 4, Quarter: 2}, {CampaignID: 4, Quarter: 3}} {
			_, err := c.Campaign(context.Background(), k)
			require.NoError(t, err)
		}
		time.Sleep(15 * time.Minute)
		synctest.Wait()
		for id, want := range map[int64]int{1: 1, 2: 1, 3: 0, 4: 1} {
			require.Len(t, s.readsOf(banner.Key{CampaignID: id, Quarter: 3}), want, "campaign %d, quarter 3", id)
		}
		requirePrewarmLines(t, &log, []prewarmLine{
			{Quarter: 2, Campaigns: 3, Reads: 3, DurationMS: 18000},
			{Quarter: 3, Campaigns: 3, Reads: 2, DurationMS: 18000},
		})
	})
}

// prewarmLine is the pre-warm's log line, decoded.
type prewarmLine struct {
	Level      string  `json:"level"`
	Msg        string  `json:"msg"`
	Quarter    int     `json:"quarter"`
	Campaigns  int     `json:"campaigns"`
	Reads      int     `json:"reads"`
	DurationMS float64 `json:"duration_ms"`
}

// requirePrewarmLines checks that log holds exactly the lines want, at
// INFO with the pre-warm's message.
func requirePrewarmLines(t *testing.T, log *testkit.Buffer, want []prewarmLine) {
	t.Helper()
	var got []prewarmLine
	for line := range strings.Lines(log.String()) {
		var l prewarmLine
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		got = append(got, l)
	}
	for i := range want {
		want[i].Level, want[i].Msg = "INFO", "next quarter pre-warmed"
	}
	require.Equal(t, want, got)
}
