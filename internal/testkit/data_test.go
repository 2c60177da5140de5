package testkit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"banners/internal/testkit"
)

// recorder is a testing.TB that records a Skipf or Fatalf and ends the
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

// realData runs RealData with r on its own goroutine, so that a Skipf or
// Fatalf ends only that goroutine.
func realData(r *recorder) string {
	var dir string
	done := make(chan struct{})
	go func() {
		defer close(done)
		dir = testkit.RealData(r)
	}()
	<-done
	return dir
}

func TestRealData(t *testing.T) {
	present := t.TempDir()
	for _, sub := range []string{"csv", "images"} {
		if err := os.Mkdir(filepath.Join(present, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	absent := filepath.Join(t.TempDir(), "datachef")
	csvOnly := filepath.Join(present, "csv")
	tests := []struct {
		name, dir, ci            string
		want, wantSkip, wantFail string
	}{
		{name: "present", dir: present, want: present},
		{name: "present under CI", dir: present, ci: "true", want: present},
		{name: "absent skips, naming the folder", dir: absent, wantSkip: absent},
		{name: "absent fails under CI, naming the folder", dir: absent, ci: "true", wantFail: absent},
		{name: "no images folder skips", dir: csvOnly, wantSkip: csvOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BANNERS_DATA", tt.dir)
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			if got := realData(r); got != tt.want {
				t.Errorf("RealData = %q, want %q", got, tt.want)
			}
			if (tt.wantSkip == "") != (r.skipped == "") || !strings.Contains(r.skipped, tt.wantSkip) {
				t.Errorf("skipped with %q, want a message naming %q", r.skipped, tt.wantSkip)
			}
			if (tt.wantFail == "") != (r.failed == "") || !strings.Contains(r.failed, tt.wantFail) {
				t.Errorf("failed with %q, want a message naming %q", r.failed, tt.wantFail)
			}
		})
	}
}

// TestRealDataDefault checks the default folder: ../shared/datachef beside
// the module root, returned or named in the skip message.
func TestRealDataDefault(t *testing.T) {
	t.Setenv("BANNERS_DATA", "")
	t.Setenv("CI", "")
	want, err := filepath.Abs("../../../shared/datachef")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	if got := realData(r); got != want && !strings.Contains(r.skipped, want) {
		t.Errorf("RealData = %q, skipped with %q; want %q", got, r.skipped, want)
	}
}
