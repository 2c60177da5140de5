package sample_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/memory"
	"banners/internal/sample"
)

func TestSampleShape(t *testing.T) {
	campaigns, report, err := csvload.LoadFS(sample.FS(), nil)
	require.NoError(t, err)
	require.Equal(t, 0, report.Rejected())
	require.Len(t, report.Files, 12)
	for _, f := range report.Files {
		if f.Name[2:13] == "impressions" {
			require.GreaterOrEqual(t, f.Accepted, sample.Impressions, f.Name)
		}
	}
	require.Len(t, campaigns, 4*(sample.Campaigns+6))
	for _, c := range campaigns {
		if c.CampaignID <= sample.Campaigns {
			// Real-shaped campaigns: many converting banners, as in the
			// real data (X from 42 to 122).
			require.GreaterOrEqual(t, c.Converting, 10, "campaign %d quarter %d", c.CampaignID, c.Quarter)
		}
	}
}

func TestSampleBranches(t *testing.T) {
	campaigns, _, err := csvload.LoadFS(sample.FS(), nil)
	require.NoError(t, err)
	store := memory.New(campaigns)
	tests := []struct {
		campaign int64
		// want must be served every time; random more come from the rest.
		want   []int64
		random int
	}{
		{sample.SevenEarners, []int64{1000, 1001, 1002, 1003, 1004, 1005, 1006}, 0},
		{sample.FiveEarners, []int64{1000, 1001, 1002, 1003, 1004}, 0},
		{sample.ThreeEarners, []int64{1000, 1001, 1002, 1003, 1004}, 0},
		{sample.ThreeClicked, []int64{1000, 1001, 1002}, 2},
		{sample.NoClicks, nil, 5},
		{sample.ThreeBanners, []int64{1000, 1001, 1002}, 0},
	}
	for _, tt := range tests {
		for q := banner.Quarter(1); q <= banner.Quarters; q++ {
			c, err := store.Campaign(t.Context(), banner.Key{CampaignID: tt.campaign, Quarter: q})
			require.NoError(t, err)
			got := banner.Select(nil, c, 0, nil)
			require.Len(t, got, len(tt.want)+tt.random, "campaign %d", tt.campaign)
			require.Subset(t, got, tt.want)
			slices.Sort(got)
			require.Equal(t, len(got), len(slices.Compact(got)), "unique")
		}
	}
}

func TestWriteDirRoundTrip(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, sample.WriteDir(dir))
	fromDir, _, err := csvload.LoadFS(os.DirFS(dir), nil)
	require.NoError(t, err)
	inMemory, _, err := csvload.LoadFS(sample.FS(), nil)
	require.NoError(t, err)
	require.Equal(t, inMemory, fromDir)
}

func BenchmarkLoadSample(b *testing.B) {
	fsys := sample.FS()
	for b.Loop() {
		if _, _, err := csvload.LoadFS(fsys, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBannerIDsCoverTheDataset(t *testing.T) {
	campaigns, _, err := csvload.LoadFS(sample.FS(), nil)
	require.NoError(t, err)
	want := sample.BannerIDs()
	for _, c := range campaigns {
		for _, e := range c.Earners {
			require.Contains(t, want, e.BannerID)
		}
		for _, cl := range c.Clicked {
			require.Contains(t, want, cl.BannerID)
		}
		for _, id := range c.Fill {
			require.Contains(t, want, id)
		}
	}
}

// TestDefaultUnchanged pins the built-in dataset: scaling the generator
// must not change a byte of it.
func TestDefaultUnchanged(t *testing.T) {
	h := sha256.New()
	fsys := sample.FS()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, "11381868d3721687dbdd665050f737659b640458e173a72109ef10d3fbe8c0d6", hex.EncodeToString(h.Sum(nil)))
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name          string
		shape         sample.Shape
		wantCampaigns int // campaign-quarters with data
		wantErr       bool
	}{
		{"1,000 campaigns", sample.Shape{Campaigns: 1000, Scale: 1}, 4 * 1000, false},
		{"twice the rows", sample.Shape{Campaigns: 500, Scale: 2}, 4 * 500, false},
		{"branches need ≤ 50 campaigns", sample.Shape{Campaigns: 51, Scale: 1, Branches: true}, 0, true},
		{"scale 0", sample.Shape{Campaigns: 10}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, err := sample.Generate(tt.shape)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			campaigns, report, err := csvload.LoadFS(fsys, nil)
			require.NoError(t, err)
			require.Equal(t, 0, report.Rejected())
			require.Len(t, campaigns, tt.wantCampaigns)
			for _, f := range report.Files {
				if f.Name[2:13] == "impressions" {
					require.Equal(t, sample.Impressions*tt.shape.Scale, f.Accepted, f.Name)
				}
			}
		})
	}
}
