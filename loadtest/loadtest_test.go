package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSmoke loads the in-process local server, with and without its access
// log, for a few seconds: every answer must be right, and codes and
// latencies must be recorded. It asserts no timings.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of load")
	}
	out := t.TempDir()
	cfg, err := parseFlags([]string{"-self", "-rate", "100/s", "-duration", "1500ms", "-mix", "0.3", "-visitors", "20", "-out", out}, io.Discard)
	require.NoError(t, err)
	rep, err := run(context.Background(), cfg, io.Discard, io.Discard)
	require.NoError(t, err)
	require.Empty(t, rep.Failures)

	names := []string{}
	for _, ar := range rep.Attacks {
		names = append(names, ar.Name)
		m := ar.Metrics
		require.Zero(t, ar.Wrong, "%s: wrong answers %v %v", ar.Name, ar.Violations, ar.Examples)
		require.NotZero(t, m.Requests, ar.Name)
		require.Equal(t, int(m.Requests), ar.Checked, "%s: every answer checked", ar.Name)
		require.NotZero(t, m.StatusCodes["200"], ar.Name)
		require.NotZero(t, m.StatusCodes["302"], ar.Name)
		require.Equal(t, int(m.Requests), m.StatusCodes["200"]+m.StatusCodes["302"], ar.Name)
		require.Positive(t, m.Latencies.P99, ar.Name)
		require.GreaterOrEqual(t, m.Latencies.Max, m.Latencies.P50, ar.Name)
	}
	require.Equal(t, []string{"local+log", "local-nolog"}, names)

	var saved report
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &saved))
	require.Len(t, saved.Attacks, 2)
	for _, f := range []string{"plot.html", "access.log"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		require.Positive(t, st.Size(), f)
	}
}

// TestWrongAnswersFail points the generator at a server that ignores the
// cookie: its fast answers must count as wrong and fail the run.
func TestWrongAnswersFail(t *testing.T) {
	if testing.Short() {
		t.Skip("a second of load")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "banner_last=1; Path=/")
		w.Write([]byte(`{"campaign_id":10,"quarter":2,"banners":[{"id":1,"image_url":"/images/image_1.png"},{"id":2,"image_url":"/images/image_2.png"}]}`)) //nolint:errcheck // test server
	}))
	defer srv.Close()
	cfg, err := parseFlags([]string{"-target", srv.URL, "-campaigns", "10", "-quarters", "2", "-mix", "0",
		"-rate", "50/s", "-duration", "1s", "-visitors", "2", "-out", t.TempDir()}, io.Discard)
	require.NoError(t, err)
	rep, err := run(context.Background(), cfg, io.Discard, io.Discard)
	require.NoError(t, err)
	require.Len(t, rep.Attacks, 1)
	require.Positive(t, rep.Attacks[0].Violations[repeatLast])
	require.NotEmpty(t, rep.Failures)
}
