package ingest

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/stretchr/testify/require"
)

// segment is the part of an X-Ray segment document the test reads.
type segment struct {
	Name        string         `json:"name"`
	Annotations map[string]any `json:"annotations"`
	Subsegments []segment      `json:"subsegments"`
}

func (s segment) find(name string) (segment, bool) {
	if s.Name == name {
		return s, true
	}
	for _, sub := range s.Subsegments {
		if got, ok := sub.find(name); ok {
			return got, true
		}
	}
	return segment{}, false
}

// TestTrace checks the subsegments and annotations of a quarter load, as
// the X-Ray daemon would receive them.
func TestTrace(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer conn.Close()
	all, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"default":{"fixed_target":0,"rate":1.0},"rules":[]}`))
	require.NoError(t, err)
	require.NoError(t, xray.Configure(xray.Config{DaemonAddr: conn.LocalAddr().String(), SamplingStrategy: all}))
	t.Cleanup(func() {
		_ = xray.Configure(xray.Config{ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy()})
	})

	d := generate(5, 4, 3)
	s3 := &fakeS3{}
	for _, k := range []string{"3/impressions_3.csv", "3/clicks_3.csv"} { // conversions not yet uploaded
		s3.put(bucket, k, d[k])
	}
	h := &Handler{Store: &fakeWriter{}, S3: s3, Log: quiet()}
	ctx, seg := xray.BeginSegment(context.Background(), "ingest-test")
	require.NoError(t, h.Handle(ctx, created(bucket, "3/clicks_3.csv")))
	seg.Close(nil)

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 64<<10)
	n, _, err := conn.ReadFromUDP(buf)
	require.NoError(t, err)
	_, doc, ok := strings.Cut(string(buf[:n]), "\n")
	require.True(t, ok, "datagram %q", buf[:n])
	var got segment
	require.NoError(t, json.Unmarshal([]byte(doc), &got))

	tests := []struct {
		name string
		want map[string]any
	}{
		{"load quarter", map[string]any{"bucket": bucket, "prefix": "", "quarter": 3.0}},
		{"read impressions", map[string]any{"file": "3/impressions_3.csv", "accepted": float64(strings.Count(string(d["3/impressions_3.csv"]), "\n") - 2), "rejected": 1.0}},
		{"read clicks", map[string]any{"file": "3/clicks_3.csv", "accepted": float64(strings.Count(string(d["3/clicks_3.csv"]), "\n") - 2), "rejected": 1.0}},
		{"read conversions", map[string]any{"file": "3/conversions_3.csv", "missing": true}},
		{"put quarter 3", map[string]any{"quarter": 3.0, "campaigns": 2.0, "put": 0.0, "deleted": 0.0, "unchanged": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, ok := got.find(tt.name)
			require.True(t, ok, "no subsegment %q in %s", tt.name, doc)
			require.Equal(t, tt.want, sub.Annotations)
		})
	}
}
