package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// wrk 4.1.0's summary, as the -wrk mode reads it.
const wrkOutput = `Running 5s test @ http://127.0.0.1:41234
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.61ms    1.02ms  21.09ms   93.17%
    Req/Sec    20.43k     1.50k   22.39k    82.00%
  101655 requests in 5.00s, 54.39MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  20329.04
Transfer/sec:     10.88MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	require.NoError(t, err)
	require.InDelta(t, 20329.04, r.Rate, 0.001)
	require.Equal(t, 101655, r.Requests)
	require.Equal(t, 7, r.Bad)

	_, err = parseWrk("unable to connect to 127.0.0.1:1 Connection refused")
	require.Error(t, err)
}

func TestCPUTime(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	x := 0
	for i := range 200_000_000 {
		x ^= i
	}
	after, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	require.Greater(t, after, before, "a busy loop (%d) used no CPU time", x)
}
