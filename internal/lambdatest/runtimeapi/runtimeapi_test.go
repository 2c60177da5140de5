package runtimeapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/lambdatest"
	"banners/internal/lambdatest/runtimeapi"
)

// echoAnswer is what testdata/echo returns.
type echoAnswer struct {
	Event       json.RawMessage `json:"event"`
	RequestID   string          `json:"request_id"`
	FunctionARN string          `json:"function_arn"`
	TraceHeader string          `json:"trace_header"`
	HasDeadline bool            `json:"has_deadline"`
}

func TestInvoke(t *testing.T) {
	fn := runtimeapi.Start(t, lambdatest.Build(t, "./testdata/echo"), "echo", nil)
	const sampled = "Root=1-6745a0c2-3f0e1d2c4b5a69788796a5b4;Parent=53995c3f42cd8ad8;Sampled=1"
	tests := []struct {
		name        string
		event       string
		traceHeader string
		wantError   bool
	}{
		{"with a trace header", `{"n":1}`, sampled, false},
		{"without", `{"n":2}`, "", false},
		{"function error", `"fail"`, sampled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := fn.Invoke(ctx, runtimeapi.Invocation{Event: []byte(tt.event), TraceHeader: tt.traceHeader})
			require.NoError(t, err)
			require.Equal(t, tt.wantError, res.Error, "%s", res.Payload)
			out, err := fn.WaitLine(func(line string) bool { return line == "handled "+res.RequestID+"\n" }, 10*time.Second)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(out, "handled "+res.RequestID+"\n"))
			if tt.wantError {
				require.Contains(t, string(res.Payload), `"errorMessage":"asked to fail"`)
				return
			}
			var got echoAnswer
			require.NoError(t, json.Unmarshal(res.Payload, &got))
			require.Equal(t, echoAnswer{Event: json.RawMessage(tt.event), RequestID: res.RequestID, FunctionARN: fn.FunctionARN,
				TraceHeader: tt.traceHeader, HasDeadline: true}, got)
		})
	}
}

func TestInvokeAfterExit(t *testing.T) {
	fn := runtimeapi.Start(t, "/bin/true", "gone", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := fn.Invoke(ctx, runtimeapi.Invocation{Event: []byte(`{}`)})
	require.ErrorContains(t, err, "the function exited")
}
