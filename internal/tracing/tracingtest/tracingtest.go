// Package tracingtest captures X-Ray segments in tests: a UDP listener on a
// free loopback port stands in for the X-Ray daemon, for this process's SDK
// (Start, which also samples every request) or another process's (Listen,
// such as a Lambda bootstrap given the address in AWS_XRAY_DAEMON_ADDRESS).
package tracingtest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"

	"banners/internal/tracing"
)

// SampleAll is a sampling strategy that traces every request: under the
// SDK's default (one a second plus 5 %) a test's second request would not be.
func SampleAll() sampling.Strategy {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"default":{"fixed_target":0,"rate":1.0},"rules":[]}`))
	if err != nil {
		panic(err) // a constant manifest
	}
	return s
}

// Segment is a segment or subsegment as the SDK sends it, decoded for
// assertions.
type Segment struct {
	TraceID     string         `json:"trace_id"`
	ID          string         `json:"id"`
	ParentID    string         `json:"parent_id"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Namespace   string         `json:"namespace"`
	Fault       bool           `json:"fault"`
	Error       bool           `json:"error"`
	Annotations map[string]any `json:"annotations"`
	// Metadata is by namespace, then key.
	Metadata map[string]map[string]any `json:"metadata"`
	AWS      map[string]any            `json:"aws"`
	HTTP     struct {
		Request struct {
			Method string `json:"method"`
		} `json:"request"`
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	} `json:"http"`
	Subsegments []Segment `json:"subsegments"`
	// JSON is the segment document as received.
	JSON json.RawMessage `json:"-"`
}

// Find returns the first subsegment, at any depth, named name, or nil.
func (s *Segment) Find(name string) *Segment {
	for i := range s.Subsegments {
		sub := &s.Subsegments[i]
		if sub.Name == name {
			return sub
		}
		if found := sub.Find(name); found != nil {
			return found
		}
	}
	return nil
}

// Daemon receives the segments the SDK sends.
type Daemon struct {
	conn *net.UDPConn
	segs chan Segment
	seen map[string]bool // IDs returned by Next
}

// header starts every datagram the SDK sends.
var header = []byte(`{"format": "json", "version": 1}` + "\n")

// Start listens on a free loopback UDP port and configures the SDK to send
// there, to sample every request and to log to t. When t ends it stops
// listening and configures the SDK as a process starts (tracing.Config{}).
func Start(t testing.TB) *Daemon {
	t.Helper()
	d := Listen(t)
	t.Cleanup(func() {
		if err := tracing.Configure(tracing.Config{}); err != nil {
			t.Errorf("reset X-Ray: %v", err)
		}
	})
	err := tracing.Configure(tracing.Config{
		DaemonAddr: d.Addr(),
		Sampling:   SampleAll(),
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("configure X-Ray: %v", err)
	}
	return d
}

// Listen listens on a free loopback UDP port until t ends, leaving this
// process's SDK as it is: the daemon for another process, pointed at Addr.
func Listen(t testing.TB) *Daemon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen for X-Ray segments: %v", err)
	}
	d := &Daemon{conn: conn, segs: make(chan Segment, 100), seen: map[string]bool{}}
	var reading sync.WaitGroup
	reading.Go(func() { d.read(t) })
	t.Cleanup(func() {
		conn.Close()
		reading.Wait()
	})
	return d
}

// Addr returns the daemon's address, host:port.
func (d *Daemon) Addr() string { return d.conn.LocalAddr().String() }

func (d *Daemon) read(t testing.TB) {
	buf := make([]byte, 64<<10)
	for {
		n, err := d.conn.Read(buf)
		if err != nil {
			close(d.segs)
			return
		}
		doc, ok := bytes.CutPrefix(buf[:n], header)
		if !ok {
			t.Errorf("X-Ray datagram without the JSON header: %q", buf[:n])
			continue
		}
		var s Segment
		if err := json.Unmarshal(doc, &s); err != nil {
			t.Errorf("X-Ray datagram: %v: %s", err, doc)
			continue
		}
		s.JSON = append(json.RawMessage(nil), doc...)
		select {
		case d.segs <- s:
		default:
			t.Errorf("X-Ray segment dropped: more than %d unread", cap(d.segs))
		}
	}
}

// Next returns the next segment received, failing t after 5 s without one.
// A segment sent again is skipped, as X-Ray keeps one copy per ID: the
// SDK's xray.Handler sends one twice when cancellation races with Close.
func (d *Daemon) Next(t testing.TB) Segment {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-d.segs:
			if d.seen[s.ID] {
				continue
			}
			d.seen[s.ID] = true
			return s
		case <-timeout:
			t.Fatalf("no X-Ray segment received within 5 s")
			return Segment{}
		}
	}
}

// None fails t if a segment arrives within wait.
func (d *Daemon) None(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case s := <-d.segs:
		t.Fatalf("unexpected X-Ray segment: %s", s.JSON)
	case <-time.After(wait):
	}
}
