// Package funcurl runs an http.Handler behind a Lambda function URL
// (payload format 2.0, events.LambdaFunctionURLRequest): the Lambda serves
// exactly the handler the local server serves, for every method and path.
//
// A request keeps its raw path and raw query string verbatim, its headers
// (Lambda joins repeated ones with commas), its cookies (the event's
// cookies list, as one Cookie header) and its body, decoded from base64
// when Lambda encoded it. Function URLs answer over HTTPS only, so the
// request carries a TLS connection state, as one from net/http's TLS server
// does. The answer's
// headers are joined with ", ", except Set-Cookie, whose values go to the
// response's cookies list one by one; a body that is not text goes back
// base64-encoded, and a HEAD answer has none.
package funcurl

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler adapts an http.Handler to function URL events. Create it with
// New.
type Handler struct {
	h http.Handler
}

// New returns a Handler serving events with h.
func New(h http.Handler) *Handler { return &Handler{h: h} }

// Handle serves one function URL event. An event that cannot be turned
// into a request (no method, an invalid one, a bad base64 body, a badly
// escaped path) gets a 400 JSON answer, as a malformed HTTP request would;
// it never fails the invocation, which the function URL would turn into a
// 502. A handler that panics gets a 500 and the panic is logged, as
// net/http's server does: the function, and its warm cache, live on.
func (a *Handler) Handle(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	head := ev.RequestContext.HTTP.Method == http.MethodHead
	r, err := Request(ctx, &ev)
	if err != nil {
		// Before the access log: say it here, so it is not lost.
		slog.WarnContext(ctx, "malformed function URL event", "err", err)
		return errorResponse(http.StatusBadRequest, "malformed request", head), nil
	}
	w := &responseWriter{header: make(http.Header), status: http.StatusOK}
	if p := serve(a.h, w, r); p != nil {
		slog.ErrorContext(ctx, "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errorResponse(http.StatusInternalServerError, "internal error", head), nil
	}
	return w.response(head), nil
}

// serve runs h and returns what it panicked with, or nil.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (p any) {
	defer func() { p = recover() }()
	h.ServeHTTP(w, r)
	return nil
}

// errorResponse is a JSON error answer, without a body for HEAD.
func errorResponse(status int, msg string, head bool) events.LambdaFunctionURLResponse {
	resp := events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       `{"error":"` + msg + `"}` + "\n",
	}
	if head {
		resp.Body = ""
	}
	return resp
}

// Request builds the http.Request an event stands for, with ctx.
func Request(ctx context.Context, ev *events.LambdaFunctionURLRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, errors.New("no requestContext.http.method: not a function URL event")
	}
	rawPath := ev.RawPath
	if rawPath == "" {
		rawPath = "/"
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("path of %s %q: %w", method, rawPath, err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded && ev.Body != "" {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decode base64 body of %s %q: %w", method, rawPath, err)
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request for %s %q: %w", method, rawPath, err)
	}
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	r.Header = make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		r.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if len(ev.Cookies) > 0 {
		r.Header["Cookie"] = append(r.Header["Cookie"], strings.Join(ev.Cookies, "; "))
	}
	// As net/http's server does: the host in Host only, and the URL as the
	// request line gives it, with RawPath only when the client's escaping
	// is not the default one.
	r.Host = r.Header.Get("Host")
	delete(r.Header, "Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.URL = &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if r.URL.EscapedPath() != rawPath {
		r.URL.RawPath = rawPath
	}
	r.RequestURI = r.URL.RequestURI()
	// Lambda terminated the visitor's TLS connection: the request came over
	// HTTPS, as r.TLS says for net/http's own TLS server.
	r.TLS = &tls.ConnectionState{}
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

// responseWriter buffers an answer. One per invocation: a function
// instance serves one invocation at a time, so there is nothing to pool.
type responseWriter struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
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

// response returns the buffered answer as a function URL response.
func (w *responseWriter) response(head bool) events.LambdaFunctionURLResponse {
	b := w.body.Bytes()
	if len(b) > 0 && w.header.Get("Content-Type") == "" {
		w.header.Set("Content-Type", http.DetectContentType(b))
	}
	// Content-Length as net/http's server sets it for a buffered answer:
	// also 0 for an empty one, except to HEAD or where no body is allowed.
	if !head && w.header.Get("Content-Length") == "" && bodyAllowed(w.status) {
		w.header.Set("Content-Length", strconv.Itoa(len(b)))
	}
	resp := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: make(map[string]string, len(w.header))}
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			resp.Cookies = vs
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if head || len(b) == 0 {
		return resp
	}
	if isText(w.header.Get("Content-Type")) && utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b)
		resp.IsBase64Encoded = true
	}
	return resp
}

// bodyAllowed reports whether an answer with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
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
