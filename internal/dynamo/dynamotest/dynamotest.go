// Package dynamotest runs local DynamoDB servers for tests: dynalite (from
// the module's node_modules) and moto (python3 -m moto.server, which also
// serves S3), each on a free loopback port and stopped when the test ends.
//
// A server that cannot be started fails the test; it is never skipped.
// `npm ci` at the module root installs dynalite, and .ci/run provides both.
package dynamotest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/dynamo"
	"banners/internal/testkit"
)

// Region is the region every client of the servers uses.
const Region = "eu-central-1"

// The servers Start knows.
const (
	// Dynalite is the npm dynalite server: fast, and strict like DynamoDB
	// about request limits.
	Dynalite = "dynalite"
	// Moto is moto_server: slower, serves DynamoDB and S3 on one port.
	Moto = "moto"
)

// Names lists the servers Each runs a test against.
var Names = []string{Dynalite, Moto}

// Server is a running local server.
type Server struct {
	// Name is Dynalite or Moto.
	Name string
	// URL is the server's endpoint, "http://127.0.0.1:<port>".
	URL string
}

// Each runs f as one subtest per server in Names, each with its own server.
func Each(t *testing.T, f func(t *testing.T, srv *Server)) {
	t.Helper()
	for _, name := range Names {
		t.Run(name, func(t *testing.T) { f(t, Start(t, name)) })
	}
}

// Start starts the server called name (Dynalite or Moto) on a free
// loopback port, waits until it accepts connections and stops it when t
// ends. It fails t if the server cannot be started.
func Start(t testing.TB, name string) *Server {
	t.Helper()
	var last error
	for range 3 { // a free port may be taken before the server binds it
		srv, err := start(t, name)
		if err == nil {
			return srv
		}
		last = err
	}
	t.Fatalf("%s did not start (.ci/run provides it; for dynalite run `npm ci` at the module root, for moto `pip install 'moto[server]'`): %v", name, last)
	return nil
}

// start makes one attempt at starting the server.
func start(t testing.TB, name string) (*Server, error) {
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	p := strconv.Itoa(port)
	var cmd *exec.Cmd
	switch name {
	case Dynalite:
		root, err := testkit.ModuleRoot()
		if err != nil {
			return nil, err
		}
		if cmd, err = testkit.DynaliteCommand(root, port); err != nil {
			return nil, err
		}
	case Moto:
		cmd = exec.Command(python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", p)
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	log := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	stop, err := testkit.StartProcess(cmd, net.JoinHostPort("127.0.0.1", p), 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%v\n%s", err, log)
	}
	t.Cleanup(stop)
	return &Server{Name: name, URL: "http://127.0.0.1:" + p}, nil
}

// python returns the path of the python3 interpreter, resolved once: a
// pyenv shim costs two seconds per start.
var python = sync.OnceValue(func() string {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if p := strings.TrimSpace(string(out)); err == nil && p != "" {
		return p
	}
	return "python3"
})

// Config returns an aws.Config for the server: static credentials
// test/test, Region, and the server as BaseEndpoint for every service.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
	}
}

// Env returns the environment variables that point the SDK's default
// configuration at the server, as "KEY=value" strings.
func (s *Server) Env() []string {
	return []string{
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.URL,
		"AWS_ENDPOINT_URL_S3=" + s.URL,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Client returns a DynamoDB client for the server; optFns may adjust it,
// for example replace its HTTPClient.
func (s *Server) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(s.Config(), optFns...)
}

var tables atomic.Int64

// NewTable creates a fresh, empty table with dynamo.Store.CreateTable and
// returns its name.
func (s *Server) NewTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e6, tables.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.New(client, name).CreateTable(ctx); err != nil {
		t.Fatalf("on %s: %v", s.Name, err)
	}
	return name
}

// Scan reads the whole table, pageSize items per Scan call (0 for the
// server's 1 MB pages), following LastEvaluatedKey. It returns the campaign
// and manifest items sorted by pk then sk, decoded for comparison (numbers
// stay exact, as attributevalue.Number), and the number of pages read. The
// generation items (pk dynamo.GenerationPK) are left out: Generation reads them.
func Scan(t testing.TB, client *dynamodb.Client, table string, pageSize int32) ([]map[string]any, int) {
	t.Helper()
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}
	if pageSize > 0 {
		in.Limit = aws.Int32(pageSize)
	}
	var items []map[string]any
	pages := 0
	p := dynamodb.NewScanPaginator(client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		pages++
		for _, av := range out.Items {
			var it map[string]any
			if err := attributevalue.UnmarshalMapWithOptions(av, &it, func(o *attributevalue.DecoderOptions) {
				o.UseNumber = true
			}); err != nil {
				t.Fatalf("decode scanned item: %v", err)
			}
			if it[dynamo.PartitionKey] != dynamo.GenerationPK {
				items = append(items, it)
			}
		}
	}
	slices.SortFunc(items, func(a, b map[string]any) int {
		key := func(it map[string]any) string { return fmt.Sprint(it[dynamo.PartitionKey], "\x00", it[dynamo.SortKey]) }
		return strings.Compare(key(a), key(b))
	})
	return items, pages
}

// HookClient is an aws.HTTPClient that calls Before ahead of every request
// of one DynamoDB operation, to interleave or interrupt a test's calls.
//
// A request it sends is not aborted when its context ends: it completes,
// as at a server that had received it, within 30 s. dynalite 4.0.0 exits
// when a client aborts a request it is reading (`req.on('error', function
// (err) { throw err })`), and an interrupted load has batches in flight.
type HookClient struct {
	// Operation is the DynamoDB operation to hook, such as "BatchWriteItem".
	Operation string
	// Before is called with the 1-based count of the operation's requests
	// so far. A non-nil error fails that request without sending it.
	Before func(n int) error

	n atomic.Int64
}

// hookHTTP sends HookClient's requests: as many idle connections as a
// load keeps calls in flight, and a bound on every request.
var hookHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

// Do sends req, calling Before first when req is of the hooked operation.
func (h *HookClient) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), "."+h.Operation) {
		if err := h.Before(int(h.n.Add(1))); err != nil {
			return nil, err
		}
	}
	return hookHTTP.Do(req.WithContext(context.WithoutCancel(req.Context())))
}

// Proxy forwards TCP connections from a fixed loopback port to a server
// until stopped; Start listens on the same port again. To a client,
// stopping it looks like the server going away, while the server keeps its
// data for when the proxy starts again.
type Proxy struct {
	// Addr is the proxy's host:port; point clients there.
	Addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

// NewProxy starts a proxy to target (host:port) on a free loopback port and
// stops it when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{Addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.Start(t)
	p.Addr = p.ln.Addr().String()
	t.Cleanup(p.Stop)
	return p
}

// Start listens again, on the same port, after a Stop.
func (p *Proxy) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	var err error
	for range 100 { // the port may linger for a moment after a stop
		if p.ln, err = net.Listen("tcp", p.Addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err)
	go p.serve(p.ln)
}

func (p *Proxy) serve(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln {
			// Stopped while this connection was being set up: it must not
			// outlive the stop (it would let requests through).
			p.mu.Unlock()
			in.Close()
			out.Close()
			continue
		}
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go pipe(in, out)
		go pipe(out, in)
	}
}

func pipe(dst, src net.Conn) {
	io.Copy(dst, src) //nolint:errcheck // either side closing ends the pair
	dst.Close()
	src.Close()
}

// Stop closes the listener and every connection through it.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return
	}
	p.ln.Close()
	p.ln = nil
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}
