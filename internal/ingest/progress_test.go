package ingest

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/dynamo"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgressLine(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	p := NewProgress()
	p.now = clock.now
	fsys := p.FS(fstest.MapFS{"a.csv": {Data: []byte("h\n1\n2\n3\n")}, "b.csv": {Data: []byte("h\n1\n")}})

	f, err := fsys.Open("a.csv")
	require.NoError(t, err)
	_, err = io.CopyN(io.Discard, f, 4) // "h\n1\n"
	require.NoError(t, err)
	require.Equal(t, "1 rows read (50% of the bytes opened)", p.Line())
	_, err = io.Copy(io.Discard, f)
	require.NoError(t, err)
	g, err := fsys.Open("b.csv")
	require.NoError(t, err)
	require.Equal(t, "3 rows read (66% of the bytes opened)", p.Line())
	_, err = io.Copy(io.Discard, g)
	require.NoError(t, err)

	p.Written(dynamo.Progress{Quarter: 3, Written: 0, Total: 1_200_000})
	require.Equal(t, "4 rows read · quarter 3: 0 of 1,200,000 items written", p.Line())
	clock.advance(10 * time.Second)
	p.Written(dynamo.Progress{Quarter: 3, Written: 200_000, Total: 1_200_000, Throttled: 2 * time.Second})
	require.Equal(t, "4 rows read · quarter 3: 200,000 of 1,200,000 items written, throttled 2s · 50s left", p.Line())
}

func TestGroup(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-1234, "-1,234"}, {-123, "-123"}}
	for _, tt := range tests {
		require.Equal(t, tt.want, group(tt.n))
	}
}

func TestLogProgress(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	f := LogProgress(log, 10*time.Second, clock.now)
	// At 0, 5, 10, 11, 20, 30 and 31 s: a line at 10 s, when the writes
	// have run for the interval, at 20 and 30 s, and at the end.
	steps := []struct {
		after   time.Duration
		written int
	}{
		{0, 25}, {5 * time.Second, 50}, {5 * time.Second, 75}, {time.Second, 100}, {9 * time.Second, 125},
		{10 * time.Second, 150}, {time.Second, 200},
	}
	for _, st := range steps {
		clock.advance(st.after)
		f(dynamo.Progress{Quarter: 2, Written: st.written, Total: 200})
	}
	// A quarter written quickly logs nothing, and neither does the next
	// quick load of the same quarter, however long after the last one.
	f(dynamo.Progress{Quarter: 3, Written: 10, Total: 10})
	clock.advance(time.Minute)
	f(dynamo.Progress{Quarter: 3, Written: 10, Total: 10})
	want := []string{
		`level=INFO msg="quarter progress" quarter=2 written=75 total=200 throttled=0s`,
		`level=INFO msg="quarter progress" quarter=2 written=125 total=200 throttled=0s`,
		`level=INFO msg="quarter progress" quarter=2 written=150 total=200 throttled=0s`,
		`level=INFO msg="quarter progress" quarter=2 written=200 total=200 throttled=0s`,
	}
	require.Equal(t, want, strings.Split(strings.TrimSpace(out.String()), "\n"))
}
