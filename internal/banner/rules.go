package banner

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// Tally accumulates the raw facts of one campaign in one quarter, as a
// loader reads them, before they are ranked into a Campaign.
type Tally struct {
	// Revenue is the summed revenue, in millionths, of each banner that
	// converted at least once.
	Revenue map[int64]int64
	// Clicks is the number of clicks of each clicked banner.
	Clicks map[int64]int64
	// Banners is every banner seen for the campaign: impressions and clicks.
	Banners map[int64]struct{}
}

// NewTally returns an empty Tally.
func NewTally() *Tally {
	return &Tally{
		Revenue: make(map[int64]int64),
		Clicks:  make(map[int64]int64),
		Banners: make(map[int64]struct{}),
	}
}

// Campaign ranks the tally into the read model for k.
func (t *Tally) Campaign(k Key) Campaign {
	c := Campaign{Key: k, Converting: len(t.Revenue)}
	for id, rev := range t.Revenue {
		c.Earners = append(c.Earners, Earner{BannerID: id, Revenue: rev})
	}
	slices.SortFunc(c.Earners, func(a, b Earner) int {
		return cmp.Or(cmp.Compare(b.Revenue, a.Revenue), cmp.Compare(a.BannerID, b.BannerID))
	})
	c.Earners = trim(c.Earners, MaxBanners)

	for id, n := range t.Clicks {
		if _, ok := t.Revenue[id]; !ok {
			c.Clicked = append(c.Clicked, Clicked{BannerID: id, Clicks: n})
		}
	}
	slices.SortFunc(c.Clicked, func(a, b Clicked) int {
		return cmp.Or(cmp.Compare(b.Clicks, a.Clicks), cmp.Compare(a.BannerID, b.BannerID))
	})
	c.Clicked = trim(c.Clicked, MinBanners)

	if len(c.Earners)+len(c.Clicked) < MinBanners {
		for id := range t.Banners {
			// Fewer than MinBanners means Clicked was not trimmed: every
			// clicked or converting banner is already served.
			_, earned := t.Revenue[id]
			_, clicked := t.Clicks[id]
			if !earned && !clicked {
				c.Fill = append(c.Fill, id)
			}
		}
		slices.Sort(c.Fill)
	}
	return c
}

// trim cuts s to at most n elements and drops spare capacity.
func trim[S ~[]E, E any](s S, n int) S {
	if len(s) > n {
		s = s[:n]
	}
	return slices.Clip(s)
}

// Empty reports whether c has no banner to serve.
func (c *Campaign) Empty() bool {
	return len(c.Earners) == 0 && len(c.Clicked) == 0 && len(c.Fill) == 0
}

// Select appends to dst the banners to serve for c, in random order, and
// returns the extended slice:
//
//   - ten or more converting banners: the top 10 by revenue;
//   - five to nine: all of them;
//   - one to four: all of them, then the most-clicked banners that did not
//     convert, then random other banners of the campaign, up to five;
//   - none: the top five by clicks, then random banners, up to five.
//
// A campaign with fewer banners gets all it has. The random fill is drawn
// anew on every call and the result is shuffled. When the result has more
// than one banner its first is never last, the banner the visitor was served
// before (0 for none). r supplies randomness; nil means the global source.
func Select(dst []int64, c *Campaign, last int64, r *rand.Rand) []int64 {
	start := len(dst)
	for i := 0; i < len(c.Earners) && i < MaxBanners; i++ {
		dst = append(dst, c.Earners[i].BannerID)
	}
	for i := 0; i < len(c.Clicked) && len(dst)-start < MinBanners; i++ {
		dst = append(dst, c.Clicked[i].BannerID)
	}
	dst = fill(dst, start, c.Fill, r)

	got := dst[start:]
	for i := len(got) - 1; i > 0; i-- {
		j := intN(r, i+1)
		got[i], got[j] = got[j], got[i]
	}
	if len(got) > 1 && got[0] == last {
		j := 1 + intN(r, len(got)-1)
		got[0], got[j] = got[j], got[0]
	}
	return dst
}

// fill appends distinct random banners from pool until dst[start:] holds
// MinBanners or pool is used up. pool holds no banner already in dst.
func fill(dst []int64, start int, pool []int64, r *rand.Rand) []int64 {
	need := MinBanners - (len(dst) - start)
	if need <= 0 || len(pool) == 0 {
		return dst
	}
	if need >= len(pool) {
		return append(dst, pool...)
	}
	// Floyd's algorithm: need distinct indices of pool, no allocation.
	var picked [MinBanners]int
	n := 0
	for j := len(pool) - need; j < len(pool); j++ {
		t := intN(r, j+1)
		if slices.Contains(picked[:n], t) {
			t = j
		}
		picked[n] = t
		n++
	}
	for _, i := range picked[:n] {
		dst = append(dst, pool[i])
	}
	return dst
}

// intN returns a random int in [0, n) from r, or the global source if r is nil.
func intN(r *rand.Rand, n int) int {
	if r == nil {
		return rand.IntN(n)
	}
	return r.IntN(n)
}
