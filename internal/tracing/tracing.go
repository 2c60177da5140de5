// Package tracing adapts the AWS X-Ray SDK to Banners: the request's
// segment (inside Lambda, a subsegment of the facade) and annotations, the
// cache lookup's subsegment, the ingest's run and steps, and a subsegment
// per AWS call (see InstrumentAWS). Outside a traced request or run it
// traces and says nothing, whatever AWS_XRAY_CONTEXT_MISSING asks for. No
// other package imports the X-Ray SDK.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-xray-sdk-go/v2/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"

	"banners/internal/banner"
)

// Config sets up the X-Ray SDK. The zero value works.
type Config struct {
	// DaemonAddr is the X-Ray daemon's UDP address, host:port. Empty means
	// the SDK's default: AWS_XRAY_DAEMON_ADDRESS, else 127.0.0.1:2000.
	DaemonAddr string
	// Sampling decides which requests are traced. Nil: one a second plus 5 %.
	Sampling sampling.Strategy
	// Logger receives the SDK's warnings and errors. Default slog.Default().
	Logger *slog.Logger
}

// Configure sets up the SDK process-wide: its log goes to cfg.Logger at
// warning level and above, and a missing segment is silently ignored (so
// instrumented clients used outside a traced request say nothing).
func Configure(cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	xray.SetLogger(logger{cfg.Logger})
	err := xray.Configure(xray.Config{
		DaemonAddr:             cfg.DaemonAddr,
		SamplingStrategy:       cfg.Sampling,
		ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy(),
	})
	if err != nil {
		return fmt.Errorf("configure X-Ray: %w", err)
	}
	return nil
}

// requestKey holds, in a request's context, the (sub)segment that stands
// for the whole request and carries its annotations.
type requestKey struct{}

// Handler traces every request h serves in a segment named name: the local
// server's tracing. It honours an incoming X-Amzn-Trace-Id header and sets
// one on the response; a 5xx marks the segment as a fault. The status is
// also the annotation "status", so a filter expression can find it.
func Handler(name string, h http.Handler) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg := xray.GetSegment(r.Context()) // xray.Handler always opens one
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestKey{}, seg)))
		seg.AddAnnotation("status", sw.status) //nolint:errcheck // an int never fails
	})
	return xray.Handler(xray.NewFixedSegmentNamer(name), inner)
}

// LambdaHandler traces every request h serves inside Lambda in a
// subsegment named name of the function's facade segment (which cannot be
// annotated), recording the method, URL and status (a 5xx is a fault) and
// carrying the annotations. Without a trace header in the context (outside
// Lambda's runtime loop) requests are served untraced; under the Runtime
// Interface Emulator the header is empty, so the facade is unsampled and
// nothing is sent.
func LambdaHandler(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !traced(r.Context()) {
			h.ServeHTTP(w, r)
			return
		}
		ctx, seg := xray.BeginSubsegment(r.Context(), name) // never nil when traced
		seg.Lock()
		req := seg.GetHTTP().GetRequest()
		req.Method = r.Method
		req.URL = "https://" + r.Host + r.URL.Path
		req.UserAgent = r.UserAgent()
		seg.Unlock()

		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(ctx, requestKey{}, seg)))
		xray.HttpCaptureResponse(seg, sw.status)
		seg.AddAnnotation("status", sw.status) //nolint:errcheck // an int never fails
		seg.Close(nil)
	})
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Annotate records key = value on the request's (sub)segment, and on the
// current subsegment when that is another one (the cache lookup's). Values
// are strings, booleans or numbers (int64 too). It does nothing for
// untraced or unsampled requests. It fits httpapi.Options and cache.Config.
func Annotate(ctx context.Context, key string, value any) {
	req, _ := ctx.Value(requestKey{}).(*xray.Segment)
	cur := xray.GetSegment(ctx)
	if req == nil && cur == nil {
		return
	}
	if v, ok := value.(int64); ok {
		value = int(v)
	}
	if req != nil {
		req.AddAnnotation(key, value) //nolint:errcheck // only bad value types fail
	}
	if cur != nil && cur != req {
		cur.AddAnnotation(key, value) //nolint:errcheck // only bad value types fail
	}
}

// StoreTracer runs every lookup of a Store in its own subsegment.
type StoreTracer struct {
	name string
	next banner.Store
}

// WrapStore returns a Store that traces each lookup of next in a
// subsegment named name.
func WrapStore(name string, next banner.Store) *StoreTracer {
	return &StoreTracer{name: name, next: next}
}

// Campaign looks k up in the wrapped store inside a subsegment. An error
// other than banner.ErrNotFound is recorded on the subsegment and on the
// request's segment.
func (t *StoreTracer) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	if xray.GetSegment(ctx) == nil {
		return t.next.Campaign(ctx, k)
	}
	sctx, seg := xray.BeginSubsegment(ctx, t.name)
	c, err := t.next.Campaign(sctx, k)
	if err != nil && !errors.Is(err, banner.ErrNotFound) {
		if req, _ := ctx.Value(requestKey{}).(*xray.Segment); req != nil {
			req.AddError(err) //nolint:errcheck // never fails
		}
		seg.Close(err)
		return c, err
	}
	seg.Close(nil)
	return c, err
}

// Segment begins a segment named name for a run outside any request (a
// command-line load) and returns its context and the function that closes
// it, recording the run's error.
func Segment(ctx context.Context, name string) (context.Context, func(error)) {
	ctx, seg := xray.BeginSegment(ctx, name)
	return ctx, func(err error) { seg.Close(err) }
}

// Capture runs fn in a subsegment named name of ctx's segment (inside
// Lambda, the invocation's facade), closing it with fn's error. Outside a
// traced request or run it runs fn untraced, silently.
func Capture(ctx context.Context, name string, fn func(context.Context) error) error {
	if !traced(ctx) {
		return fn(ctx)
	}
	return xray.Capture(ctx, name, fn)
}

// Metadata records key = v, any JSON value, unindexed, on the current
// (sub)segment. It does nothing outside a segment.
func Metadata(ctx context.Context, key string, v any) {
	if seg := xray.GetSegment(ctx); seg != nil {
		seg.AddMetadata(key, v) //nolint:errcheck // never fails
	}
}

// Trace returns the X-Ray trace ID of the request ctx belongs to and
// whether it is sampled, that is whether its trace is sent to X-Ray: the
// Root and Sampled=1 of the Lambda invocation's trace header, or the ID and
// sampling of the segment in ctx; "" and false when there is neither. The
// header is parsed by hand, as every log line of a request asks.
func Trace(ctx context.Context) (id string, sampled bool) {
	if h, _ := ctx.Value(xray.LambdaTraceHeaderKey).(string); h != "" {
		for part := range strings.SplitSeq(h, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Root":
				id = v
			case "Sampled":
				sampled = v == "1"
			}
		}
		if id != "" {
			return id, sampled
		}
	}
	if seg := xray.GetSegment(ctx); seg != nil {
		root := seg
		if seg.ParentSegment != nil {
			root = seg.ParentSegment
		}
		// Both are set when the segment is made, before any context
		// holds it, and never change.
		return root.TraceID, root.Sampled
	}
	return "", false
}

// LogHandler returns a slog.Handler that adds "trace_id" and "sampled" (see
// Trace) to every record logged with a context of a traced request, then
// hands the record to h.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, sampled := Trace(ctx); id != "" {
		r.AddAttrs(slog.String("trace_id", id), slog.Bool("sampled", sampled))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

// logger passes the SDK's warnings and errors to slog.
type logger struct{ log *slog.Logger }

func (l logger) Log(level xraylog.LogLevel, msg fmt.Stringer) {
	switch level {
	case xraylog.LogLevelWarn:
		l.log.Warn("X-Ray: " + msg.String())
	case xraylog.LogLevelError:
		l.log.Error("X-Ray: " + msg.String())
	}
}
