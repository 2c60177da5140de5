// Package httpapi is the Banners HTTP API: one http.Handler that the local
// server and the API Lambda both run.
//
//	GET /api/campaigns/{campaign_id}/banners[?quarter=1..4]  the banners to show, as JSON
//	GET /campaigns/{campaign_id}[?quarter=1..4]              302 to one banner's image (the ad tag)
//
// A cookie remembers the last banner a visitor was served, so that nobody
// gets the same banner twice in a row. Over HTTPS it is sent for ad tags
// embedded in other sites' pages too: Secure, SameSite=None and
// Partitioned (CHIPS), so each embedding site keeps its own history; over
// plain HTTP (the local server) it is SameSite=Lax.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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

// Answer is the JSON body of GET /api/campaigns/{campaign_id}/banners, for
// clients and tests; the handler writes it without encoding/json (see
// appendAnswer), byte for byte as encoding/json would write this type.
type Answer struct {
	CampaignID int64    `json:"campaign_id"`
	Quarter    int      `json:"quarter"`
	Banners    []Banner `json:"banners"`
}

// Banner is one banner of an Answer, in serving order.
type Banner struct {
	ID       int64  `json:"id"`
	ImageURL string `json:"image_url"`
}

// Handler serves the API. Create it with New.
type Handler struct {
	store banner.Store
	opts  Options // defaults filled in
	// imageJSON is ImageBaseURL + "image_" as JSON string content (escaped).
	imageJSON  []byte
	retryAfter string
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
	return &Handler{
		store: store,
		opts:  opts,
		// The image URLs' prefix is known now: escape it for JSON once.
		imageJSON:  jsonString(opts.ImageBaseURL + "image_"),
		retryAfter: strconv.Itoa(opts.RetryAfter),
	}
}

// ServeHTTP routes the two endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rest string
	var ok, redirect bool
	if rest, ok = strings.CutPrefix(r.URL.Path, "/api/campaigns/"); ok {
		rest, ok = strings.CutSuffix(rest, "/banners")
	} else if rest, ok = strings.CutPrefix(r.URL.Path, "/campaigns/"); ok {
		rest = strings.TrimSuffix(rest, "/")
		redirect = true
	}
	if !ok || strings.Contains(rest, "/") {
		h.error(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.error(w, http.StatusMethodNotAllowed, "method "+strconv.Quote(r.Method[:min(len(r.Method), 32)])+" not allowed, use GET")
		return
	}
	id, ok := banner.ParseID(rest)
	if !ok {
		h.error(w, http.StatusBadRequest, "campaign_id must be a positive integer below 10^18")
		return
	}
	q, ok := quarter(r)
	if !ok {
		h.error(w, http.StatusBadRequest, "quarter must be 1, 2, 3 or 4")
		return
	}
	if q == 0 {
		q = banner.QuarterAt(h.opts.Now())
	}
	h.serve(w, r, banner.Key{CampaignID: id, Quarter: q}, redirect)
}

// serve answers for one campaign and quarter.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, k banner.Key, redirect bool) {
	ctx := r.Context()
	if h.opts.Annotate != nil {
		h.opts.Annotate(ctx, "campaign_id", k.CampaignID)
		h.opts.Annotate(ctx, "quarter", int(k.Quarter))
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
	if h.opts.Annotate != nil {
		// What was served: the ad tag serves one banner of the selection.
		if redirect {
			h.opts.Annotate(ctx, "banners", 1)
			h.opts.Annotate(ctx, "banner_id", ids[0])
		} else {
			h.opts.Annotate(ctx, "banners", len(ids))
		}
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	http.SetCookie(w, h.cookie(ids[0], overHTTPS(r)))
	if redirect {
		hdr.Set("Location", h.opts.ImageBaseURL+"image_"+strconv.FormatInt(ids[0], 10)+".png")
		w.WriteHeader(http.StatusFound)
		return
	}
	body := appendAnswer(make([]byte, 0, 64+len(ids)*(32+len(h.imageJSON))), k, ids, h.imageJSON)
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // the client went away; nothing to do
	}
}

// jsonString returns s encoded as the content of a JSON string (without
// the quotes), as encoding/json writes it with SetEscapeHTML(false).
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) //nolint:errcheck // a string always encodes
	q := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return q[1 : len(q)-1]
}

// appendAnswer appends the JSON answer for k serving ids, one line, as
// encoding/json writes an answer (with SetEscapeHTML(false)):
//
//	{"campaign_id":10,"quarter":2,"banners":[{"id":123,"image_url":"/images/image_123.png"}]}
//
// imageJSON is the image URLs' prefix, escaped for a JSON string.
func appendAnswer(b []byte, k banner.Key, ids []int64, imageJSON []byte) []byte {
	b = append(b, `{"campaign_id":`...)
	b = strconv.AppendInt(b, k.CampaignID, 10)
	b = append(b, `,"quarter":`...)
	b = strconv.AppendInt(b, int64(k.Quarter), 10)
	b = append(b, `,"banners":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		start := len(b)
		b = strconv.AppendInt(b, id, 10)
		digits := b[start:]
		b = append(b, `,"image_url":"`...)
		b = append(b, imageJSON...)
		b = append(b, digits...)
		b = append(b, `.png"}`...)
	}
	return append(b, "]}\n"...)
}

// cookie returns the last-banner cookie naming id. Over HTTPS it must work
// for an ad tag on another site's page, where a SameSite=Lax cookie is
// neither sent nor stored: SameSite=None, which browsers accept only with
// Secure, and Partitioned (CHIPS), so that it is kept per embedding site
// even where third-party cookies are blocked. Over plain HTTP, SameSite=None
// would be refused, so it is Lax.
func (h *Handler) cookie(id int64, https bool) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    strconv.FormatInt(id, 10),
		Path:     "/",
		MaxAge:   h.opts.CookieMaxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if https {
		c.Secure, c.SameSite, c.Partitioned = true, http.SameSiteNoneMode, true
	}
	return c
}

// storeError answers for an error from the store.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, k banner.Key, err error) {
	switch {
	case errors.Is(err, banner.ErrNotFound):
		h.error(w, http.StatusNotFound, notFound(k))
	case errors.Is(err, banner.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.opts.Logger.WarnContext(r.Context(), "store unavailable", "campaign_id", k.CampaignID, "quarter", int(k.Quarter), "err", err)
		w.Header().Set("Retry-After", h.retryAfter)
		h.error(w, http.StatusServiceUnavailable, "banners are temporarily unavailable, retry shortly")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		h.error(w, http.StatusServiceUnavailable, "request canceled")
	default:
		h.opts.Logger.ErrorContext(r.Context(), "store failed", "campaign_id", k.CampaignID, "quarter", int(k.Quarter), "err", err)
		h.error(w, http.StatusInternalServerError, "internal error")
	}
}

func notFound(k banner.Key) string {
	return "campaign " + strconv.FormatInt(k.CampaignID, 10) + " has no banners in quarter " + strconv.Itoa(int(k.Quarter))
}

// error writes {"error": msg} with status, one line, as encoding/json
// writes it. (net/http drops the body of a HEAD answer itself.)
func (h *Handler) error(w http.ResponseWriter, status int, msg string) {
	body := append(append([]byte(`{"error":"`), jsonString(msg)...), "\"}\n"...)
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}

// quarter returns the quarter parameter: 0 when absent, false when present
// but not 1 to 4 (or given twice with different values). As everywhere in
// net/http, a pair the query parser rejects (a bad escape, a semicolon) is
// ignored.
func quarter(r *http.Request) (banner.Quarter, bool) {
	var q banner.Quarter
	for _, value := range r.URL.Query()["quarter"] {
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
	c, err := r.Cookie(CookieName)
	if err != nil {
		return 0
	}
	id, _ := banner.ParseID(c.Value)
	return id
}

// overHTTPS reports whether the visitor reached us over HTTPS: a TLS
// connection (the function URL adapter says so too) or a proxy that says
// so in X-Forwarded-Proto.
func overHTTPS(r *http.Request) bool {
	p := r.Header["X-Forwarded-Proto"]
	return r.TLS != nil || len(p) > 0 && p[0] == "https"
}
