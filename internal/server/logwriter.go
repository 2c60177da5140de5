package server

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogWriter buffers log lines and writes them out at least every interval,
// so that a busy server does not pay one write system call per request.
// A line reaches the underlying writer at most interval late; Close flushes
// what is left. It is safe for concurrent use.
type LogWriter struct {
	mu       sync.Mutex
	buf      *bufio.Writer
	interval time.Duration
	pending  *time.Timer // the next flush, while buf holds lines
	closed   bool        // lines written after Close are not flushed
}

// NewLogWriter returns a LogWriter on w flushing every interval (100–250 ms).
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	return &LogWriter{buf: bufio.NewWriterSize(w, 64<<10), interval: interval}
}

// Write buffers p; a full buffer is written out at once.
func (lw *LogWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.pending == nil && !lw.closed {
		// A failing log sink has nowhere to report to.
		lw.pending = time.AfterFunc(lw.interval, func() { lw.Flush() }) //nolint:errcheck
	}
	return lw.buf.Write(p)
}

// Flush writes out what is buffered.
func (lw *LogWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.pending != nil {
		lw.pending.Stop()
		lw.pending = nil
	}
	return lw.buf.Flush()
}

// Close flushes what is left; later lines are buffered but not flushed.
func (lw *LogWriter) Close() error {
	lw.mu.Lock()
	lw.closed = true
	lw.mu.Unlock()
	return lw.Flush()
}
