// Package banner is the domain core of Banners: quarters of the hour, the
// per-campaign read model and the rules that choose which banners to serve.
//
// It imports only the standard library. Adapters (CSV loading, DynamoDB, the
// cache, HTTP) live in sibling packages and depend on this one, never the
// other way round.
package banner

import (
	"context"
	"errors"
	"time"
)

// Store gives the read model of one campaign in one quarter. The in-memory
// store, the DynamoDB store, the cache and the tracing wrapper are Stores,
// and the HTTP API serves from one.
//
// Campaign returns a non-nil read model and a nil error, or:
//   - an error matching ErrNotFound when the campaign has no banners in
//     that quarter (an answer, not a failure: it may be cached);
//   - an error matching ErrUnavailable when the store cannot answer for
//     now (the caller may retry later);
//   - ctx.Err() when ctx is done first;
//   - any other error for a failure that is not the caller's to fix.
type Store interface {
	Campaign(ctx context.Context, k Key) (*Campaign, error)
}

// Errors returned by stores and rules. The HTTP edge maps them to status codes.
var (
	// ErrNotFound means the campaign has no banners in the requested quarter.
	ErrNotFound = errors.New("campaign not found")
	// ErrUnavailable means the backing store could not answer in time and
	// nothing usable was cached; the caller may retry later.
	ErrUnavailable = errors.New("banners temporarily unavailable")
)

// Quarter is a quarter of the hour, 1 to 4; each has its own dataset.
type Quarter int

// Quarters is the number of quarters in an hour.
const Quarters = 4

// QuarterAt returns the quarter of t's UTC minute: minutes 0–14 are quarter
// 1, 15–29 quarter 2, 30–44 quarter 3 and 45–59 quarter 4.
func QuarterAt(t time.Time) Quarter {
	return Quarter(t.UTC().Minute()/15 + 1)
}

// Valid reports whether q is 1, 2, 3 or 4.
func (q Quarter) Valid() bool { return q >= 1 && q <= Quarters }

// Key names one campaign in one quarter: the unit the rules and the stores
// work on.
type Key struct {
	CampaignID int64
	Quarter    Quarter
}

// Earner is a banner that converted, with its revenue summed over all of its
// clicks' conversions.
type Earner struct {
	BannerID int64
	// Revenue is in millionths of the currency unit, so sums are exact and
	// do not depend on the order conversions arrive in.
	Revenue int64
}

// Clicked is a banner that was clicked but did not convert.
type Clicked struct {
	BannerID int64
	Clicks   int64
}

// Campaign is the read model of one campaign in one quarter: exactly what
// the rules need, already ranked, and nothing more.
type Campaign struct {
	Key
	// Converting is the number of banners with at least one conversion (the
	// rules' X).
	Converting int
	// Earners holds the top converting banners by revenue, highest first, ties
	// by lower banner ID; at most MaxBanners.
	Earners []Earner
	// Clicked holds the most-clicked banners that did not convert, most
	// clicks first, ties by lower banner ID; at most MinBanners.
	Clicked []Clicked
	// Fill holds the campaign's other banners (from its impressions), in
	// ascending ID order, for random fill. It is kept only when Earners and
	// Clicked together hold fewer than MinBanners, since only then is it used.
	Fill []int64
}

// Rule limits from the assignment.
const (
	// MaxBanners is the most banners served for one campaign.
	MaxBanners = 10
	// MinBanners is the size a collection is topped up to when fewer than
	// that many banners converted.
	MinBanners = 5
)

// MaxIDDigits is the most decimal digits an ID may have: every ID below
// 10^18 fits an int64.
const MaxIDDigits = 18

// ParseID parses a campaign, banner, click or conversion ID: a positive
// decimal of at most MaxIDDigits digits, digits only. It does not allocate.
func ParseID[T string | []byte](s T) (int64, bool) {
	if len(s) == 0 || len(s) > MaxIDDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n > 0
}
