// Package testkit holds helpers shared by the tests: the real dataset's
// folder, free loopback ports, a locked buffer and a settable clock.
package testkit

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RealData returns the real dataset's root folder, the one holding csv/ and
// images/: $BANNERS_DATA, or ../shared/datachef beside the module root. The
// dataset is not in the repository, so when the folder is absent the test is
// skipped with a message naming it, except when CI is set: there it fails, so
// CI never skips the real-data tests silently.
func RealData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("BANNERS_DATA")
	if dir == "" {
		dir = filepath.Join(moduleRoot(t), "..", "shared", "datachef")
	}
	for _, sub := range []string{"csv", "images"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			msg := "the real dataset is not in %s (no %s/ folder); set BANNERS_DATA to the folder holding csv/ and images/"
			if os.Getenv("CI") != "" {
				t.Fatalf(msg, dir, sub)
			}
			t.Skipf(msg, dir, sub)
		}
	}
	return dir
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}

// FreePort returns a loopback TCP address, "127.0.0.1:port", that was free a
// moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Buffer is a bytes.Buffer safe for concurrent use, for a log written by one
// goroutine and read by the test.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Clock is a settable clock safe for concurrent use. The zero Clock reads
// the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
