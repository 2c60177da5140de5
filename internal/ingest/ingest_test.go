package ingest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/testkit"
)

const bucket = "uploads"

// prefix holds a space, which S3 events encode as "+".
const prefix = "data in/"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestParseKey(t *testing.T) {
	tests := []struct {
		key    string
		prefix string
		q      banner.Quarter
		kind   csvload.Kind
		ok     bool
	}{
		{"1/impressions_1.csv", "", 1, csvload.Impressions, true},
		{"data/4/conversions_4.csv", "data/", 4, csvload.Conversions, true},
		{"a/b/2/clicks_2.csv", "a/b/", 2, csvload.Clicks, true},
		{"2/clicks_3.csv", "", 0, "", false},
		{"5/clicks_5.csv", "", 0, "", false},
		{"x2/clicks_2.csv", "", 0, "", false},
		{"2/clicks_2.csv.bak", "", 0, "", false},
		{"2/views_2.csv", "", 0, "", false},
		{"clicks_2.csv", "", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			prefix, q, kind, ok := ParseKey(tt.key)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.prefix, prefix)
			require.Equal(t, tt.q, q)
			require.Equal(t, tt.kind, kind)
		})
	}
}

// fakeWriter records PutQuarter calls.
type fakeWriter struct{ quarters []banner.Quarter }

func (f *fakeWriter) PutQuarter(_ context.Context, q banner.Quarter, _ []banner.Campaign) (dynamo.WriteStats, error) {
	f.quarters = append(f.quarters, q)
	return dynamo.WriteStats{Quarter: q}, nil
}

func TestHandleSelectsQuarters(t *testing.T) {
	tests := []struct {
		name string
		ev   events.S3Event
		want []banner.Quarter
	}{
		{"one file", created(bucket, prefix+"2/clicks_2.csv"), []banner.Quarter{2}},
		{"one load per quarter", created(bucket, "3/clicks_3.csv", "3/impressions_3.csv", "1/clicks_1.csv"), []banner.Quarter{3, 1}},
		{"foreign keys ignored", created(bucket, "readme.txt", "9/clicks_9.csv", "1/clicks_2.csv"), nil},
		{"removal ignored", func() events.S3Event {
			ev := created(bucket, "1/clicks_1.csv")
			ev.Records[0].EventName = "ObjectRemoved:Delete"
			return ev
		}(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeWriter{}
			h := &Handler{Store: w, S3: &fakeS3{}, Log: quiet()}
			require.NoError(t, h.Handle(t.Context(), tt.ev))
			require.Equal(t, tt.want, w.quarters)
		})
	}
}

func TestHandleFailsOnBadHeader(t *testing.T) {
	s3 := &fakeS3{}
	s3.put(bucket, "1/clicks_1.csv", []byte("id,banner,campaign\n1,2,3\n"))
	w := &fakeWriter{}
	h := &Handler{Store: w, S3: s3, Log: quiet()}
	err := h.Handle(t.Context(), created(bucket, "1/clicks_1.csv"))
	require.ErrorContains(t, err, "header")
	require.Empty(t, w.quarters, "nothing is written for a quarter with a broken file")
}

func TestRejectionsAreLogged(t *testing.T) {
	d := generate(1, 5, 1)
	s3 := &fakeS3{}
	for name, b := range d {
		s3.put(bucket, name, b)
	}
	var logs bytes.Buffer
	h := &Handler{Store: &fakeWriter{}, S3: s3, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	require.NoError(t, h.Handle(t.Context(), created(bucket, "1/clicks_1.csv")))
	for _, want := range []string{
		`"at":"1/clicks_1.csv:`, `"reason":"duplicate click_id"`,
		`"reason":"conversion of unknown click_id"`, `"reason":"wrong column count"`,
		`"msg":"quarter loaded"`, `"rejected":4`,
	} {
		require.Contains(t, logs.String(), want)
	}
}

// TestLoadFS loads a generated dataset and reads every campaign back.
func TestLoadFS(t *testing.T) {
	d := generate(7, 23, 1, 2, 3, 4)
	dynamotest.Each(t, func(t *testing.T, srv *dynamotest.Server) {
		client := srv.Client()
		store := dynamo.New(client, srv.NewTable(t, client))
		sum, err := LoadFS(t.Context(), store, d.fs(), quiet())
		require.NoError(t, err)
		require.Equal(t, 16, sum.Report.Rejected())
		items := 0
		for q := banner.Quarter(1); q <= banner.Quarters; q++ {
			want := d.campaigns(t, q)
			items += len(want)
			for _, c := range want {
				got, err := store.Campaign(t.Context(), c.Key)
				require.NoError(t, err)
				require.Equal(t, &c, got)
			}
			_, err := store.Campaign(t.Context(), banner.Key{CampaignID: int64(len(want) + 1), Quarter: q})
			require.ErrorIs(t, err, banner.ErrNotFound)
		}
		require.Equal(t, items, sum.Total.Put)
		scanned, _ := dynamotest.Scan(t, client, store.Table(), 0)
		require.Len(t, scanned, items+4+4, "campaign items, four manifests and a page each")
		t.Logf("%s:\n%s", srv.Name, sum)
	})
}

// TestLoadsConverge checks that uploads in any order, repeated,
// overlapping or interrupted end in the table state of one clean load.
func TestLoadsConverge(t *testing.T) {
	const q = 2
	d := generate(3, 30, q)
	key := func(k csvload.Kind) string { return prefix + csvload.Path(k, q) }
	imp, clk, conv := key(csvload.Impressions), key(csvload.Clicks), key(csvload.Conversions)
	full := func(k string) []byte { return d[strings.TrimPrefix(k, prefix)] }

	// step is one upload (content nil: upload the full file) followed by its
	// event, or, with key "", an interruption of the next load after the
	// given number of batches.
	type step struct {
		key     string
		content []byte
		cut     int
	}
	upload := func(keys ...string) []step {
		var s []step
		for _, k := range keys {
			s = append(s, step{key: k})
		}
		return s
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"impressions clicks conversions", upload(imp, clk, conv)},
		{"impressions conversions clicks", upload(imp, conv, clk)},
		{"clicks impressions conversions", upload(clk, imp, conv)},
		{"clicks conversions impressions", upload(clk, conv, imp)},
		{"conversions impressions clicks", upload(conv, imp, clk)},
		{"conversions clicks impressions", upload(conv, clk, imp)},
		{"twice", upload(imp, clk, conv, imp, clk, conv)},
		{"overlapping files", []step{
			{key: imp, content: firstRows(full(imp))}, {key: clk, content: firstRows(full(clk))},
			{key: conv, content: firstRows(full(conv))},
			{key: clk}, {key: conv}, {key: imp},
		}},
		{"interrupted then rerun", append(upload(imp, clk),
			step{cut: 1}, step{key: conv}, step{key: conv})},
		{"interrupted before any batch", append(upload(imp, clk, conv),
			step{key: imp, content: firstRows(full(imp))}, step{cut: 0}, step{key: imp}, step{key: imp})},
	}

	dynamotest.Each(t, func(t *testing.T, srv *dynamotest.Server) {
		ctx := t.Context()
		client := srv.Client()
		clean := dynamo.New(client, srv.NewTable(t, client))
		_, err := clean.PutQuarter(ctx, q, d.campaigns(t, q))
		require.NoError(t, err)
		want, _ := dynamotest.Scan(t, client, clean.Table(), 0)
		require.Len(t, want, 30-q+1+2, "campaign items, the manifest and its page")

		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				table := srv.NewTable(t, client)
				s3 := &fakeS3{}
				h := &Handler{Store: dynamo.New(client, table), S3: s3, Log: quiet()}
				cut := -1
				for _, st := range tt.steps {
					if st.key == "" {
						cut = st.cut
						continue
					}
					b := st.content
					if b == nil {
						b = full(st.key)
					}
					s3.put(bucket, st.key, b)
					if cut < 0 {
						require.NoError(t, h.Handle(ctx, created(bucket, st.key)))
						continue
					}
					cctx, cancel := context.WithCancel(ctx)
					after := cut
					interrupted := &Handler{S3: s3, Log: quiet(), Store: dynamo.New(srv.Client(func(o *dynamodb.Options) {
						o.HTTPClient = &dynamotest.HookClient{Operation: "BatchWriteItem", Before: func(n int) error {
							if n > after {
								cancel()
								return context.Canceled
							}
							return nil
						}}
					}), table)}
					require.ErrorIs(t, interrupted.Handle(cctx, created(bucket, st.key)), context.Canceled)
					cancel()
					cut = -1
				}
				got, _ := dynamotest.Scan(t, client, table, 0)
				require.Equal(t, want, got)
			})
		}
	})
}

// TestRealDataset loads the assignment's dataset (testkit.RealData) and
// spot-checks it against csvload in memory; a second load writes nothing.
func TestRealDataset(t *testing.T) {
	fsys := os.DirFS(filepath.Join(testkit.RealData(t), "csv"))
	want, _, err := csvload.LoadFS(fsys, nil)
	require.NoError(t, err)
	require.Len(t, want, 200)

	dynamotest.Each(t, func(t *testing.T, srv *dynamotest.Server) {
		client := srv.Client()
		store := dynamo.New(client, srv.NewTable(t, client))
		sum, err := LoadFS(t.Context(), store, fsys, quiet())
		require.NoError(t, err)
		t.Logf("%s:\n%s", srv.Name, sum)
		items, _ := dynamotest.Scan(t, client, store.Table(), 0)
		require.Len(t, items, 200+4+4, "campaign items, four manifests and a page each")
		for i := 0; i < len(want); i += 7 {
			got, err := store.Campaign(t.Context(), want[i].Key)
			require.NoError(t, err)
			require.Equal(t, &want[i], got)
		}

		sum, err = LoadFS(t.Context(), store, fsys, quiet())
		require.NoError(t, err)
		require.Equal(t, dynamo.WriteStats{}, sum.Total, "a reload of the same files writes nothing")
	})
}
