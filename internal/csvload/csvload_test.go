package csvload_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/testkit"
)

// quarterFS builds a one-quarter-per-file layout for all four quarters,
// quarter 1 holding the given files and the rest header-only.
func quarterFS(impressions, clicks, conversions string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		files := map[csvload.Kind]string{
			csvload.Impressions: "banner_id,campaign_id\n",
			csvload.Clicks:      "click_id,banner_id,campaign_id\n",
			csvload.Conversions: "conversion_id,click_id,revenue\n",
		}
		if q == 1 {
			files = map[csvload.Kind]string{
				csvload.Impressions: impressions, csvload.Clicks: clicks, csvload.Conversions: conversions,
			}
		}
		for k, data := range files {
			fsys[csvload.Path(k, q)] = &fstest.MapFile{Data: []byte(data)}
		}
	}
	return fsys
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name                             string
		impressions, clicks, conversions string
		// want is the rejections, as "file:line: reason".
		want []string
		// revenue is banner → revenue in millionths for campaign 1.
		revenue map[int64]int64
		clicked map[int64]int64
	}{
		{
			name:        "clean rows, revenue summed over clicks and conversions",
			impressions: "banner_id,campaign_id\n10,1\n10,1\n11,1\n",
			clicks:      "click_id,banner_id,campaign_id\n1,10,1\n2,10,1\n3,11,1\n",
			conversions: "conversion_id,click_id,revenue\n1,1,1.5\n2,1,0.25\n3,2,2\n4,3,0\n",
			revenue:     map[int64]int64{10: 3_750_000, 11: 0},
		},
		{
			name:        "duplicate ids: the first row wins, even when the later differs",
			impressions: "banner_id,campaign_id\n10,1\n",
			clicks:      "click_id,banner_id,campaign_id\n1,10,1\n1,10,1\n1,11,1\n",
			conversions: "conversion_id,click_id,revenue\n1,1,1.5\n1,1,1.5\n1,1,9\n",
			want: []string{
				"1/clicks_1.csv:3: duplicate click_id", "1/clicks_1.csv:4: duplicate click_id",
				"1/conversions_1.csv:3: duplicate conversion_id", "1/conversions_1.csv:4: duplicate conversion_id",
			},
			revenue: map[int64]int64{10: 1_500_000},
		},
		{
			name:        "orphan conversion",
			impressions: "banner_id,campaign_id\n10,1\n",
			clicks:      "click_id,banner_id,campaign_id\n1,10,1\n",
			conversions: "conversion_id,click_id,revenue\n1,1,1\n2,99,1\n",
			want:        []string{"1/conversions_1.csv:3: conversion of unknown click_id"},
			revenue:     map[int64]int64{10: 1_000_000},
		},
		{
			name:        "malformed rows",
			impressions: "banner_id,campaign_id\n10\n10,1,1,1\nx,1\n0,1\n-4,1\n10,1\n 11 , 1 \n\"12\",\"1\"\n99999999999999999999,1\n",
			clicks:      "click_id,banner_id,campaign_id\n1,10\n2,10,1.5\n3,10,1\n4,10,1,1\n",
			conversions: "conversion_id,click_id,revenue\n1,3,abc\n2,3,-1\n3,3,NaN\n4,3,Inf\n5,3,1e10\n6,3,\n7,3,0.5\n",
			want: []string{
				"1/impressions_1.csv:2: wrong column count", "1/impressions_1.csv:3: wrong column count",
				"1/impressions_1.csv:4: id not a positive integer", "1/impressions_1.csv:5: id not a positive integer",
				"1/impressions_1.csv:6: id not a positive integer", "1/impressions_1.csv:10: id not a positive integer",
				"1/clicks_1.csv:2: wrong column count", "1/clicks_1.csv:3: id not a positive integer",
				"1/clicks_1.csv:5: wrong column count",
				"1/conversions_1.csv:2: revenue not a finite number from 0 to 1e9",
				"1/conversions_1.csv:3: revenue not a finite number from 0 to 1e9",
				"1/conversions_1.csv:4: revenue not a finite number from 0 to 1e9",
				"1/conversions_1.csv:5: revenue not a finite number from 0 to 1e9",
				"1/conversions_1.csv:6: revenue not a finite number from 0 to 1e9",
				"1/conversions_1.csv:7: revenue not a finite number from 0 to 1e9",
			},
			revenue: map[int64]int64{10: 500_000},
		},
		{
			name:        "CRLF, a UTF-8 BOM and blank lines",
			impressions: "\xef\xbb\xbfbanner_id,campaign_id\r\n10,1\r\n\r\n11,1\r\n",
			clicks:      "\xef\xbb\xbfclick_id,banner_id,campaign_id\r\n1,10,1\r\n2,11,1\r\n3,11,1",
			conversions: "conversion_id,click_id,revenue\r\n1,1,1.25\r\n",
			revenue:     map[int64]int64{10: 1_250_000},
			clicked:     map[int64]int64{11: 2},
		},
		{
			name:        "header only",
			impressions: "banner_id,campaign_id\n",
			clicks:      "click_id,banner_id,campaign_id\n",
			conversions: "conversion_id,click_id,revenue",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			campaigns, report, err := csvload.LoadFS(quarterFS(tt.impressions, tt.clicks, tt.conversions), func(r csvload.Rejection) {
				got = append(got, fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Reason))
			})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, len(tt.want), report.Rejected())

			gotRevenue := map[int64]int64{}
			gotClicked := map[int64]int64{}
			for _, c := range campaigns {
				require.Equal(t, int64(1), c.CampaignID)
				for _, e := range c.Earners {
					gotRevenue[e.BannerID] = e.Revenue
				}
				for _, cl := range c.Clicked {
					gotClicked[cl.BannerID] = cl.Clicks
				}
			}
			if tt.revenue == nil {
				tt.revenue = map[int64]int64{}
			}
			require.Equal(t, tt.revenue, gotRevenue)
			if tt.clicked != nil {
				require.Equal(t, tt.clicked, gotClicked)
			}
		})
	}
}

func TestLoadSummary(t *testing.T) {
	fsys := quarterFS(
		"banner_id,campaign_id\n10,1\n10,1\nbad\n",
		"click_id,banner_id,campaign_id\n1,10,1\n1,10,1\n",
		"conversion_id,click_id,revenue\n1,1,1\n2,7,1\n3,1,x\n",
	)
	_, report, err := csvload.LoadFS(fsys, nil)
	require.NoError(t, err)
	require.Len(t, report.Files, 12)
	got := report.Files[:3]
	want := []csvload.FileStats{
		{Name: "1/impressions_1.csv", Accepted: 2, Rejected: map[csvload.Reason]int{csvload.WrongColumns: 1}},
		{Name: "1/clicks_1.csv", Accepted: 1, Rejected: map[csvload.Reason]int{csvload.DuplicateClick: 1}},
		{Name: "1/conversions_1.csv", Accepted: 1, Rejected: map[csvload.Reason]int{csvload.UnknownClick: 1, csvload.BadRevenue: 1}},
	}
	require.Equal(t, want, got)
	require.Equal(t, 4, report.Accepted())
	require.Equal(t, 4, report.Rejected())
	require.Contains(t, report.String(), "1/conversions_1.csv: 1 accepted, 2 rejected; conversion of unknown click_id: 1; revenue not a finite number from 0 to 1e9: 1\n")
	require.Contains(t, report.String(), "total: 4 accepted, 4 rejected\n")
}

func TestLoadFileErrors(t *testing.T) {
	ok := quarterFS("banner_id,campaign_id\n", "click_id,banner_id,campaign_id\n", "conversion_id,click_id,revenue\n")
	tests := []struct {
		name    string
		path    string
		data    *fstest.MapFile
		wantErr string
	}{
		{"missing file", "3/clicks_3.csv", nil, "open 3/clicks_3.csv: open 3/clicks_3.csv: file does not exist"},
		{"empty file", "2/impressions_2.csv", &fstest.MapFile{}, `2/impressions_2.csv: empty file, want header "banner_id,campaign_id"`},
		{"wrong header", "4/conversions_4.csv", &fstest.MapFile{Data: []byte("id,click,rev\n1,1,1\n")}, `4/conversions_4.csv:1: header "id,click,rev", want "conversion_id,click_id,revenue"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range ok {
				fsys[k] = v
			}
			if tt.data == nil {
				delete(fsys, tt.path)
			} else {
				fsys[tt.path] = tt.data
			}
			_, _, err := csvload.LoadFS(fsys, nil)
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

// TestLongLineRejection checks that a line longer than the read buffer is
// rejected with its own text, not with the bytes that follow it.
func TestLongLineRejection(t *testing.T) {
	long := "LONG" + strings.Repeat("9", 70_000)
	tests := []struct {
		name, body string
		want       []csvload.Rejection
	}{
		{"then a row", long + "\n10,1\n", []csvload.Rejection{{File: "f", Line: 2, Reason: csvload.WrongColumns, Row: long[:200]}}},
		{"at the end, no newline", "10,1\n" + long, []csvload.Rejection{{File: "f", Line: 3, Reason: csvload.WrongColumns, Row: long[:200]}}},
		{"two in a row", long + "\n" + long + "\n", []csvload.Rejection{
			{File: "f", Line: 2, Reason: csvload.WrongColumns, Row: long[:200]},
			{File: "f", Line: 3, Reason: csvload.WrongColumns, Row: long[:200]},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := csvload.NewQuarter(1)
			var got []csvload.Rejection
			l.OnReject = func(r csvload.Rejection) { got = append(got, r) }
			require.NoError(t, l.Read(csvload.Impressions, "f", strings.NewReader("banner_id,campaign_id\n"+tt.body)))
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadRealDataset(t *testing.T) {
	campaigns, report, err := csvload.LoadFS(os.DirFS(filepath.Join(testkit.RealData(t), "csv")), nil)
	require.NoError(t, err)
	require.Equal(t, 0, report.Rejected())
	// 4 × 150,000 impressions, 179,001 clicks, 17,000 conversions.
	require.Equal(t, 600_000+179_001+17_000, report.Accepted())
	require.Len(t, campaigns, 4*50)
	for _, c := range campaigns {
		// Every campaign in every quarter has 10 or more converting banners.
		require.GreaterOrEqual(t, c.Converting, 10, "campaign %d quarter %d", c.CampaignID, c.Quarter)
		require.Len(t, c.Earners, 10)
		for i := 1; i < len(c.Earners); i++ {
			require.GreaterOrEqual(t, c.Earners[i-1].Revenue, c.Earners[i].Revenue)
		}
	}
}

func BenchmarkLoadRealDataset(b *testing.B) {
	fsys := os.DirFS(filepath.Join(testkit.RealData(b), "csv"))
	for b.Loop() {
		if _, _, err := csvload.LoadFS(fsys, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(796_001*b.N)/b.Elapsed().Seconds(), "rows/s")
}
