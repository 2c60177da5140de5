package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/httpapi"
	"banners/internal/memory"
	"banners/internal/server"
)

// The hot path with a warm store: the built-in sample data in memory, as
// the local server holds it. Run with
//
//	go test -run '^$' -bench . -benchmem ./loadtest/

var (
	benchStoreOnce sync.Once
	benchStore     *memory.Store
)

func warmStore(b *testing.B) *memory.Store {
	benchStoreOnce.Do(func() {
		var err error
		if benchStore, err = app.LoadCSV("", slog.New(slog.DiscardHandler)); err != nil {
			b.Fatal(err)
		}
	})
	return benchStore
}

// sink is a ResponseWriter that keeps nothing, so the benchmarks measure
// the handler, not a recorder.
type sink struct{ h http.Header }

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) WriteHeader(int)             {}

// localHandler is the local server's handler as functions/api/local wires it
// (the cache in front of the warm store), with its access log written to
// accessLog, or off when accessLog is nil.
func localHandler(b *testing.B, accessLog io.Writer) http.Handler {
	log := slog.New(slog.DiscardHandler)
	cfg, api, err := app.NewLocal(app.Local{Store: warmStore(b), AccessLog: accessLog}, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(api.Close)
	return server.Handler(cfg)
}

// serve runs h on each request in turn, as the server would.
func serve(b *testing.B, h http.Handler, reqs []*http.Request) {
	w := &sink{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%len(reqs)])
		i++
	}
}

// requests builds GETs of path(campaign) for campaigns 1–50 in quarter 2,
// with cookie (if not empty) as the Cookie header.
func requests(path func(id int) string, cookie string, extra http.Header) []*http.Request {
	var reqs []*http.Request
	for id := 1; id <= 50; id++ {
		r := httptest.NewRequest(http.MethodGet, path(id), nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		for k, v := range extra {
			r.Header[k] = v
		}
		reqs = append(reqs, r)
	}
	return reqs
}

func jsonPath(id int) string     { return "/api/campaigns/" + strconv.Itoa(id) + "/banners?quarter=2" }
func redirectPath(id int) string { return "/campaigns/" + strconv.Itoa(id) + "?quarter=2" }

// A browser's Cookie header with analytics cookies around ours.
const browserCookies = "_ga=GA1.1.123456789.1700000000; _gid=GA1.1.987654321.1700000000; banner_last=12345; consent=yes"

// BenchmarkAPI is the API handler alone (routing, store, selection, shuffle,
// JSON, cookie): the JSON endpoint, the ad tag, and cookie variants.
func BenchmarkAPI(b *testing.B) {
	h := httpapi.New(warmStore(b), httpapi.Options{})
	b.Run("json", func(b *testing.B) { serve(b, h, requests(jsonPath, "banner_last=12345", nil)) })
	b.Run("json-no-cookie", func(b *testing.B) { serve(b, h, requests(jsonPath, "", nil)) })
	b.Run("json-browser-cookies", func(b *testing.B) { serve(b, h, requests(jsonPath, browserCookies, nil)) })
	b.Run("json-https", func(b *testing.B) {
		serve(b, h, requests(jsonPath, "banner_last=12345", http.Header{"X-Forwarded-Proto": {"https"}}))
	})
	b.Run("redirect", func(b *testing.B) { serve(b, h, requests(redirectPath, "banner_last=12345", nil)) })
}

// BenchmarkServerHandler adds the cache and the local server's mux and
// access log (JSON lines, written to io.Discard) in front of the API.
func BenchmarkServerHandler(b *testing.B) {
	reqs := requests(jsonPath, "banner_last=12345", nil)
	b.Run("log-on", func(b *testing.B) { serve(b, localHandler(b, io.Discard), reqs) })
	b.Run("log-off", func(b *testing.B) { serve(b, localHandler(b, nil), reqs) })
}

// BenchmarkSelect is the selection and shuffle on the warm store's read
// models, every campaign-quarter in turn.
func BenchmarkSelect(b *testing.B) {
	store := warmStore(b)
	var cs []*banner.Campaign
	for id := int64(1); id <= 56; id++ {
		for q := banner.Quarter(1); q <= banner.Quarters; q++ {
			if c, err := store.Campaign(b.Context(), banner.Key{CampaignID: id, Quarter: q}); err == nil {
				cs = append(cs, c)
			}
		}
	}
	dst := make([]int64, 0, banner.MaxBanners)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = banner.Select(dst[:0], cs[i%len(cs)], 12345, nil)
		i++
	}
}

// BenchmarkLoopback is one whole request over loopback TCP through net/http,
// client and server in this process: what the handler's cost is a share of.
func BenchmarkLoopback(b *testing.B) {
	for _, bc := range []struct {
		name string
		log  io.Writer
	}{{"log-off", nil}, {"log-on", io.Discard}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(localHandler(b, bc.log))
			defer srv.Close()
			client := srv.Client()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					resp, err := client.Get(srv.URL + jsonPath(1+i%50))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained for keep-alive
					resp.Body.Close()
				}
			})
		})
	}
}
