package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"banners/internal/server"
)

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		want  map[string]any
	}{
		{"plain", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("hello")) //nolint:errcheck // a recorder
		}, map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 5.0}},
		{"noted facts", func(w http.ResponseWriter, r *http.Request) {
			server.Note(r.Context(), "campaign_id", 10)
			server.Note(r.Context(), "cache", "hit")
			w.WriteHeader(http.StatusNotFound)
		}, map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 404.0, "bytes": 0.0, "campaign_id": 10.0, "cache": "hit"}},
		{"status written twice: the first is what was sent", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 201.0, "bytes": 0.0}},
		{"body before status: 200", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("x")) //nolint:errcheck // a recorder
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 1.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			h := server.AccessLog(http.HandlerFunc(tt.serve), slog.New(slog.NewJSONHandler(&out, nil)))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/x", nil))

			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(out.String()), &got), out.String())
			require.GreaterOrEqual(t, got["duration_ms"], 0.0)
			for _, k := range []string{"time", "level", "duration_ms"} {
				delete(got, k)
			}
			require.Equal(t, tt.want, got)
		})
	}
}
