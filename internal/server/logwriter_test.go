package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/server"
	"banners/internal/testkit"
)

func TestLogWriter(t *testing.T) {
	var out testkit.Buffer
	lw := server.NewLogWriter(&out, 20*time.Millisecond)

	// Lines are held back, then flushed by the ticker.
	_, err := lw.Write([]byte("first\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return out.String() == "first\n" }, 2*time.Second, 5*time.Millisecond)

	// Concurrent writers never interleave within a line; Close flushes
	// the rest.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(lw, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Wait()
	require.NoError(t, lw.Close())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 1+8*500)
	for _, l := range lines[1:] {
		require.Regexp(t, `^writer \d line \d+$`, l)
	}
}
