package ingest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"banners/internal/tracing"
	"banners/internal/tracing/tracingtest"
)

// TestTrace checks the subsegments and annotations of a quarter load from
// S3 and of a load from a file system, as the X-Ray daemon receives them.
func TestTrace(t *testing.T) {
	daemon := tracingtest.Start(t)
	d, all := generate(5, 4, 3), generate(5, 4, 1, 2, 3, 4)
	rows := func(name string) float64 { return float64(strings.Count(string(d[name]), "\n") - 2) } // less header and one rejected row
	allRows := 0.0
	for _, b := range all {
		allRows += float64(strings.Count(string(b), "\n") - 1)
	}

	// subsegment is the annotations want of the subsegment name.
	type subsegment struct {
		name string
		want map[string]any
	}
	tests := []struct {
		name string
		load func(ctx context.Context) error
		want []subsegment
	}{
		{
			name: "S3 event, conversions not uploaded yet",
			load: func(ctx context.Context) error {
				s3 := &fakeS3{}
				for _, k := range []string{"3/impressions_3.csv", "3/clicks_3.csv"} {
					s3.put(bucket, k, d[k])
				}
				h := &Handler{Store: &fakeWriter{}, S3: s3, Log: quiet()}
				return h.Handle(ctx, created(bucket, "3/clicks_3.csv"))
			},
			want: []subsegment{
				{"load quarter", map[string]any{"bucket": bucket, "prefix": "", "quarter": 3.0}},
				{"read impressions", map[string]any{"file": "3/impressions_3.csv", "accepted": rows("3/impressions_3.csv"), "rejected": 1.0}},
				{"read clicks", map[string]any{"file": "3/clicks_3.csv", "accepted": rows("3/clicks_3.csv"), "rejected": 1.0}},
				{"read conversions", map[string]any{"file": "3/conversions_3.csv", "missing": true}},
				{"put quarter 3", map[string]any{"quarter": 3.0, "campaigns": 2.0, "put": 0.0, "deleted": 0.0, "unchanged": false}},
			},
		},
		{
			name: "file system",
			load: func(ctx context.Context) error {
				_, err := LoadFS(ctx, &fakeWriter{}, all.fs(), quiet())
				return err
			},
			want: []subsegment{
				{"read files", map[string]any{"accepted": allRows - 16, "rejected": 16.0}},
				{"put quarter 1", map[string]any{"quarter": 1.0, "campaigns": 4.0, "put": 0.0, "deleted": 0.0, "unchanged": false}},
				{"put quarter 4", map[string]any{"quarter": 4.0, "campaigns": 1.0, "put": 0.0, "deleted": 0.0, "unchanged": false}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, done := tracing.Segment(context.Background(), "ingest-test")
			err := tt.load(ctx)
			done(err)
			require.NoError(t, err)
			got := daemon.Next(t)
			require.Equal(t, "ingest-test", got.Name)
			for _, sub := range tt.want {
				s := got.Find(sub.name)
				require.NotNil(t, s, "no subsegment %q in %s", sub.name, got.JSON)
				require.Equal(t, sub.want, s.Annotations, sub.name)
			}
		})
	}
}
