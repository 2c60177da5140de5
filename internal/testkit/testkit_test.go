package testkit_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"banners/internal/testkit"
)

// recorder is a testing.TB that records a Skipf or Fatalf and stops the
// goroutine, as the real ones do.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRealData(t *testing.T) {
	present := t.TempDir()
	for _, sub := range []string{"csv", "images"} {
		if err := os.Mkdir(filepath.Join(present, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	absent := filepath.Join(t.TempDir(), "datachef")
	tests := []struct {
		name, dir, ci                   string
		wantDir, wantSkip, wantFailWith string
	}{
		{name: "present", dir: present, wantDir: present},
		{name: "present under CI", dir: present, ci: "true", wantDir: present},
		{name: "absent skips naming the folder", dir: absent, wantSkip: absent},
		{name: "absent under CI fails naming the folder", dir: absent, ci: "true", wantFailWith: absent},
		{name: "csv only skips", dir: filepath.Join(present, "csv"), wantSkip: filepath.Join(present, "csv")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BANNERS_DATA", tt.dir)
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			var got string
			done := make(chan struct{})
			go func() {
				defer close(done)
				got = testkit.RealData(r)
			}()
			<-done
			if got != tt.wantDir {
				t.Errorf("RealData = %q, want %q", got, tt.wantDir)
			}
			if tt.wantSkip == "" && r.skipped != "" || !strings.Contains(r.skipped, tt.wantSkip) {
				t.Errorf("skip message %q, want one naming %q", r.skipped, tt.wantSkip)
			}
			if tt.wantFailWith == "" && r.failed != "" || !strings.Contains(r.failed, tt.wantFailWith) {
				t.Errorf("fail message %q, want one naming %q", r.failed, tt.wantFailWith)
			}
		})
	}
}

func TestRealDataDefaultsBesideTheModule(t *testing.T) {
	t.Setenv("BANNERS_DATA", "")
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = testkit.RealData(r)
	}()
	<-done
	want, err := filepath.Abs("../../../shared/datachef")
	if err != nil {
		t.Fatal(err)
	}
	if got != "" && got != want || got == "" && !strings.Contains(r.skipped, want) {
		t.Errorf("RealData = %q, skipped %q; want %q", got, r.skipped, want)
	}
}

func TestFreePort(t *testing.T) {
	addr := testkit.FreePort(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on FreePort's %s: %v", addr, err)
	}
	l.Close()
}

func TestBufferConcurrentWrites(t *testing.T) {
	var b testkit.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got, want := len(b.String()), 800; got != want {
		t.Errorf("len = %d, want %d", got, want)
	}
}

func TestClock(t *testing.T) {
	var c testkit.Clock
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(start)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { c.Add(time.Second); _ = c.Now() })
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(4*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
}
