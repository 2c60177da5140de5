package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/cache"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/server"
)

func TestNewLocal(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	written := t.TempDir()
	require.NoError(t, sample.WriteDir(written))
	tests := []struct {
		name    string
		local   server.Local
		wantErr string
	}{
		{"built-in sample", server.Local{}, ""},
		{"sample written to a folder", server.Local{DataDir: written}, ""},
		{"store and data folder", server.Local{Store: memory.New(nil), DataDir: written}, "exclude each other"},
		{"missing folder", server.Local{DataDir: "/nonexistent/banners"}, "/nonexistent/banners"},
		{"bad cache setting", server.Local{Cache: cache.Config{TTL: -time.Second}}, "TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, api, err := server.NewLocal(tt.local, log)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			t.Cleanup(api.Close)
			h := server.Handler(cfg)
			for path, want := range map[string]int{
				"/api/campaigns/10/banners?quarter=2": http.StatusOK,
				"/campaigns/10?quarter=2":             http.StatusFound,
				"/images/image_100.png":               http.StatusOK,
				"/":                                   http.StatusOK,
				"/api/campaigns/99999/banners":        http.StatusNotFound,
			} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				require.Equal(t, want, rec.Code, path)
			}
		})
	}
}
