// Package accesslog writes one JSON line per HTTP request, the line the
// operators' metric filters read. The local server and the API Lambda both
// log through it.
package accesslog

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Handler writes one line per request to out, through log/slog's JSON
// handler: an INFO record "request" with method, path, status, bytes,
// duration_ms (milliseconds, to the microsecond; the latency metric copies
// it), the facts noted with Note (campaign_id, quarter, cache, banners...),
// and trace_id and sampled (whether the trace exists in X-Ray) when trace
// returns an ID. With out nil it returns next. A line is one Write call:
// concurrent requests' lines do not interleave if out is concurrency-safe.
func Handler(next http.Handler, out io.Writer, trace func(context.Context) (id string, sampled bool)) http.Handler {
	if out == nil {
		return next
	}
	log := slog.New(slog.NewJSONHandler(out, nil))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		var n notes
		ctx := r.Context()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(ctx, notesKey{}, &n)))
		attrs := append(make([]slog.Attr, 0, 7+len(n)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
		attrs = append(attrs, n...)
		if trace != nil {
			if id, sampled := trace(ctx); id != "" {
				attrs = append(attrs, slog.String("trace_id", id), slog.Bool("sampled", sampled))
			}
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	})
}

// Note adds key = value to the access log line of the request ctx belongs
// to; outside Handler it does nothing. It fits httpapi.Options.Annotate and
// cache.Config.Annotate. It is not safe for concurrent use within one
// request (a request is served by one goroutine).
func Note(ctx context.Context, key string, value any) {
	if n, _ := ctx.Value(notesKey{}).(*notes); n != nil {
		*n = append(*n, slog.Any(key, value))
	}
}

type notesKey struct{}

// notes are a request's noted facts, in the order they were noted.
type notes []slog.Attr

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status, bytes int
	// wrote is set once the status is sent: a later WriteHeader changes
	// nothing on the wire, so it must not change the logged status either.
	wrote bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
