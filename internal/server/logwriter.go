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
	mu   sync.Mutex
	buf  *bufio.Writer
	done chan struct{}
	wg   sync.WaitGroup
}

// NewLogWriter returns a LogWriter on w flushing every interval (in
// practice 100–250 ms).
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	lw := &LogWriter{buf: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	lw.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-lw.done:
				return
			case <-t.C:
				lw.Flush() //nolint:errcheck // a failing log sink has nowhere to report to
			}
		}
	})
	return lw
}

// Write buffers p; a full buffer is written out at once.
func (lw *LogWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.Write(p)
}

// Flush writes out what is buffered.
func (lw *LogWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.Flush()
}

// Close stops the periodic flush and flushes what is left.
func (lw *LogWriter) Close() error {
	close(lw.done)
	lw.wg.Wait()
	return lw.Flush()
}
