// Package httpapi is the Banners HTTP API: one http.Handler that the local
// server and the API Lambda both run.
//
//	GET /api/campaigns/{campaign_id}/banners[?quarter=1..4]  the banners to show, as JSON
//	GET /campaigns/{campaign_id}[?quarter=1..4]              302 to one banner's image (the ad tag)
//
// A cookie remembers the last banner a visitor was served, so that nobody
// gets the same banner twice in a row.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"banners/internal/banner"
)

// CookieName is the cookie that remembers the last banner served.
const CookieName = "banner_last"

// Options configure a Handler. The zero value works.
type Options struct {
	// ImageBaseURL is prepended to "image_<id>.png" to make a banner's
	// image_url. Default "/images/".
	ImageBaseURL string
	// CookieMaxAge is how long the last-banner cookie lives, in whole
	// seconds. Default 86400 (one day).
	CookieMaxAge int
	// RetryAfter is the Retry-After sent with a 503, in whole seconds.
	// Default 5.
	RetryAfter int
	// Now tells the time, for the current quarter. Default time.Now.
	Now func() time.Time
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger
	// Annotate, if set, records a fact of the request (campaign_id,
	// quarter, banners) for tracing.
	Annotate func(ctx context.Context, key string, value any)
}

// Handler serves the API. Create it with New.
type Handler struct {
	store      banner.Store
	imageBase  string // JSON-escaped once
	location   string // as given, for Location headers
	cookieTail string // "; Path=/; Max-Age=...; HttpOnly; SameSite=Lax"
	retryAfter []string
	now        func() time.Time
	log        *slog.Logger
	annotate   func(ctx context.Context, key string, value any)
}

// New returns a Handler serving banners from store.
func New(store banner.Store, opts Options) *Handler {
	if opts.ImageBaseURL == "" {
		opts.ImageBaseURL = "/images/"
	}
	if opts.CookieMaxAge <= 0 {
		opts.CookieMaxAge = 86400
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	esc := strconv.Quote(opts.ImageBaseURL)
	return &Handler{
		store:      store,
		imageBase:  esc[1 : len(esc)-1],
		location:   opts.ImageBaseURL,
		cookieTail: "; Path=/; Max-Age=" + strconv.Itoa(opts.CookieMaxAge) + "; HttpOnly; SameSite=Lax",
		retryAfter: []string{strconv.Itoa(opts.RetryAfter)},
		now:        opts.Now,
		log:        opts.Logger,
		annotate:   opts.Annotate,
	}
}

// Header values shared by every response; net/http never modifies them.
var (
	contentJSON = []string{"application/json"}
	noStore     = []string{"no-store"}
	allowGet    = []string{"GET, HEAD"}
)

// ServeHTTP routes the two endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	var (
		rest     string
		redirect bool
	)
	switch {
	case strings.HasPrefix(path, "/api/campaigns/"):
		rest = path[len("/api/campaigns/"):]
		var ok bool
		if rest, ok = strings.CutSuffix(rest, "/banners"); !ok || strings.Contains(rest, "/") {
			h.error(w, http.StatusNotFound, "not found")
			return
		}
	case strings.HasPrefix(path, "/campaigns/"):
		rest = strings.TrimSuffix(path[len("/campaigns/"):], "/")
		if strings.Contains(rest, "/") {
			h.error(w, http.StatusNotFound, "not found")
			return
		}
		redirect = true
	default:
		h.error(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = allowGet
		h.error(w, http.StatusMethodNotAllowed, "method "+strconv.Quote(cutString(r.Method, 32))+" not allowed, use GET")
		return
	}
	id, ok := banner.ParseID(rest)
	if !ok {
		h.error(w, http.StatusBadRequest, "campaign_id must be a positive integer below 10^18")
		return
	}
	q, ok := quarter(r.URL.RawQuery)
	if !ok {
		h.error(w, http.StatusBadRequest, "quarter must be 1, 2, 3 or 4")
		return
	}
	if q == 0 {
		q = banner.QuarterAt(h.now())
	}
	h.serve(w, r, banner.Key{CampaignID: id, Quarter: q}, redirect)
}

// serve answers for one campaign and quarter.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, k banner.Key, redirect bool) {
	ctx := r.Context()
	if h.annotate != nil {
		h.annotate(ctx, "campaign_id", k.CampaignID)
		h.annotate(ctx, "quarter", int(k.Quarter))
	}
	c, err := h.store.Campaign(ctx, k)
	if err != nil {
		h.storeError(w, r, k, err)
		return
	}
	var buf [banner.MaxBanners]int64
	ids := banner.Select(buf[:0], c, lastBanner(r), nil)
	if len(ids) == 0 {
		h.error(w, http.StatusNotFound, notFound(k))
		return
	}
	if h.annotate != nil {
		h.annotate(ctx, "banners", len(ids))
	}
	// The two per-request header values, the cookie and then the Location
	// or the Content-Length, are built on the stack and share one string and
	// one backing array: two allocations per answer.
	var vb [256]byte
	v := append(vb[:0], CookieName+"="...)
	v = strconv.AppendInt(v, ids[0], 10)
	v = append(v, h.cookieTail...)
	v = append(v, secure(r)...)
	cookieEnd := len(v)
	var b []byte
	var bp *[]byte
	if redirect {
		v = append(v, h.location...)
		v = append(v, "image_"...)
		v = strconv.AppendInt(v, ids[0], 10)
		v = append(v, ".png"...)
	} else {
		bp = bufPool.Get().(*[]byte)
		b = h.appendJSON((*bp)[:0], k, ids)
		v = strconv.AppendInt(v, int64(len(b)), 10)
	}
	str := string(v)
	vals := []string{str[:cookieEnd], str[cookieEnd:]}
	hdr := w.Header()
	hdr["Cache-Control"] = noStore
	// Capacity 1: a later Header.Add must not overwrite the other value.
	hdr["Set-Cookie"] = vals[0:1:1]
	if redirect {
		hdr["Location"] = vals[1:2:2]
		w.WriteHeader(http.StatusFound)
		return
	}
	hdr["Content-Type"] = contentJSON
	hdr["Content-Length"] = vals[1:2:2]
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b) //nolint:errcheck // the client went away; nothing to do
	}
	*bp = b
	bufPool.Put(bp)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendJSON appends the banners answer to b.
func (h *Handler) appendJSON(b []byte, k banner.Key, ids []int64) []byte {
	b = append(b, `{"campaign_id":`...)
	b = strconv.AppendInt(b, k.CampaignID, 10)
	b = append(b, `,"quarter":`...)
	b = strconv.AppendInt(b, int64(k.Quarter), 10)
	b = append(b, `,"banners":[`...)
	var num [20]byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		n := strconv.AppendInt(num[:0], id, 10) // formatted once, used twice
		b = append(b, `{"id":`...)
		b = append(b, n...)
		b = append(b, `,"image_url":"`...)
		b = append(b, h.imageBase...)
		b = append(b, "image_"...)
		b = append(b, n...)
		b = append(b, `.png"}`...)
	}
	return append(b, "]}\n"...)
}

// storeError answers for an error from the store.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, k banner.Key, err error) {
	switch {
	case errors.Is(err, banner.ErrNotFound):
		h.error(w, http.StatusNotFound, notFound(k))
	case errors.Is(err, banner.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.log.WarnContext(r.Context(), "store unavailable", "campaign_id", k.CampaignID, "quarter", int(k.Quarter), "err", err)
		w.Header()["Retry-After"] = h.retryAfter
		h.error(w, http.StatusServiceUnavailable, "banners are temporarily unavailable, retry shortly")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		h.error(w, http.StatusServiceUnavailable, "request canceled")
	default:
		h.log.ErrorContext(r.Context(), "store failed", "campaign_id", k.CampaignID, "quarter", int(k.Quarter), "err", err)
		h.error(w, http.StatusInternalServerError, "internal error")
	}
}

func notFound(k banner.Key) string {
	return "campaign " + strconv.FormatInt(k.CampaignID, 10) + " has no banners in quarter " + strconv.Itoa(int(k.Quarter))
}

// error writes {"error": msg} with status.
func (h *Handler) error(w http.ResponseWriter, status int, msg string) {
	hdr := w.Header()
	hdr["Content-Type"] = contentJSON
	hdr["Cache-Control"] = noStore
	b := make([]byte, 0, len(msg)+16)
	b = append(b, `{"error":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, "}\n"...)
	hdr["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client went away; nothing to do
}

// quarter finds the quarter parameter in a raw query: 0 when absent, false
// when present but not 1 to 4 (or given twice with different values).
func quarter(raw string) (banner.Quarter, bool) {
	var q banner.Quarter
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, value, _ := strings.Cut(pair, "=")
		if strings.Contains(key, "%") || strings.Contains(key, "+") {
			k, err := url.QueryUnescape(key)
			if err != nil {
				continue
			}
			key = k
		}
		if key != "quarter" {
			continue
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		if len(value) != 1 || value[0] < '1' || value[0] > '4' {
			return 0, false
		}
		got := banner.Quarter(value[0] - '0')
		if q != 0 && q != got {
			return 0, false
		}
		q = got
	}
	return q, true
}

// lastBanner returns the banner the visitor's cookie names, or 0.
func lastBanner(r *http.Request) int64 {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && name == CookieName {
				id, _ := banner.ParseID(strings.Trim(value, `"`))
				return id
			}
		}
	}
	return 0
}

// secure returns "; Secure" when the visitor reached us over HTTPS.
func secure(r *http.Request) string {
	if r.TLS != nil || first(r.Header["X-Forwarded-Proto"]) == "https" || first(r.Header["Cloudfront-Forwarded-Proto"]) == "https" {
		return "; Secure"
	}
	return ""
}

// first is Header.Get for a key already in canonical form, without
// canonicalising it again on every request.
func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

func cutString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
