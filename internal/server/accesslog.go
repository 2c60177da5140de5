package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// AccessLog writes one structured line per request, message "request":
// method, path, status, bytes, duration (in nanoseconds, as slog's JSON
// handler writes durations) and the facts the handler noted with Note, such
// as campaign_id, quarter, cache and banners. The local server and the API
// Lambda both log through it, so the same line feeds the operators' metrics.
func AccessLog(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		n := &notes{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), notesKey{}, n)))
		attrs := append(n.attrs[:0:0], // a fresh array, so the notes' stays small
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
		)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs, n.attrs...)...)
	})
}

// Note adds key = value to the access log line of the request ctx belongs
// to; outside AccessLog it does nothing. It has the signature of
// httpapi.Options.Annotate and cache.Config.Annotate. It is not safe for
// concurrent use within one request (a request is served by one goroutine).
func Note(ctx context.Context, key string, value any) {
	if n, _ := ctx.Value(notesKey{}).(*notes); n != nil {
		n.attrs = append(n.attrs, slog.Any(key, value))
	}
}

type notesKey struct{}

// notes holds a request's noted facts.
type notes struct{ attrs []slog.Attr }

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status, bytes int
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
