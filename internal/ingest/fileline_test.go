package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/csvload"
)

// quarterFiles is one quarter with rows of every kind of rejection:
// clicks has a duplicate click_id and a row with the wrong column count;
// conversions has a revenue out of range and a conversion of an unknown
// click (the only rejection a later upload can resolve).
var quarterFiles = map[csvload.Kind]string{
	csvload.Impressions: "banner_id,campaign_id\n100,1\n101,1\n102,1\n",
	csvload.Clicks:      "click_id,banner_id,campaign_id\n1,100,1\n2,101,1\n2,101,1\n3,101\n",
	csvload.Conversions: "conversion_id,click_id,revenue\n1,1,0.5\n2,2,-3\n3,99,1.0\n",
}

// fileLine is what the operators' metrics read from a "file read" line.
type fileLine struct {
	File     string `json:"file"`
	Kind     string `json:"kind"`
	Accepted int    `json:"accepted"`
	Rejected int    `json:"rejected"`
	Invalid  int    `json:"invalid"`
}

// fileLines returns the "file read" lines of a JSON log, keyed by file.
func fileLines(t *testing.T, logs []byte) map[string]fileLine {
	t.Helper()
	got := map[string]fileLine{}
	sc := bufio.NewScanner(bytes.NewReader(logs))
	for sc.Scan() {
		var rec struct {
			Msg string `json:"msg"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), sc.Text())
		if rec.Msg != "file read" {
			continue
		}
		var l fileLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		got[l.File] = l
	}
	require.NoError(t, sc.Err())
	return got
}

// TestFileLineCarriesKindAndInvalid checks the fields of the "file read"
// line that the metric filters read, on both ways a load runs: the Lambda
// handler (one quarter from S3) and LoadFS (the command line, all four
// quarters; here 2 to 4 hold only their headers).
func TestFileLineCarriesKindAndInvalid(t *testing.T) {
	quarter1 := map[string]fileLine{
		"1/impressions_1.csv": {File: "1/impressions_1.csv", Kind: "impressions", Accepted: 3},
		"1/clicks_1.csv":      {File: "1/clicks_1.csv", Kind: "clicks", Accepted: 2, Rejected: 2, Invalid: 2},
		"1/conversions_1.csv": {File: "1/conversions_1.csv", Kind: "conversions", Accepted: 1, Rejected: 2, Invalid: 1},
	}
	allQuarters := maps.Clone(quarter1)
	for q := banner.Quarter(2); q <= banner.Quarters; q++ {
		for _, k := range csvload.Kinds {
			name := csvload.Path(k, q)
			allQuarters[name] = fileLine{File: name, Kind: string(k)}
		}
	}
	tests := []struct {
		name string
		load func(t *testing.T, log *slog.Logger)
		want map[string]fileLine
	}{
		{"Lambda handler", func(t *testing.T, log *slog.Logger) {
			s3 := &fakeS3{}
			for k, body := range quarterFiles {
				s3.put(bucket, csvload.Path(k, 1), []byte(body))
			}
			h := &Handler{Store: &fakeWriter{}, S3: s3, Log: log}
			require.NoError(t, h.Handle(t.Context(), created(bucket, "1/clicks_1.csv")))
		}, quarter1},
		{"LoadFS", func(t *testing.T, log *slog.Logger) {
			fsys := fstest.MapFS{}
			for q := banner.Quarter(1); q <= banner.Quarters; q++ {
				for _, k := range csvload.Kinds {
					body := quarterFiles[k]
					if q != 1 {
						body = body[:strings.IndexByte(body, '\n')+1] // the header only
					}
					fsys[csvload.Path(k, q)] = &fstest.MapFile{Data: []byte(body)}
				}
			}
			_, err := LoadFS(t.Context(), &fakeWriter{}, fsys, log)
			require.NoError(t, err)
		}, allQuarters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			tt.load(t, slog.New(slog.NewJSONHandler(&logs, nil)))
			require.Equal(t, tt.want, fileLines(t, logs.Bytes()))
		})
	}
}
