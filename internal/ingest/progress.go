package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"banners/internal/dynamo"
)

// Progress follows a load for the person running it: rows read, items
// written and the time left. Count rows with FS, items with Written (as a
// dynamo.Store's WithProgress function), and show it with Draw. It is safe
// for concurrent use.
type Progress struct {
	rows, read atomic.Int64 // rows and bytes read
	size       atomic.Int64 // bytes of the files opened so far

	mu      sync.Mutex
	write   dynamo.Progress
	started time.Time // of the quarter's writes
	now     func() time.Time
}

// NewProgress returns an empty Progress.
func NewProgress() *Progress { return &Progress{now: time.Now} }

// FS returns fsys with every file it opens counting its rows and bytes
// into p as they are read.
func (p *Progress) FS(fsys fs.FS) fs.FS { return countingFS{fsys, p} }

// Written records how far a quarter's writes are.
func (p *Progress) Written(w dynamo.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.Quarter != p.write.Quarter || w.Written <= p.write.Written || p.started.IsZero() {
		p.started = p.now()
	}
	p.write = w
}

// Line returns the progress as one line, such as "1,234,567 rows read ·
// quarter 1: 120,000 of 1,000,000 items written · 1m20s left".
func (p *Progress) Line() string {
	p.mu.Lock()
	w, started := p.write, p.started
	p.mu.Unlock()
	line := group(p.rows.Load()) + " rows read"
	if w.Total == 0 {
		if size := p.size.Load(); size > 0 {
			line += fmt.Sprintf(" (%d%% of the bytes opened)", 100*p.read.Load()/size)
		}
		return line
	}
	line += fmt.Sprintf(" · quarter %d: %s of %s items written", w.Quarter, group(int64(w.Written)), group(int64(w.Total)))
	if w.Throttled > 0 {
		line += ", throttled " + w.Throttled.Round(time.Second).String()
	}
	if elapsed := p.now().Sub(started); w.Written > 0 && elapsed > 0 {
		left := time.Duration(float64(elapsed) * float64(w.Total-w.Written) / float64(w.Written))
		line += " · " + left.Round(time.Second).String() + " left"
	}
	return line
}

// Draw shows Line on a terminal, rewriting one line every interval until
// ctx is done, then ends the line.
func (p *Progress) Draw(ctx context.Context, term io.Writer, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// \r returns to the line's start, \x1b[K clears what a longer line
		// left behind.
		fmt.Fprint(term, "\r"+p.Line()+"\x1b[K")
		select {
		case <-ctx.Done():
			fmt.Fprintln(term)
			return
		case <-t.C:
		}
	}
}

// LogProgress returns a dynamo.Store WithProgress function that logs a
// quarter's writes as plain lines, for logs that are not a terminal
// (Lambda, CI): one line when a quarter's writes have run for interval,
// then at most one per interval, and one when they are all written. A
// quarter written within interval logs none.
func LogProgress(log *slog.Logger, interval time.Duration, now func() time.Time) func(dynamo.Progress) {
	var (
		q           = -1
		written     int
		start, last time.Time
	)
	return func(w dynamo.Progress) {
		t := now()
		// Written grows within a load, so a count that does not is the
		// next load's first batch, of the same quarter or another (a warm
		// Lambda loads one quarter once per uploaded file).
		if int(w.Quarter) != q || w.Written <= written {
			q, start, last = int(w.Quarter), t, time.Time{}
		}
		written = w.Written
		due := t.Sub(start) >= interval && t.Sub(last) >= interval
		if due || w.Written == w.Total && !last.IsZero() {
			last = t
			log.Info("quarter progress", "quarter", q, "written", w.Written, "total", w.Total,
				"throttled", w.Throttled.Round(time.Millisecond).String())
		}
	}
}

// group writes n with thousands separated by commas.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// countingFS is an fs.FS whose files count what is read from them.
type countingFS struct {
	fs.FS
	p *Progress
}

func (c countingFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err == nil {
		c.p.size.Add(info.Size())
	}
	return &countingFile{File: f, p: c.p}, nil
}

// countingFile counts the bytes and the rows, the lines after the header,
// read from a file.
type countingFile struct {
	fs.File
	p      *Progress
	header bool // the header's line end was read
}

func (f *countingFile) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	f.p.read.Add(int64(n))
	lines := bytes.Count(b[:n], []byte{'\n'})
	if !f.header && lines > 0 {
		f.header = true
		lines--
	}
	f.p.rows.Add(int64(lines))
	return n, err
}

// Terminal reports whether w is a terminal a person watches, where Draw
// belongs: a character device, outside CI.
func Terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
