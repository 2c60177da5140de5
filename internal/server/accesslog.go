package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// AccessLog writes one JSON line per request to out, the line log/slog's
// JSON handler writes for an INFO record with message "request": time,
// level, msg, method, path, status, bytes, duration_ms (milliseconds, to
// the microsecond; the operators' latency metric copies it), the facts the
// handler noted with Note (such as campaign_id, quarter, cache and
// banners), and trace_id when traceID is not nil and returns one. The local
// server and the API Lambda both log through it, so the same line feeds
// the operators' metrics. With out nil it returns next: no access log.
//
// Each line is one Write call, so lines of concurrent requests do not
// interleave when out is safe for concurrent use (os.Stderr, LogWriter).
//
// It is on every request's path, so it writes the line itself rather than
// through slog (a Record, its attributes and the JSON handler's generic
// encoding cost more than the rest of the request's own work): the line is
// built in a pooled buffer, and the response recorder and the notes share
// one allocation.
func AccessLog(next http.Handler, out io.Writer, traceID func(context.Context) string) http.Handler {
	if out == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &logged{recorder: recorder{ResponseWriter: w, status: http.StatusOK}}
		l.notes.list = l.notes.buf[:0]
		ctx := r.Context()
		next.ServeHTTP(&l.recorder, r.WithContext(context.WithValue(ctx, notesKey{}, &l.notes)))
		end := time.Now()

		bp := linePool.Get().(*[]byte)
		b := append((*bp)[:0], `{"time":"`...)
		b = end.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","level":"INFO","msg":"request","method":`...)
		b = appendString(b, r.Method)
		b = append(b, `,"path":`...)
		b = appendString(b, r.URL.Path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(l.status), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, int64(l.bytes), 10)
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, float64(end.Sub(start).Microseconds())/1000, 'f', -1, 64)
		for _, n := range l.notes.list {
			b = append(b, ',')
			b = appendString(b, n.key)
			b = append(b, ':')
			b = appendValue(b, n.value)
		}
		if traceID != nil {
			if id := traceID(ctx); id != "" {
				b = append(b, `,"trace_id":`...)
				b = appendString(b, id)
			}
		}
		b = append(b, "}\n"...)
		out.Write(b) //nolint:errcheck // a failing log sink has nowhere to report to
		if cap(b) <= 4<<10 {
			*bp = b
			linePool.Put(bp)
		}
	})
}

// linePool holds the buffers lines are built in (a line is about 300
// bytes; one grown by a long path is dropped rather than kept).
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// logged is what AccessLog keeps for one request, in one allocation.
type logged struct {
	recorder
	notes notes
}

// Note adds key = value to the access log line of the request ctx belongs
// to; outside AccessLog it does nothing. It has the signature of
// httpapi.Options.Annotate and cache.Config.Annotate. It is not safe for
// concurrent use within one request (a request is served by one goroutine).
func Note(ctx context.Context, key string, value any) {
	if n, _ := ctx.Value(notesKey{}).(*notes); n != nil {
		n.list = append(n.list, note{key, value})
	}
}

type notesKey struct{}

// notes holds a request's noted facts; buf is room for the handler's four
// (campaign_id, quarter, cache, banners) and a few more without allocating.
type notes struct {
	list []note
	buf  [6]note
}

type note struct {
	key   string
	value any
}

// appendValue appends v as slog's JSON handler writes an attribute's
// value: the types the handler notes (strings, ints, booleans) directly,
// an error as its message, anything else as encoding/json encodes it
// without escaping HTML (as slog does; for every other number and for a
// named type the text is the same), or as the error slog would write when
// it cannot be encoded.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	case float32:
		return appendJSON(b, float64(v)) // slog widens it first
	case json.Marshaler:
		return appendJSON(b, v) // before error: slog prefers the marshaler
	case error:
		return appendString(b, v.Error())
	}
	return appendJSON(b, v)
}

// appendJSON appends v encoded by encoding/json without HTML escaping.
func appendJSON(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return appendString(b, "!ERROR:"+err.Error())
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// byte by byte, as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

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
