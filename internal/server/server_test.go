package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/csvload"
	"banners/internal/httpapi"
	"banners/internal/images"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/server"
	"banners/site"
)

// start runs the local server as `make run` does, on a free loopback port,
// and returns its address.
func start(t *testing.T) string {
	t.Helper()
	campaigns, _, err := csvload.LoadFS(sample.FS(), nil)
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	cfg := server.Config{
		API:               httpapi.New(memory.New(campaigns), httpapi.Options{Logger: log}),
		Images:            images.Placeholders{},
		Site:              site.FS,
		Logger:            log,
		ReadHeaderTimeout: 500 * time.Millisecond,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return ln.Addr().String()
}

// raw sends a raw HTTP/1.1 request and returns the status line's code.
func raw(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	method, _, _ := strings.Cut(request, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func TestHostileRequests(t *testing.T) {
	addr := start(t)
	long := strings.Repeat("a", 40<<10)
	manyCookies := strings.Repeat("x=1; ", 3000)
	tests := []struct {
		name       string
		request    string
		wantStatus int
		wantBody   string
	}{
		{"site", "GET /?cam-id=10 HTTP/1.1\r\nHost: x\r\n\r\n", 200, "<!doctype html>"},
		{"placeholder image", "GET /images/image_123.png HTTP/1.1\r\nHost: x\r\n\r\n", 200, "<svg"},
		{"banners", "GET /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\n\r\n", 200, `"campaign_id":10`},
		{"long path", "GET /api/campaigns/" + long + "/banners HTTP/1.1\r\nHost: x\r\n\r\n", 431, ""},
		{"long query", "GET /api/campaigns/10/banners?" + long + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, ""},
		{"many cookies", "GET /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\nCookie: " + manyCookies + "\r\n\r\n", 200, `"campaign_id":10`},
		{"huge cookie", "GET /campaigns/10 HTTP/1.1\r\nHost: x\r\nCookie: banner_last=" + long + "\r\n\r\n", 431, ""},
		{"malformed cookie", "GET /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\nCookie: ;;banner_last==\"\"; =; banner_last\r\n\r\n", 200, `"banners":[`},
		{"control byte in cookie", "GET /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\nCookie: banner_last=\x01\r\n\r\n", 400, ""},
		{"percent-encoded id", "GET /api/campaigns/%31%30/banners HTTP/1.1\r\nHost: x\r\n\r\n", 200, `"campaign_id":10`},
		{"encoded slash", "GET /api/campaigns/10%2Fx/banners HTTP/1.1\r\nHost: x\r\n\r\n", 404, `"error":"not found"`},
		{"dot segments", "GET /api/campaigns/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 307, `href="/etc/passwd"`},
		{"NUL in path", "GET /api/campaigns/1%00/banners HTTP/1.1\r\nHost: x\r\n\r\n", 400, "campaign_id must be a positive integer"},
		{"non-UTF-8", "GET /api/campaigns/%ff%fe/banners?quarter=%ff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "campaign_id must be a positive integer"},
		{"HEAD", "HEAD /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\n\r\n", 200, ""},
		{"OPTIONS", "OPTIONS /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\n\r\n", 405, `"error":"method \"OPTIONS\" not allowed, use GET"`},
		{"body on GET", "GET /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 200, `"campaign_id":10`},
		{"bad request line", "GARBAGE\r\n\r\n", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body := raw(t, addr, tt.request)
			require.Equal(t, tt.wantStatus, got, body)
			require.Contains(t, body, tt.wantBody)
		})
	}
}

func TestSlowHeadersAreCut(t *testing.T) {
	addr := start(t)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /api/campaigns/10/banners HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)
	// Dribble a header byte at a time, slower than the header timeout allows.
	start := time.Now()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	for i := 0; ; i++ {
		if _, err := io.WriteString(conn, "X"); err != nil {
			break
		}
		buf := make([]byte, 1)
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := conn.Read(buf); err == io.EOF || (err == nil && buf[0] == 'H') {
			break // closed, or an error answer started
		}
		require.Less(t, time.Since(start), 5*time.Second, "server kept a slow client")
	}
}

func TestManyConcurrentConnections(t *testing.T) {
	addr := start(t)
	before := runtime.NumGoroutine()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("http://%s/api/campaigns/%d/banners", addr, 1+i%50))
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	client.CloseIdleConnections()
	// Goroutines go back to where they were once the connections close.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+5 }, 5*time.Second, 50*time.Millisecond)
}
