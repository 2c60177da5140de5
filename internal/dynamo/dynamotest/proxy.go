package dynamotest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
