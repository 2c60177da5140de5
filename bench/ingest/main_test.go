package main

import (
	"os"
	"reflect"
	"testing"

	"banners/internal/banner"
	"banners/internal/csvload"
)

// TestGenerate: the generated files load without rejections, with the
// campaigns and rows the flags ask for, and a reload's data keeps its share
// of the campaigns, each changed.
func TestGenerate(t *testing.T) {
	tests := []struct {
		quarters int
		rows     int
		keep     float64
		round    int
		want     int // campaigns
		wantRows int
	}{
		{quarters: 1, rows: 1, keep: 1, want: 30, wantRows: 30*10 + 20*4},
		{quarters: 1, rows: 5, keep: 1, want: 30, wantRows: 5 * (30*10 + 20*4)},
		{quarters: 1, rows: 1, keep: 0.5, round: 1, want: 15, wantRows: 15*10 + 10*4},
		{quarters: 4, rows: 1, keep: 1, want: 4 * 30, wantRows: 4 * (30*10 + 20*4)},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if _, err := generate(dir, tt.quarters, 30, tt.rows, tt.keep, tt.round); err != nil {
			t.Fatal(err)
		}
		campaigns, report, err := csvload.LoadFS(os.DirFS(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(campaigns); got != tt.want {
			t.Errorf("quarters %d rows %d keep %v: %d campaigns, want %d", tt.quarters, tt.rows, tt.keep, got, tt.want)
		}
		if got := report.Accepted(); got != tt.wantRows || report.Rejected() != 0 {
			t.Errorf("quarters %d rows %d keep %v: %d rows accepted, %d rejected, want %d and 0", tt.quarters, tt.rows, tt.keep, got, report.Rejected(), tt.wantRows)
		}
	}
	load := func(keep float64, round int) []banner.Campaign {
		dir := t.TempDir()
		if _, err := generate(dir, 1, 30, 1, keep, round); err != nil {
			t.Fatal(err)
		}
		campaigns, _, err := csvload.LoadFS(os.DirFS(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		return campaigns
	}
	before, after := load(1, 0), load(0.5, 1)
	for i, c := range after {
		if c.CampaignID%3 != 0 && reflect.DeepEqual(c, before[i]) {
			t.Errorf("campaign %d unchanged by the reload's data", c.CampaignID)
		}
	}
}
