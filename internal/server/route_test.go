package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"banners/internal/server"
)

// TestRouting: every request is answered as a plain ServeMux with the
// server's routes answers it (status, body, redirect), API requests
// included, though they skip the mux.
func TestRouting(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(name)) }) //nolint:errcheck // a recorder
	}
	site := fstest.MapFS{"index.html": {Data: []byte("site")}}
	h := server.Handler(server.Config{API: named("api"), Images: named("images"), Site: site, Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle("/api/", named("api"))
	mux.Handle("/campaigns/", named("api"))
	mux.Handle("/images/", named("images"))
	mux.Handle("/", http.FileServerFS(site))

	tests := []struct{ method, target, wantBody string }{
		{"GET", "/api/campaigns/10/banners", "api"},
		{"HEAD", "/campaigns/10", ""},
		{"POST", "/campaigns/10", "api"},
		{"GET", "/campaigns/10/", "api"},
		{"GET", "/api/../images/a.png", ""},
		{"GET", "/api//campaigns/10/banners", ""},
		{"GET", "/campaigns/./10", ""},
		{"GET", "/images/image_1.png", "images"},
		{"GET", "/", "site"},
		{"GET", "/api", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			do := func(h http.Handler) *httptest.ResponseRecorder {
				r := httptest.NewRequest(tt.method, "http://example.test/", nil)
				r.URL.Path = tt.target // as sent, not cleaned
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			got, want := do(h), do(mux)
			require.Equal(t, want.Code, got.Code)
			require.Equal(t, want.Body.String(), got.Body.String())
			require.Equal(t, want.Header().Get("Location"), got.Header().Get("Location"))
			require.Contains(t, got.Body.String(), tt.wantBody)
		})
	}
}
