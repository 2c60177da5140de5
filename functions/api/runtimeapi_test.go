package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// prefix is the Runtime API's path prefix, its version.
const prefix = "/2018-06-01/runtime/"

// invocation is one event for the function.
type invocation struct {
	// Event is the payload, such as a function URL event's JSON.
	Event []byte
	// TraceHeader is sent as Lambda-Runtime-Trace-Id, such as
	// "Root=1-…;Parent=…;Sampled=1"; empty sends none.
	TraceHeader string
	// Timeout sets the deadline (Lambda-Runtime-Deadline-Ms) from when
	// the function takes the invocation. Default 10 s.
	Timeout time.Duration
}

// result is what the function posted for an invocation.
type result struct {
	// RequestID is the invocation's Lambda-Runtime-Aws-Request-Id.
	RequestID string
	// Payload is the body posted: the response, or the error JSON.
	Payload []byte
	// Error is true when the function posted to /error.
	Error bool
}

// runtimeAPI stands in for the Lambda Runtime API in tests, so that
// a function's traced path runs: unlike the Runtime Interface Emulator,
// which never hands the function a trace header, it gives each invocation
// the Lambda-Runtime-Trace-Id the test chooses.
//
// startRuntimeAPI runs a built bootstrap (see lambdatest.Build) with
// exactly the environment the test gives plus AWS_LAMBDA_RUNTIME_API,
// which points at an HTTP server on a free loopback port. The server answers
// GET /2018-06-01/runtime/invocation/next with one invocation at a time
// (the event, and the headers Lambda sends: request ID, deadline, function
// ARN, trace header) and records what the function posts to
// /2018-06-01/runtime/invocation/<id>/response or .../error, which Invoke
// returns. The function's stdout and stderr are in Logs; WaitLine waits
// for a line.
type runtimeAPI struct {
	// Addr is the Runtime API's host:port, as in AWS_LAMBDA_RUNTIME_API.
	Addr string
	// FunctionARN is sent as Lambda-Runtime-Invoked-Function-Arn.
	FunctionARN string

	srv     *http.Server
	next    chan *call // invocations not yet taken by the function
	exited  chan struct{}
	logs    logBuffer
	mu      sync.Mutex
	calls   map[string]*call // taken, by request ID
	ids     int
	initErr []byte // what the function posted to /init/error
}

// call is an invocation in flight.
type call struct {
	id   string
	inv  invocation
	done chan result
}

// startRuntimeAPI runs bootstrap with env ("KEY=value" entries; none of this
// process's environment) plus AWS_LAMBDA_RUNTIME_API, and kills it and
// stops the server when t ends. functionName names the function in the
// invocations' ARN.
func startRuntimeAPI(t testing.TB, bootstrap, functionName string, env []string) *runtimeAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("runtimeapi: listen: %v", err)
	}
	r := &runtimeAPI{
		Addr:        ln.Addr().String(),
		FunctionARN: "arn:aws:lambda:eu-central-1:123456789012:function:" + functionName,
		next:        make(chan *call),
		exited:      make(chan struct{}),
		calls:       map[string]*call{},
	}
	r.logs.changed = make(chan struct{})
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln) //nolint:errcheck // ends with Close

	cmd := exec.Command(bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(append([]string(nil), env...), "AWS_LAMBDA_RUNTIME_API="+r.Addr)
	cmd.Stdout, cmd.Stderr = &r.logs, &r.logs
	if err := cmd.Start(); err != nil {
		r.srv.Close()
		t.Fatalf("runtimeapi: start %s: %v", bootstrap, err)
	}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.exited
		r.srv.Close()
		if t.Failed() {
			t.Logf("function output:\n%s", r.Logs())
		}
	})
	return r
}

// Invoke hands inv to the function and returns what it posted. It fails
// when ctx ends first, or when the function exits or reports an init error
// before posting.
func (r *runtimeAPI) Invoke(ctx context.Context, inv invocation) (result, error) {
	if inv.Timeout == 0 {
		inv.Timeout = 10 * time.Second
	}
	r.mu.Lock()
	r.ids++
	c := &call{id: fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", r.ids), inv: inv, done: make(chan result, 1)}
	r.mu.Unlock()
	select {
	case r.next <- c:
	case <-r.exited:
		return result{}, r.exitError()
	case <-ctx.Done():
		return result{}, fmt.Errorf("runtimeapi: the function did not ask for the next invocation: %w", ctx.Err())
	}
	select {
	case res := <-c.done:
		return res, nil
	case <-r.exited:
		return result{}, r.exitError()
	case <-ctx.Done():
		return result{}, fmt.Errorf("runtimeapi: no response to invocation %s: %w", c.id, ctx.Err())
	}
}

// exitError describes the function's exit.
func (r *runtimeAPI) exitError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.initErr != nil {
		return fmt.Errorf("runtimeapi: init error %s", r.initErr)
	}
	return errors.New("runtimeapi: the function exited")
}

// serve answers the function's requests.
func (r *runtimeAPI) serve(w http.ResponseWriter, req *http.Request) {
	path, ok := strings.CutPrefix(req.URL.Path, prefix)
	switch {
	case !ok:
		http.NotFound(w, req)
	case path == "invocation/next" && req.Method == http.MethodGet:
		r.serveNext(w, req)
	case path == "init/error" && req.Method == http.MethodPost:
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.initErr = body
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case strings.HasPrefix(path, "invocation/") && req.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		r.serveResult(w, req, id, kind)
	default:
		http.NotFound(w, req)
	}
}

// serveNext waits for an invocation and hands it over.
func (r *runtimeAPI) serveNext(w http.ResponseWriter, req *http.Request) {
	var c *call
	select {
	case c = <-r.next:
	case <-req.Context().Done():
		return
	}
	r.mu.Lock()
	r.calls[c.id] = c
	r.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", c.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(c.inv.Timeout).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", r.FunctionARN)
	if c.inv.TraceHeader != "" {
		h.Set("Lambda-Runtime-Trace-Id", c.inv.TraceHeader)
	}
	h.Set("Content-Type", "application/json")
	w.Write(c.inv.Event) //nolint:errcheck // the function sees a broken invocation
}

// serveResult records a response or an error posted for invocation id.
func (r *runtimeAPI) serveResult(w http.ResponseWriter, req *http.Request, id, kind string) {
	if kind != "response" && kind != "error" {
		http.NotFound(w, req)
		return
	}
	r.mu.Lock()
	c := r.calls[id]
	delete(r.calls, id)
	r.mu.Unlock()
	if c == nil {
		http.Error(w, "unknown request ID "+strconv.Quote(id), http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.done <- result{RequestID: id, Payload: body, Error: kind == "error"}
	w.WriteHeader(http.StatusAccepted)
}

// Logs returns what the function has printed so far.
func (r *runtimeAPI) Logs() string { return r.logs.String() }

// WaitLine waits until the function prints a whole line for which match
// is true, and returns the output up to and including that line. It fails
// after timeout, or when the function exits first.
func (r *runtimeAPI) WaitLine(match func(line string) bool, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		out, changed := r.logs.snapshot()
		n := 0
		for line := range strings.Lines(out) {
			n += len(line)
			if strings.HasSuffix(line, "\n") && match(line) {
				return out[:n], nil
			}
		}
		select {
		case <-changed:
		case <-r.exited:
			return "", errors.New("runtimeapi: the function exited without printing the line waited for")
		case <-deadline:
			return "", fmt.Errorf("runtimeapi: the line waited for was not printed within %s", timeout)
		}
	}
}

// logBuffer collects output and tells waiters when it grows.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced at each write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logBuffer) String() string {
	s, _ := l.snapshot()
	return s
}

// snapshot returns the output so far and a channel closed at the next
// write.
func (l *logBuffer) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.changed
}
