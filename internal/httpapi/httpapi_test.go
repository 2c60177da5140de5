package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/httpapi"
	"banners/internal/memory"
)

// campaign builds a read model from banner → revenue (millionths), banner →
// clicks and the campaign's other banners.
func campaign(k banner.Key, revenue map[int64]int64, clicks map[int64]int64, others ...int64) banner.Campaign {
	t := banner.NewTally()
	for id, r := range revenue {
		t.Revenue[id] = r
		t.Banners[id] = struct{}{}
	}
	for id, n := range clicks {
		t.Clicks[id] = n
		t.Banners[id] = struct{}{}
	}
	for _, id := range others {
		t.Banners[id] = struct{}{}
	}
	return t.Campaign(k)
}

// store holds: campaign 10 in quarter 2 with 12 earners (101–112), campaign
// 20 in quarter 1 with one clicked banner among 100, campaign 30 with a
// single banner.
func store() *memory.Store {
	top := map[int64]int64{}
	for id := int64(101); id <= 112; id++ {
		top[id] = id * 1000
	}
	var others []int64
	for id := int64(200); id < 300; id++ {
		others = append(others, id)
	}
	return memory.New([]banner.Campaign{
		campaign(banner.Key{CampaignID: 10, Quarter: 2}, top, nil),
		campaign(banner.Key{CampaignID: 20, Quarter: 1}, nil, map[int64]int64{7: 3}, others...),
		campaign(banner.Key{CampaignID: 30, Quarter: 1}, nil, nil, 5),
	})
}

// at17 is a time in quarter 2 (minute 17).
func at17() time.Time { return time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC) }

func newHandler(s banner.Store) *httpapi.Handler {
	return httpapi.New(s, httpapi.Options{Now: at17, Logger: slog.New(slog.DiscardHandler)})
}

func do(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		method, target string
		wantStatus     int
		wantError      string
		wantAllow      string
	}{
		{"GET", "/api/campaigns/abc/banners", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/api/campaigns/0/banners", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/api/campaigns/-3/banners", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/api/campaigns/1e3/banners", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/api/campaigns/99999999999999999999999/banners", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/api/campaigns//banners", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/campaigns/x", 400, "campaign_id must be a positive integer below 10^18", ""},
		{"GET", "/api/campaigns/10/banners?quarter=5", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?quarter=0", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?quarter=", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?quarter=22", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?quarter=1&quarter=2", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?quarter=+2", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?q%75arter=9", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/campaigns/10?quarter=x", 400, "quarter must be 1, 2, 3 or 4", ""},
		{"GET", "/api/campaigns/10/banners?quarter=1", 404, "campaign 10 has no banners in quarter 1", ""},
		{"GET", "/api/campaigns/11/banners", 404, "campaign 11 has no banners in quarter 2", ""},
		{"GET", "/campaigns/11", 404, "campaign 11 has no banners in quarter 2", ""},
		{"GET", "/api/campaigns/10", 404, "not found", ""},
		{"GET", "/api/campaigns/10/banners/extra", 404, "not found", ""},
		{"GET", "/campaigns/10/x", 404, "not found", ""},
		{"GET", "/elsewhere", 404, "not found", ""},
		{"POST", "/api/campaigns/10/banners", 405, `method "POST" not allowed, use GET`, "GET, HEAD"},
		{"DELETE", "/campaigns/10", 405, `method "DELETE" not allowed, use GET`, "GET, HEAD"},
		{"OPTIONS", "/campaigns/10", 405, `method "OPTIONS" not allowed, use GET`, "GET, HEAD"},
	}
	h := newHandler(store())
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			resp := do(t, h, tt.method, tt.target, nil)
			require.Equal(t, tt.wantStatus, resp.StatusCode)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.Equal(t, tt.wantAllow, resp.Header.Get("Allow"))
			var got struct{ Error string }
			require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &got))
			require.Equal(t, tt.wantError, got.Error)
			require.Empty(t, resp.Header.Get("Set-Cookie"))
		})
	}
}

// failing is a store that fails with err.
type failing struct{ err error }

func (f failing) Campaign(context.Context, banner.Key) (*banner.Campaign, error) { return nil, f.err }

func TestStoreFailures(t *testing.T) {
	tests := []struct {
		name           string
		err            error
		wantStatus     int
		wantError      string
		wantRetryAfter string
	}{
		{"unavailable", fmt.Errorf("get C#1: %w", banner.ErrUnavailable), 503, "banners are temporarily unavailable, retry shortly", "5"},
		{"deadline", context.DeadlineExceeded, 503, "banners are temporarily unavailable, retry shortly", "5"},
		{"anything else hides its internals", errors.New("dial tcp 10.0.0.1:443: secret detail"), 500, "internal error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, newHandler(failing{tt.err}), "GET", "/api/campaigns/1/banners", nil)
			require.Equal(t, tt.wantStatus, resp.StatusCode)
			require.Equal(t, tt.wantRetryAfter, resp.Header.Get("Retry-After"))
			require.JSONEq(t, `{"error":"`+tt.wantError+`"}`, body(t, resp))
		})
	}
}

func TestBanners(t *testing.T) {
	resp := do(t, newHandler(store()), "GET", "/api/campaigns/10/banners", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var got httpapi.Answer
	require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &got))
	require.Equal(t, int64(10), got.CampaignID)
	require.Equal(t, 2, got.Quarter, "the quarter of minute 17")
	require.Len(t, got.Banners, 10)
	var ids []int64
	for _, b := range got.Banners {
		require.Equal(t, fmt.Sprintf("/images/image_%d.png", b.ID), b.ImageURL)
		ids = append(ids, b.ID)
	}
	slices.Sort(ids)
	require.Equal(t, []int64{103, 104, 105, 106, 107, 108, 109, 110, 111, 112}, ids)

	cookie := resp.Header.Get("Set-Cookie")
	require.Equal(t, fmt.Sprintf("banner_last=%d; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax", got.Banners[0].ID), cookie)

	// An explicit quarter and a configured image base.
	h := httpapi.New(store(), httpapi.Options{Now: at17, ImageBaseURL: "https://cdn.example/b/"})
	resp = do(t, h, "GET", "/api/campaigns/30/banners?quarter=1", nil)
	require.JSONEq(t, `{"campaign_id":30,"quarter":1,"banners":[{"id":5,"image_url":"https://cdn.example/b/image_5.png"}]}`, body(t, resp))
}

func TestQuarterParameter(t *testing.T) {
	// Campaign 10 has banners in quarter 2 only, the quarter of at17.
	tests := []struct {
		query string
		want  int
	}{
		{"", 2},
		{"quarter=2", 2},
		{"quarter=%32", 2},
		{"q%75arter=2", 2},
		{"quarter=2&quarter=2", 2},
		{"utm_source=news&quarter=2&utm_source=footer", 2},
		// A pair the standard library's query parser rejects is ignored, as
		// net/http's Request.FormValue ignores it: the rest still counts.
		{"ref=50%&quarter=2", 2},
		{"quarter=%zz", 2},
		{"quarter=1;x", 2},
	}
	h := newHandler(store())
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp := do(t, h, "GET", "/api/campaigns/10/banners?"+tt.query, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var got httpapi.Answer
			require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &got))
			require.Equal(t, tt.want, got.Quarter)
		})
	}
}

func TestLastBannerCookie(t *testing.T) {
	// Campaign 40 has two banners: the one the cookie names is never first.
	h := newHandler(memory.New([]banner.Campaign{campaign(banner.Key{CampaignID: 40, Quarter: 2}, map[int64]int64{1: 10, 2: 20}, nil)}))
	tests := []struct {
		name   string
		cookie []string
		want   int64
	}{
		{"alone", []string{"banner_last=1"}, 2},
		{"among others", []string{"a=b; banner_last=2; theme=dark"}, 1},
		{"quoted", []string{`banner_last="1"`}, 2},
		{"on a second Cookie line", []string{"a=b", "banner_last=2"}, 1},
		{"first of two wins", []string{"banner_last=1; banner_last=2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 {
				resp := do(t, h, "GET", "/api/campaigns/40/banners", http.Header{"Cookie": tt.cookie})
				var got httpapi.Answer
				require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &got))
				require.Len(t, got.Banners, 2)
				require.Equal(t, tt.want, got.Banners[0].ID)
			}
		})
	}
}

func TestHead(t *testing.T) {
	h := newHandler(store())
	resp := do(t, h, "HEAD", "/api/campaigns/10/banners", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, body(t, resp))
	get := body(t, do(t, h, "GET", "/api/campaigns/10/banners", nil))
	require.Equal(t, strconv.Itoa(len(get)), resp.Header.Get("Content-Length"), "the GET answer's length")
	require.NotEmpty(t, resp.Header.Get("Set-Cookie"))
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name   string
		target string
		tls    bool
		header http.Header
		want   string // the cookie's attributes after banner_last=<id>
	}{
		{"plain HTTP: Lax", "/campaigns/10", false, nil, "; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"},
		{"plain HTTP, JSON answer", "/api/campaigns/10/banners", false, nil, "; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"},
		{"TLS connection: for third-party embeds, partitioned", "/campaigns/10", true, nil, "; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned"},
		{"TLS, JSON answer", "/api/campaigns/10/banners", true, nil, "; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned"},
		{"HTTPS proxy", "/campaigns/10", false, http.Header{"X-Forwarded-Proto": {"https"}}, "; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned"},
		{"HTTP proxy", "/campaigns/10", false, http.Header{"X-Forwarded-Proto": {"http"}}, "; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"},
	}
	h := newHandler(store())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.target, nil)
			if tt.tls {
				req = httptest.NewRequest("GET", "https://example.test"+tt.target, nil)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			cookies := rec.Result().Header["Set-Cookie"]
			require.Len(t, cookies, 1)
			name, rest, _ := strings.Cut(cookies[0], "=")
			require.Equal(t, httpapi.CookieName, name)
			id, attrs, _ := strings.Cut(rest, ";")
			_, err := strconv.ParseInt(id, 10, 64)
			require.NoError(t, err, cookies[0])
			require.Equal(t, tt.want, ";"+attrs)
		})
	}
}

func TestRedirect(t *testing.T) {
	resp := do(t, newHandler(store()), "GET", "/campaigns/10/", nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc := resp.Header.Get("Location")
	var id int64
	_, err := fmt.Sscanf(loc, "/images/image_%d.png", &id)
	require.NoError(t, err, loc)
	require.True(t, id >= 103 && id <= 112, "banner %d is not in the top 10", id)
	require.Equal(t, fmt.Sprintf("banner_last=%d; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax", id), resp.Header.Get("Set-Cookie"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

// jar follows one visitor: it keeps the cookie the handler sets.
type jar struct{ cookie string }

func (j *jar) get(t *testing.T, h http.Handler, target string) *http.Response {
	t.Helper()
	hdr := http.Header{}
	if j.cookie != "" {
		hdr.Set("Cookie", "other=1; "+j.cookie+"; theme=dark")
	}
	resp := do(t, h, "GET", target, hdr)
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		j.cookie, _, _ = strings.Cut(c, ";")
	}
	return resp
}

func TestNeverTheSameBannerTwiceInARow(t *testing.T) {
	h := newHandler(store())
	for _, target := range []string{"/api/campaigns/10/banners", "/campaigns/10", "/campaigns/20?quarter=1"} {
		t.Run(target, func(t *testing.T) {
			var j jar
			var last int64
			firsts := map[int64]bool{}
			for range 300 {
				// Alternate the two endpoints: the rule holds across them.
				for _, tgt := range []string{target, strings.Replace(strings.Replace(target, "/api/campaigns/", "/campaigns/", 1), "/banners", "", 1)} {
					resp := j.get(t, h, tgt)
					var got int64
					if resp.StatusCode == http.StatusFound {
						_, err := fmt.Sscanf(resp.Header.Get("Location"), "/images/image_%d.png", &got)
						require.NoError(t, err)
					} else {
						var a httpapi.Answer
						require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &a))
						got = a.Banners[0].ID
					}
					require.NotEqual(t, last, got, "banner %d twice in a row", got)
					last = got
					firsts[got] = true
				}
			}
			require.Greater(t, len(firsts), 4)
		})
	}
}

func TestShuffleAndRandomFillVary(t *testing.T) {
	h := newHandler(store())
	orders := map[string]bool{}
	fills := map[int64]bool{}
	for range 50 {
		var a httpapi.Answer
		require.NoError(t, json.Unmarshal([]byte(body(t, do(t, h, "GET", "/api/campaigns/10/banners", nil))), &a))
		orders[fmt.Sprint(a.Banners)] = true

		var b httpapi.Answer
		require.NoError(t, json.Unmarshal([]byte(body(t, do(t, h, "GET", "/api/campaigns/20/banners?quarter=1", nil))), &b))
		require.Len(t, b.Banners, 5)
		for _, x := range b.Banners {
			if x.ID != 7 {
				fills[x.ID] = true
			}
		}
	}
	require.Greater(t, len(orders), 40, "50 requests gave %d orders", len(orders))
	require.Greater(t, len(fills), 50, "50 requests drew %d distinct random banners", len(fills))
}

func TestAnnotate(t *testing.T) {
	got := map[string]any{}
	h := httpapi.New(store(), httpapi.Options{Now: at17, Annotate: func(_ context.Context, k string, v any) { got[k] = v }})
	do(t, h, "GET", "/api/campaigns/10/banners", nil)
	require.Equal(t, map[string]any{"campaign_id": int64(10), "quarter": 2, "banners": 10}, got)
}

func BenchmarkBanners(b *testing.B)  { benchmarkGET(b, "/api/campaigns/10/banners") }
func BenchmarkRedirect(b *testing.B) { benchmarkGET(b, "/campaigns/10") }

// benchmarkGET serves GET path with a last-banner cookie from the sample
// store, throwing the answers away.
func benchmarkGET(b *testing.B, path string) {
	h := newHandler(store())
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Cookie", "banner_last=105")
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// discard is a ResponseWriter that throws the answer away, so benchmarks
// measure the handler alone.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
