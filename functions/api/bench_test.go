package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/stretchr/testify/require"

	"banners/internal/app"
	"banners/internal/funcurl"
	"banners/internal/httpapi"
	"banners/internal/lambdatest"
	"banners/internal/memory"
	"banners/internal/tracing"
)

func at17() time.Time { return time.Date(2026, 11, 25, 10, 17, 0, 0, time.UTC) }

// benchAPI returns the API over the dataset in memory, through the cache
// (warmed for campaign 10) unless uncached.
func benchAPI(b *testing.B, uncached, traced bool) http.Handler {
	log := slog.New(slog.DiscardHandler)
	store := memory.New(dataset())
	if uncached {
		return httpapi.New(store, httpapi.Options{Now: at17, Logger: log})
	}
	api, err := app.New(store, app.Config{Traced: traced, Now: at17, Logger: log})
	require.NoError(b, err)
	b.Cleanup(api.Close)
	rec := httptest.NewRecorder()
	api.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/campaigns/10/banners", nil))
	require.Equal(b, 200, rec.Code)
	api.Cache.Wait()
	return api.Handler
}

// BenchmarkHandler serves GET /api/campaigns/10/banners through
// httptest: straight from the in-memory store, and as a cache hit.
func BenchmarkHandler(b *testing.B) {
	for _, bc := range []struct {
		name     string
		uncached bool
	}{{"memory store, no cache", true}, {"cache hit", false}} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchAPI(b, bc.uncached, false)
			req := httptest.NewRequest("GET", "/api/campaigns/10/banners", nil)
			req.Header.Set("Cookie", "banner_last=105")
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// BenchmarkLambda runs the function URL adapter round trip (event in,
// response out) over a cache hit, as the function does: untraced (no trace
// header, as under the RIE) and with an unsampled trace header.
func BenchmarkLambda(b *testing.B) {
	ev := lambdatest.URLEvent(b, "get-banners.json")
	for _, bc := range []struct {
		name   string
		header string
	}{{"no trace header", ""}, {"unsampled trace header", "Root=1-6745a0c2-3f0e1d2c4b5a69788796a5b4;Parent=53995c3f42cd8ad8;Sampled=0"}} {
		b.Run(bc.name, func(b *testing.B) {
			h := funcurl.New(tracing.LambdaHandler(app.SegmentName, benchAPI(b, false, true)))
			ctx := context.Background()
			if bc.header != "" {
				//lint:ignore SA1029 the Lambda runtime's own string key, which the SDK reads
				ctx = context.WithValue(ctx, xray.LambdaTraceHeaderKey, bc.header)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := h.Handle(ctx, ev)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
			}
		})
	}
}
