package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// AccessLog writes one structured line per request, message "request":
// method, path, status, bytes, duration_ms (milliseconds, to the
// microsecond; the operators' latency metric copies it) and the facts the handler noted with Note, such
// as campaign_id, quarter, cache and banners. The local server and the API
// Lambda both log through it, so the same line feeds the operators' metrics.
//
// It is on every request's path, so it keeps its cost down: the response
// recorder, the notes and the line's attributes share one allocation, and
// the record goes straight to the handler (slog.Logger would also look up
// the caller's program counter, which the line does not show).
func AccessLog(next http.Handler, log *slog.Logger) http.Handler {
	h := log.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &logged{recorder: recorder{ResponseWriter: w, status: http.StatusOK}}
		l.notes.attrs = l.buf[fixedAttrs:fixedAttrs]
		ctx := r.Context()
		next.ServeHTTP(&l.recorder, r.WithContext(context.WithValue(ctx, notesKey{}, &l.notes)))
		if !h.Enabled(ctx, slog.LevelInfo) {
			return
		}
		end := time.Now()
		attrs := append(l.buf[:0],
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", l.status),
			slog.Int("bytes", l.bytes),
			slog.Float64("duration_ms", float64(end.Sub(start).Microseconds())/1000),
		)
		if len(l.notes.attrs) > 0 && &l.notes.attrs[0] != &l.buf[fixedAttrs] {
			attrs = append(attrs, l.notes.attrs...) // the notes outgrew buf
		} else {
			attrs = attrs[:fixedAttrs+len(l.notes.attrs)]
		}
		rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		rec.AddAttrs(attrs...)
		h.Handle(ctx, rec) //nolint:errcheck // a failing log sink has nowhere to report to
	})
}

// fixedAttrs is the number of attributes every line has before the notes.
const fixedAttrs = 5

// logged is what AccessLog keeps for one request, in one allocation.
type logged struct {
	recorder
	notes notes
	// buf holds the line's fixed attributes, then the notes (the handler
	// notes campaign_id, quarter, cache and banners).
	buf [fixedAttrs + 7]slog.Attr
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
