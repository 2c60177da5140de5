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
		name   string
		notes  map[string]any
		status int
		body   string
		want   map[string]any
	}{
		{"plain", nil, http.StatusOK, "hello",
			map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 5.0}},
		{"noted facts", map[string]any{"campaign_id": 10, "cache": "hit"}, http.StatusNotFound, "",
			map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 404.0, "bytes": 0.0, "campaign_id": 10.0, "cache": "hit"}},
		{"more facts than the line keeps room for", map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": "nine"}, http.StatusOK, "",
			map[string]any{"msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 0.0,
				"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0, "f": 6.0, "g": 7.0, "h": 8.0, "i": "nine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			h := server.AccessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.notes {
					server.Note(r.Context(), k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body)) //nolint:errcheck // a recorder
			}), slog.New(slog.NewJSONHandler(&out, nil)))
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
