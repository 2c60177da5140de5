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

// TestRouting: the API answers /api/ and /campaigns/, the images /images/
// and the site the rest; a path that is not clean is redirected to its
// clean form first, whichever part it names.
func TestRouting(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(name)) }) //nolint:errcheck // a recorder
	}
	site := fstest.MapFS{"index.html": {Data: []byte("site")}}
	h := server.Handler(server.Config{API: named("api"), Images: named("images"), Site: site, Logger: slog.New(slog.DiscardHandler)})

	tests := []struct {
		method, target string
		wantStatus     int
		wantBody       string // "" for a redirect
		wantLocation   string
	}{
		{"GET", "/api/campaigns/10/banners", 200, "api", ""},
		{"HEAD", "/campaigns/10", 200, "api", ""},
		{"POST", "/campaigns/10", 200, "api", ""},
		{"GET", "/campaigns/10/", 200, "api", ""},
		{"CONNECT", "/api/campaigns/10/banners", 200, "api", ""},
		{"GET", "/images/image_1.png", 200, "images", ""},
		{"GET", "/", 200, "site", ""},
		{"GET", "/api/../images/a.png", 307, "", "/images/a.png"},
		{"GET", "/api//campaigns/10/banners", 307, "", "/api/campaigns/10/banners"},
		{"GET", "/campaigns/./10", 307, "", "/campaigns/10"},
		{"GET", "/api", 307, "", "/api/"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://example.test/", nil)
			r.URL.Path = tt.target // as sent, not cleaned
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tt.wantStatus, w.Code)
			require.Equal(t, tt.wantLocation, w.Header().Get("Location"))
			if tt.wantLocation == "" {
				require.Equal(t, tt.wantBody, w.Body.String())
			}
		})
	}
}
