package banner_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
)

func TestQuarterAt(t *testing.T) {
	tests := []struct {
		minute int
		want   banner.Quarter
	}{
		{0, 1}, {14, 1}, {15, 2}, {29, 2}, {30, 3}, {44, 3}, {45, 4}, {59, 4},
	}
	for _, tt := range tests {
		at := time.Date(2026, 11, 25, 13, tt.minute, 59, 999, time.UTC)
		require.Equal(t, tt.want, banner.QuarterAt(at), "minute %d", tt.minute)
	}
	// The quarter is taken from UTC, not the wall clock's zone (UTC+5:30
	// shifts the minute by 30).
	india := time.FixedZone("IST", 5*3600+1800)
	at := time.Date(2026, 11, 25, 13, 5, 0, 0, india) // 07:35 UTC
	require.Equal(t, banner.Quarter(3), banner.QuarterAt(at))
}

// tally builds a Tally from conversions (banner → revenues in millionths),
// clicks (banner → count) and plain impressions.
func tally(revenue map[int64][]int64, clicks map[int64]int64, impressions []int64) *banner.Tally {
	t := banner.NewTally()
	for id, revs := range revenue {
		for _, r := range revs {
			t.Revenue[id] += r
		}
		t.Banners[id] = struct{}{}
	}
	for id, n := range clicks {
		t.Clicks[id] += n
		t.Banners[id] = struct{}{}
	}
	for _, id := range impressions {
		t.Banners[id] = struct{}{}
	}
	return t
}

// earning returns banners first..first+n-1, banner i earning i millionths
// times scale.
func earning(first, n int64, scale int64) map[int64][]int64 {
	m := make(map[int64][]int64)
	for id := first; id < first+n; id++ {
		m[id] = []int64{id * scale}
	}
	return m
}

func ids(first, last int64) []int64 {
	var s []int64
	for id := first; id <= last; id++ {
		s = append(s, id)
	}
	return s
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name  string
		tally *banner.Tally
		// want is the banners that must be served, in any order.
		want []int64
		// random is how many more come from pool, drawn at random.
		random int
		pool   []int64
	}{
		{
			name:  "12 converting: the top 10 by revenue",
			tally: tally(earning(1, 12, 1), nil, ids(1, 30)),
			want:  ids(3, 12),
		},
		{
			name:  "10 converting: all 10",
			tally: tally(earning(1, 10, 1), map[int64]int64{20: 9}, ids(1, 30)),
			want:  ids(1, 10),
		},
		{
			name:  "8 converting: those 8, no click-only banner",
			tally: tally(earning(1, 8, 1), map[int64]int64{20: 50, 21: 40}, ids(1, 30)),
			want:  ids(1, 8),
		},
		{
			name:  "5 converting: those 5",
			tally: tally(earning(1, 5, 1), map[int64]int64{20: 50}, ids(1, 30)),
			want:  ids(1, 5),
		},
		{
			name:  "3 converting and 3 click-only: 3 plus the 2 most clicked",
			tally: tally(earning(1, 3, 1), map[int64]int64{20: 5, 21: 7, 22: 6}, ids(1, 30)),
			want:  []int64{1, 2, 3, 21, 22},
		},
		{
			name:   "3 converting, 1 click-only: 4 plus 1 random",
			tally:  tally(earning(1, 3, 1), map[int64]int64{20: 5}, ids(1, 30)),
			want:   []int64{1, 2, 3, 20},
			random: 1,
			pool:   slices.Concat(ids(4, 19), ids(21, 30)),
		},
		{
			name:  "nothing converted, 7 clicked: the top 5 by clicks",
			tally: tally(nil, map[int64]int64{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}, ids(1, 30)),
			want:  []int64{3, 4, 5, 6, 7},
		},
		{
			name:   "3 clicked only: 3 plus 2 random",
			tally:  tally(nil, map[int64]int64{1: 1, 2: 2, 3: 3}, ids(1, 30)),
			want:   []int64{1, 2, 3},
			random: 2,
			pool:   ids(4, 30),
		},
		{
			name:   "nothing clicked: 5 random",
			tally:  tally(nil, nil, ids(1, 30)),
			random: 5,
			pool:   ids(1, 30),
		},
		{
			name:  "fewer than 5 banners: all it has",
			tally: tally(nil, map[int64]int64{7: 1}, []int64{7, 8, 9}),
			want:  []int64{7, 8, 9},
		},
		{
			name:  "one banner",
			tally: tally(map[int64][]int64{4: {1}}, nil, []int64{4}),
			want:  []int64{4},
		},
		{
			name: "revenue summed over several conversions",
			// Banner 1 has many small conversions that add up to the most.
			tally: tally(map[int64][]int64{
				1: {3, 3, 3, 3, 3}, 2: {14}, 3: {13}, 4: {12}, 5: {11}, 6: {10},
				7: {9}, 8: {8}, 9: {7}, 10: {6}, 11: {5},
			}, nil, ids(1, 11)),
			want: ids(1, 10),
		},
		{
			name: "revenues that sort wrongly as strings",
			// 9.5 > 10.25 > 100 as strings; as numbers 100 > 10.25 > 9.5.
			tally: tally(map[int64][]int64{
				1: {9_500_000}, 2: {10_250_000}, 3: {100_000_000}, 4: {20_000_000}, 5: {30_000_000},
				6: {40_000_000}, 7: {50_000_000}, 8: {60_000_000}, 9: {70_000_000}, 10: {80_000_000},
				11: {90_000_000},
			}, nil, ids(1, 11)),
			want: ids(2, 11),
		},
		{
			name: "ties at 10th place broken by lower banner ID",
			tally: tally(map[int64][]int64{
				1: {5}, 2: {5}, 3: {5}, 4: {5}, 5: {5}, 6: {5}, 7: {5}, 8: {5}, 9: {5}, 10: {5}, 11: {5}, 12: {5},
			}, nil, nil),
			want: ids(1, 10),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.tally.Campaign(banner.Key{CampaignID: 1, Quarter: 1})
			r := rand.New(rand.NewPCG(1, 2))
			for range 50 {
				got := banner.Select(nil, &c, 0, r)
				require.Len(t, got, len(tt.want)+tt.random)
				require.Subset(t, got, tt.want)
				seen := make(map[int64]bool)
				for _, id := range got {
					require.False(t, seen[id], "banner %d twice in %v", id, got)
					seen[id] = true
					if !slices.Contains(tt.want, id) {
						require.Contains(t, tt.pool, id, "random banner")
					}
				}
			}
		})
	}
}

func TestSelectVaries(t *testing.T) {
	tests := []struct {
		name  string
		tally *banner.Tally
		// minSets and maxSets bound the distinct sets of banners 40 draws
		// give: one for a fixed top 10, many for a random fill.
		minSets, maxSets int
	}{
		{"order of a fixed top 10", tally(earning(1, 12, 1), nil, nil), 1, 1},
		{"random fill", tally(nil, map[int64]int64{1: 1}, ids(1, 400)), 21, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.tally.Campaign(banner.Key{CampaignID: 1, Quarter: 1})
			r := rand.New(rand.NewPCG(3, 4))
			orders := make(map[string]bool)
			sets := make(map[string]bool)
			for range 40 {
				got := banner.Select(nil, &c, 0, r)
				orders[key(got)] = true
				sorted := slices.Sorted(slices.Values(got))
				sets[key(sorted)] = true
			}
			require.Greater(t, len(orders), 20, "40 draws gave only %d orders", len(orders))
			require.GreaterOrEqual(t, len(sets), tt.minSets, "40 draws gave %d sets", len(sets))
			require.LessOrEqual(t, len(sets), tt.maxSets, "40 draws gave %d sets", len(sets))
		})
	}
}

func key(s []int64) string {
	b := make([]byte, 0, 8*len(s))
	for _, id := range s {
		b = append(b, byte(id), byte(id>>8), ',')
	}
	return string(b)
}

func TestSelectNeverRepeatsLast(t *testing.T) {
	tests := []struct {
		name  string
		tally *banner.Tally
	}{
		{"top 10", tally(earning(1, 12, 1), nil, nil)},
		{"two banners", tally(nil, map[int64]int64{1: 1, 2: 2}, nil)},
		{"random fill", tally(nil, nil, ids(1, 6))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.tally.Campaign(banner.Key{CampaignID: 1, Quarter: 1})
			r := rand.New(rand.NewPCG(5, 6))
			var last int64
			firsts := make(map[int64]bool)
			served := make(map[int64]bool)
			for range 500 {
				got := banner.Select(nil, &c, last, r)
				require.NotEqual(t, last, got[0])
				last = got[0]
				firsts[last] = true
				for _, id := range got {
					served[id] = true
				}
			}
			// Every banner served gets its turn at the front.
			require.Equal(t, len(served), len(firsts))
		})
	}
	// A campaign with a single banner serves it again: nothing else to give.
	c := tally(nil, nil, []int64{9}).Campaign(banner.Key{CampaignID: 1, Quarter: 1})
	require.Equal(t, []int64{9}, banner.Select(nil, &c, 9, nil))
}

func TestCampaignKeepsOnlyWhatRulesUse(t *testing.T) {
	c := tally(earning(1, 12, 1), map[int64]int64{40: 3, 41: 2, 42: 1, 43: 1, 44: 1, 45: 1, 46: 1}, ids(1, 400)).
		Campaign(banner.Key{CampaignID: 7, Quarter: 2})
	require.Equal(t, 12, c.Converting)
	require.Len(t, c.Earners, banner.MaxBanners)
	require.Equal(t, banner.Earner{BannerID: 12, Revenue: 12}, c.Earners[0])
	require.Equal(t, []banner.Clicked{{40, 3}, {41, 2}, {42, 1}, {43, 1}, {44, 1}}, c.Clicked)
	require.Empty(t, c.Fill, "fill is not needed when 5 are ranked")

	c = tally(map[int64][]int64{2: {1}}, map[int64]int64{2: 1, 3: 1}, []int64{1, 2, 3, 4}).
		Campaign(banner.Key{CampaignID: 7, Quarter: 2})
	require.Equal(t, []int64{1, 4}, c.Fill)
}

func BenchmarkSelect(b *testing.B) {
	c := tally(earning(1, 40, 1), nil, ids(1, 400)).Campaign(banner.Key{CampaignID: 1, Quarter: 1})
	dst := make([]int64, 0, banner.MaxBanners)
	b.ReportAllocs()
	for b.Loop() {
		dst = banner.Select(dst[:0], &c, 3, nil)
	}
}

func BenchmarkSelectRandomFill(b *testing.B) {
	c := tally(nil, map[int64]int64{1: 1}, ids(1, 400)).Campaign(banner.Key{CampaignID: 1, Quarter: 1})
	dst := make([]int64, 0, banner.MaxBanners)
	b.ReportAllocs()
	for b.Loop() {
		dst = banner.Select(dst[:0], &c, 3, nil)
	}
}
