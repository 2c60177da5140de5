package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/server"
	"banners/internal/testkit"
)

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		want  map[string]any
	}{
		{"plain", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("hello")) //nolint:errcheck // a recorder
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 5.0}},
		{"noted facts", func(w http.ResponseWriter, r *http.Request) {
			server.Note(r.Context(), "campaign_id", int64(10))
			server.Note(r.Context(), "quarter", 2)
			server.Note(r.Context(), "cache", "hit")
			server.Note(r.Context(), "banners", 5)
			w.WriteHeader(http.StatusNotFound)
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 404.0, "bytes": 0.0,
			"campaign_id": 10.0, "quarter": 2.0, "cache": "hit", "banners": 5.0}},
		{"more notes than the room kept for them", func(w http.ResponseWriter, r *http.Request) {
			for i := range 9 {
				server.Note(r.Context(), "n"+strconv.Itoa(i), i)
			}
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 0.0,
			"n0": 0.0, "n1": 1.0, "n2": 2.0, "n3": 3.0, "n4": 4.0, "n5": 5.0, "n6": 6.0, "n7": 7.0, "n8": 8.0}},
		{"status written twice: the first is what was sent", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 201.0, "bytes": 0.0}},
		{"body before status: 200", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("x")) //nolint:errcheck // a recorder
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 1.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			before := time.Now()
			h := server.AccessLog(http.HandlerFunc(tt.serve), &out, nil)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/x", nil))
			after := time.Now()

			line := out.String()
			require.Equal(t, 1, strings.Count(line, "\n"), "one line")
			require.True(t, strings.HasSuffix(line, "\n"))
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &got), line)
			at, err := time.Parse(time.RFC3339Nano, got["time"].(string))
			require.NoError(t, err)
			require.False(t, at.Before(before) || at.After(after), "time %v outside [%v, %v]", at, before, after)
			require.GreaterOrEqual(t, got["duration_ms"], 0.0)
			require.LessOrEqual(t, got["duration_ms"], float64(after.Sub(before).Microseconds())/1000)
			delete(got, "time")
			delete(got, "duration_ms")
			require.Equal(t, tt.want, got)
		})
	}
}

// outcome is a string of a named type, as a handler might note one.
type outcome string

// TestAccessLogLineIsSlogs checks the line byte for byte against the one
// log/slog's JSON handler writes for the same record: the operators'
// metric filters and the rest of the function's lines share that format.
func TestAccessLogLineIsSlogs(t *testing.T) {
	type kv struct {
		key   string
		value any
	}
	tests := []struct {
		name    string
		path    string
		notes   []kv
		traceID string
	}{
		{"the API's facts", "/api/campaigns/10/banners", []kv{{"campaign_id", int64(10)}, {"quarter", 2}, {"cache", "hit"}, {"banners", 5}}, ""},
		{"with a trace ID", "/campaigns/7", []kv{{"campaign_id", int64(7)}}, "1-5759e988-bd862e3fe1be46a994272793"},
		{"quote and backslash", `/api/"a"\b`, nil, ""},
		{"control characters", "/api/\x00\x01\t\n\r\x1f\x7f", nil, ""},
		{"non-ASCII", "/api/caf\u00e9/\u65e5\u672c/\U0001F600", nil, ""},
		{"invalid UTF-8", "/api/\xff\xfe/\xc3", nil, ""},
		{"line and paragraph separators", "/api/\u2028\u2029", nil, ""},
		{"notes of other types", "/api/x", []kv{{"named", outcome("stale")}, {"ok", true}, {"ratio", 0.25}, {"u", uint8(7)},
			{"i32", int32(-3)}, {"nothing", nil}, {"list", []int{1, 2}}, {"key \"quoted\"", "v"}}, ""},
		{"notes slog encodes its own way", "/api/x", []kv{{"err", errors.New("boom")}, {"level", slog.LevelWarn},
			{"html", "<b>&</b>"}, {"tiny", 1e-7}, {"huge", 1e21}, {"f32", float32(0.1)}, {"nan", math.NaN()},
			{"at", time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)}, {"struct", struct{ A string }{"<x>"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, n := range tt.notes {
					server.Note(r.Context(), n.key, n.value)
				}
				w.Write([]byte("hello")) //nolint:errcheck // a recorder
			})
			traceID := func(context.Context) string { return tt.traceID }
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path = tt.path
			server.AccessLog(next, &out, traceID).ServeHTTP(httptest.NewRecorder(), r)
			got := out.String()

			// The same record through slog, at the time and duration the line says.
			var parsed struct {
				Time       string  `json:"time"`
				DurationMS float64 `json:"duration_ms"`
			}
			require.NoError(t, json.Unmarshal([]byte(got), &parsed), got)
			at, err := time.Parse(time.RFC3339Nano, parsed.Time)
			require.NoError(t, err)
			var want bytes.Buffer
			rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			rec.AddAttrs(slog.String("method", "GET"), slog.String("path", tt.path), slog.Int("status", 200),
				slog.Int("bytes", 5), slog.Float64("duration_ms", parsed.DurationMS))
			for _, n := range tt.notes {
				rec.AddAttrs(slog.Any(n.key, n.value))
			}
			if tt.traceID != "" {
				rec.AddAttrs(slog.String("trace_id", tt.traceID))
			}
			require.NoError(t, slog.NewJSONHandler(&want, nil).Handle(context.Background(), rec))
			require.Equal(t, want.String(), got)
		})
	}
}

// FuzzAccessLogPath: whatever the path, the line is one line of valid
// JSON whose path reads back as the path (invalid UTF-8 as U+FFFD).
func FuzzAccessLogPath(f *testing.F) {
	for _, s := range []string{"/api/x", `/"\`, "\x00\n", "\xff", "\u2028", "caf\u00e9"} {
		f.Add(s)
	}
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	f.Fuzz(func(t *testing.T, path string) {
		var out bytes.Buffer
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = path
		server.AccessLog(next, &out, nil).ServeHTTP(httptest.NewRecorder(), r)
		line := out.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("not one line: %q", line)
		}
		var got struct{ Path string }
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		if want := string([]rune(path)); got.Path != want {
			t.Fatalf("path %q reads back as %q, want %q", path, got.Path, want)
		}
	})
}

// TestAccessLogConcurrentLines: concurrent requests writing to one
// LogWriter give whole lines, one per request.
func TestAccessLogConcurrentLines(t *testing.T) {
	var sink testkit.Buffer
	lw := server.NewLogWriter(&sink, time.Hour)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.Note(r.Context(), "campaign_id", int64(len(r.URL.Path)))
	})
	h := server.AccessLog(next, lw, nil)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for j := range each {
				r := httptest.NewRequest(http.MethodGet, "/api/"+strings.Repeat("x", i*each+j), nil)
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
	wg.Wait()
	require.NoError(t, lw.Close())

	seen := map[float64]bool{}
	sc := bufio.NewScanner(strings.NewReader(sink.String()))
	for sc.Scan() {
		var got struct {
			Path       string  `json:"path"`
			CampaignID float64 `json:"campaign_id"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &got), sc.Text())
		require.Equal(t, float64(len(got.Path)), got.CampaignID, "a line's facts are its own request's")
		seen[got.CampaignID] = true
	}
	require.NoError(t, sc.Err())
	require.Len(t, seen, workers*each)
}
