package tracing_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/stretchr/testify/require"

	"banners/internal/tracing"
	"banners/internal/tracing/tracingtest"
)

func TestTraceIDInLogs(t *testing.T) {
	tracingtest.Start(t)
	const root = "1-6745a0c2-3f0e1d2c4b5a69788796a5b4"
	local, seg := xray.BeginSegment(context.Background(), "test")
	defer seg.Close(nil)
	require.NotEmpty(t, seg.TraceID)
	sub, subseg := xray.BeginSubsegment(local, "inner")
	defer subseg.Close(nil)
	lambda := func(header string) context.Context {
		//lint:ignore SA1029 the Lambda runtime's own string key, which the SDK reads
		return context.WithValue(context.Background(), xray.LambdaTraceHeaderKey, header)
	}
	tests := []struct {
		name        string
		ctx         context.Context
		want        string
		wantSampled bool
	}{
		{"Lambda trace header, sampled", lambda("Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1"), root, true},
		{"Lambda trace header, not sampled", lambda("Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=0"), root, false},
		{"Lambda trace header, Lineage after Sampled", lambda("Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"), root, true},
		{"local segment", local, seg.TraceID, true},
		{"subsegment", sub, seg.TraceID, true},
		{"no trace", context.Background(), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotID, gotSampled := tracing.Trace(tt.ctx)
			require.Equal(t, tt.want, gotID)
			require.Equal(t, tt.wantSampled, gotSampled)

			var out strings.Builder
			log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&out, nil))).With("app", "banners")
			log.InfoContext(tt.ctx, "request", "status", 200)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(out.String()), &got))
			id, ok := got["trace_id"]
			require.Equal(t, tt.want != "", ok, out.String())
			sampled, sok := got["sampled"]
			require.Equal(t, ok, sok, "sampled beside trace_id: %s", out.String())
			if ok {
				require.Equal(t, tt.want, id)
				require.Equal(t, tt.wantSampled, sampled)
			}
			require.Equal(t, "banners", got["app"], "attributes added with With stay")
		})
	}
}
