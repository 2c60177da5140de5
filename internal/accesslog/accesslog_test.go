package accesslog_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/accesslog"
	"banners/internal/testkit"
)

// TestHandler asserts each field of the line and its JSON type (numbers
// decode as float64, strings as string): the operators' metric filters
// compare status and duration_ms as numbers and cache as a string.
func TestHandler(t *testing.T) {
	const traceID = "1-5759e988-bd862e3fe1be46a994272793"
	tests := []struct {
		name    string
		path    string
		traceID string
		serve   func(w http.ResponseWriter, r *http.Request)
		want    map[string]any
	}{
		{"plain", "/api/x", "", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("hello")) //nolint:errcheck // a recorder
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 5.0}},
		{"noted facts and a trace ID", "/api/campaigns/10/banners", traceID, func(w http.ResponseWriter, r *http.Request) {
			accesslog.Note(r.Context(), "campaign_id", int64(10))
			accesslog.Note(r.Context(), "quarter", 2)
			accesslog.Note(r.Context(), "cache", "hit")
			accesslog.Note(r.Context(), "banners", 5)
			w.WriteHeader(http.StatusNotFound)
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/campaigns/10/banners", "status": 404.0, "bytes": 0.0,
			"campaign_id": 10.0, "quarter": 2.0, "cache": "hit", "banners": 5.0, "trace_id": traceID, "sampled": true}},
		{"many notes", "/api/x", "", func(_ http.ResponseWriter, r *http.Request) {
			for i := range 9 {
				accesslog.Note(r.Context(), "n"+strconv.Itoa(i), i)
			}
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 0.0,
			"n0": 0.0, "n1": 1.0, "n2": 2.0, "n3": 3.0, "n4": 4.0, "n5": 5.0, "n6": 6.0, "n7": 7.0, "n8": 8.0}},
		{"status written twice: the first is what was sent", "/api/x", "", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 201.0, "bytes": 0.0}},
		{"body before status: 200", "/api/x", "", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("x")) //nolint:errcheck // a recorder
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/x", "status": 200.0, "bytes": 1.0}},
		{"path to escape", "/api/\"a\"\\b\n\u2028", "", func(http.ResponseWriter, *http.Request) {},
			map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/api/\"a\"\\b\n\u2028", "status": 200.0, "bytes": 0.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			trace := func(context.Context) (string, bool) { return tt.traceID, tt.traceID != "" }
			h := accesslog.Handler(http.HandlerFunc(tt.serve), &out, trace)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path = tt.path
			before := time.Now()
			h.ServeHTTP(httptest.NewRecorder(), r)
			after := time.Now()

			line := out.String()
			require.Equal(t, 1, strings.Count(line, "\n"), "one line")
			require.True(t, strings.HasSuffix(line, "\n"))
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &got), line)
			at, err := time.Parse(time.RFC3339Nano, got["time"].(string))
			require.NoError(t, err)
			require.False(t, at.Before(before) || at.After(after), "time %v outside [%v, %v]", at, before, after)
			require.IsType(t, 0.0, got["duration_ms"])
			require.GreaterOrEqual(t, got["duration_ms"], 0.0)
			require.LessOrEqual(t, got["duration_ms"], float64(after.Sub(before).Microseconds())/1000)
			delete(got, "time")
			delete(got, "duration_ms")
			require.Equal(t, tt.want, got)
		})
	}
}

// TestHandlerWithoutOutput: with no writer the request is served as it
// is, and its notes go nowhere.
func TestHandlerWithoutOutput(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accesslog.Note(r.Context(), "cache", "hit")
		w.WriteHeader(http.StatusTeapot)
	})
	rec := httptest.NewRecorder()
	accesslog.Handler(next, nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/x", nil))
	require.Equal(t, http.StatusTeapot, rec.Code)
}

// TestConcurrentLines: concurrent requests writing to one writer give
// whole lines, one per request, each with its own request's facts.
func TestConcurrentLines(t *testing.T) {
	var sink testkit.Buffer
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		accesslog.Note(r.Context(), "campaign_id", int64(len(r.URL.Path)))
	})
	h := accesslog.Handler(next, &sink, nil)
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

// BenchmarkHandler is the access log's cost per request: a handler noting
// the API's four facts and writing a 600-byte answer, the line to
// io.Discard.
func BenchmarkHandler(b *testing.B) {
	body := make([]byte, 600)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		accesslog.Note(ctx, "campaign_id", int64(10))
		accesslog.Note(ctx, "quarter", 2)
		accesslog.Note(ctx, "cache", "hit")
		accesslog.Note(ctx, "banners", 10)
		w.Write(body) //nolint:errcheck // discards
	})
	h := accesslog.Handler(next, io.Discard, func(context.Context) (string, bool) { return "1-5759e988-bd862e3fe1be46a994272793", true })
	r := httptest.NewRequest(http.MethodGet, "/api/campaigns/10/banners", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// discard is a ResponseWriter that throws the answer away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
