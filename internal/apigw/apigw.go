// Package apigw runs an http.Handler behind an API Gateway REST API proxy
// integration (payload format 1.0, events.APIGatewayProxyRequest): the
// Lambda serves exactly the handler the local server serves.
//
// Requests keep their path, path parameters (as Request.PathValue), query
// strings and headers with all their values, cookies and body (decoded
// from base64 when API Gateway encoded it). Responses carry every header
// value in multiValueHeaders, so several Set-Cookie headers survive, and a
// body that is not text goes back base64-encoded. A HEAD answer has no
// body.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler adapts an http.Handler to API Gateway proxy events. Create it
// with New.
type Handler struct {
	h http.Handler
}

// New returns a Handler serving events with h.
func New(h http.Handler) *Handler { return &Handler{h: h} }

// Handle serves one API Gateway event. An event that cannot be turned into
// a request (a bad base64 body, an invalid method) gets a 400 answer, as a
// malformed HTTP request would; it never fails the invocation, which API
// Gateway would turn into a 502.
func (a *Handler) Handle(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	r, err := Request(ctx, &ev)
	if err != nil {
		return events.APIGatewayProxyResponse{
			StatusCode: http.StatusBadRequest,
			Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
			Body:       `{"error":"malformed request"}` + "\n",
		}, nil
	}
	w := writerPool.Get().(*responseWriter)
	w.reset()
	a.h.ServeHTTP(w, r)
	resp := w.response(r.Method == http.MethodHead)
	writerPool.Put(w)
	return resp, nil
}

// Request builds the http.Request an event stands for, with ctx.
func Request(ctx context.Context, ev *events.APIGatewayProxyRequest) (*http.Request, error) {
	u := &url.URL{Path: ev.Path}
	if u.Path == "" {
		u.Path = "/"
	}
	u.RawQuery = rawQuery(ev)
	body := []byte(ev.Body)
	if ev.IsBase64Encoded && ev.Body != "" {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decode base64 body of %s %s: %w", ev.HTTPMethod, ev.Path, err)
		}
	}
	method := ev.HTTPMethod
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request for %s %s: %w", ev.HTTPMethod, ev.Path, err)
	}
	r.RequestURI = u.RequestURI()
	r.Header = header(ev)
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.URL.Host = r.Host
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	if ip := ev.RequestContext.Identity.SourceIP; ip != "" {
		r.RemoteAddr = ip + ":0"
	}
	for k, v := range ev.PathParameters {
		r.SetPathValue(k, v)
	}
	return r, nil
}

// rawQuery encodes the event's query strings, preferring the multi-value
// ones; API Gateway hands them over decoded.
func rawQuery(ev *events.APIGatewayProxyRequest) string {
	if len(ev.MultiValueQueryStringParameters) > 0 {
		return url.Values(ev.MultiValueQueryStringParameters).Encode()
	}
	if len(ev.QueryStringParameters) == 0 {
		return ""
	}
	q := make(url.Values, len(ev.QueryStringParameters))
	for k, v := range ev.QueryStringParameters {
		q.Set(k, v)
	}
	return q.Encode()
}

// header returns the event's headers, canonicalized, preferring the
// multi-value ones.
func header(ev *events.APIGatewayProxyRequest) http.Header {
	if len(ev.MultiValueHeaders) > 0 {
		h := make(http.Header, len(ev.MultiValueHeaders))
		for k, vs := range ev.MultiValueHeaders {
			ck := http.CanonicalHeaderKey(k)
			h[ck] = append(h[ck], vs...)
		}
		return h
	}
	h := make(http.Header, len(ev.Headers))
	for k, v := range ev.Headers {
		h.Add(k, v)
	}
	return h
}

// responseWriter buffers an answer.
type responseWriter struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

func (w *responseWriter) reset() {
	w.header = make(http.Header, 8)
	w.status = http.StatusOK
	w.wroteHeader = false
	w.body.Reset()
}

// Header returns the response headers.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sets the status; only the first call counts.
func (w *responseWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	w.status = status
}

// Write appends to the body.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// WriteString appends to the body.
func (w *responseWriter) WriteString(s string) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.WriteString(s)
}

var _ io.StringWriter = (*responseWriter)(nil)

// response returns the buffered answer as an API Gateway response.
func (w *responseWriter) response(head bool) events.APIGatewayProxyResponse {
	resp := events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: w.header}
	b := w.body.Bytes()
	if len(b) > 0 && w.header.Get("Content-Type") == "" {
		w.header.Set("Content-Type", http.DetectContentType(b))
	}
	if head || len(b) == 0 {
		return resp
	}
	if w.header.Get("Content-Length") == "" {
		w.header.Set("Content-Length", strconv.Itoa(len(b)))
	}
	if isText(w.header.Get("Content-Type")) && utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b)
		resp.IsBase64Encoded = true
	}
	return resp
}

// isText reports whether a body of this content type can travel as a
// JSON string; anything else is sent base64-encoded.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml",
		"application/x-www-form-urlencoded":
		return true
	}
	return false
}
