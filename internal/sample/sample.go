// Package sample generates the built-in sample dataset: CSV files in the
// assignment's layout and of the real data's shape (50 campaigns, banners
// 100–500, 150,000 impressions a quarter), plus small campaigns that land
// in every branch of the banner rules. It is deterministic: the same
// dataset every time.
package sample

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing/fstest"

	"banners/internal/banner"
	"banners/internal/csvload"
)

// Shape of the generated data, per quarter.
const (
	// Campaigns is the number of campaigns with real-shaped data (IDs 1 to
	// Campaigns).
	Campaigns = 50
	// FirstBanner and LastBanner bound the banner IDs, as in the real data.
	FirstBanner, LastBanner = 100, 500
	// Impressions is the number of impression rows per quarter.
	Impressions = 150_000
)

// Branch campaigns: one per rule branch, the same in every quarter.
const (
	// SevenEarners has 7 converting banners: all 7 are served.
	SevenEarners = 51
	// FiveEarners has 5 converting banners: all 5 are served.
	FiveEarners = 52
	// ThreeEarners has 3 converting and 3 click-only banners: 3 plus the 2
	// most clicked.
	ThreeEarners = 53
	// ThreeClicked has no conversion and 3 clicked banners among 20: those 3
	// plus 2 random.
	ThreeClicked = 54
	// NoClicks has 30 banners and no click: 5 random.
	NoClicks = 55
	// ThreeBanners has only 3 banners: all of them.
	ThreeBanners = 56
)

// BannerIDs returns every banner ID the dataset uses: 100–500, as in the
// real data, and the branch campaigns' banners from 1000.
func BannerIDs() []int64 {
	var ids []int64
	for id := int64(FirstBanner); id <= LastBanner; id++ {
		ids = append(ids, id)
	}
	for id := int64(1000); id < 1000+branchBanners; id++ {
		ids = append(ids, id)
	}
	return ids
}

// branchBanners is the most banners a branch campaign has (NoClicks).
const branchBanners = 30

// quarterShape is the rough size of each quarter in the real data.
var quarterShape = [banner.Quarters]struct{ clicks, conversions int }{
	{50_000, 6_000}, {40_000, 3_000}, {60_000, 5_000}, {29_001, 3_000},
}

// Shape sizes a generated dataset. The built-in dataset is Default; a
// larger Shape gives data of the same kind at scale, for the scale
// simulation and the ingest measurements.
type Shape struct {
	// Campaigns is the number of real-shaped campaigns, IDs 1 to
	// Campaigns, drawn uniformly by every impression.
	Campaigns int
	// Scale multiplies the rows of each quarter: Impressions impressions
	// and the real data's clicks and conversions. At least 1.
	Scale int
	// Branches adds the branch campaigns (IDs 51 to 56, SevenEarners to
	// ThreeBanners). Only with Campaigns at most 50.
	Branches bool
}

// Default is the built-in dataset's shape: the real data's size.
var Default = Shape{Campaigns: Campaigns, Scale: 1, Branches: true}

// FS returns the dataset as an in-memory file system in the assignment's
// layout, ready for csvload.LoadFS.
func FS() fs.FS {
	fsys, _ := Generate(Default) // Default is valid
	return fsys
}

// Generate returns a dataset of shape s as an in-memory file system in the
// assignment's layout. The same shape gives the same data every time.
func Generate(s Shape) (fs.FS, error) {
	fsys := fstest.MapFS{}
	if s.Campaigns < 1 || s.Scale < 1 || (s.Branches && s.Campaigns > Campaigns) {
		return fsys, fmt.Errorf("sample shape %+v: want Campaigns ≥ 1, Scale ≥ 1, Branches only with Campaigns ≤ %d", s, Campaigns)
	}
	clickID, conversionID := int64(100_000), int64(2_000)
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		var files [3]bytes.Buffer
		clickID, conversionID = generate(s, q, &files, clickID, conversionID)
		for i, k := range csvload.Kinds {
			fsys[csvload.Path(k, q)] = &fstest.MapFile{Data: bytes.Clone(files[i].Bytes()), Mode: 0o644}
		}
	}
	return fsys, nil
}

// WriteDir writes the dataset into dir in the assignment's layout.
func WriteDir(dir string) error {
	for name, f := range FS().(fstest.MapFS) {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// generate writes quarter q's impressions, clicks and conversions into
// files, numbering clicks and conversions from the IDs given, and returns
// the next free IDs.
func generate(s Shape, q banner.Quarter, files *[3]bytes.Buffer, clickID, conversionID int64) (int64, int64) {
	r := rand.New(rand.NewPCG(uint64(q), 2020))
	imp, clk, conv := &files[0], &files[1], &files[2]
	for i, k := range csvload.Kinds {
		files[i].WriteString(csvload.Header(k) + "\n")
	}

	type pair struct{ banner, campaign int64 }
	pairs := make([]pair, 0, Impressions*s.Scale)
	for range Impressions * s.Scale {
		p := pair{int64(FirstBanner + r.IntN(LastBanner-FirstBanner+1)), int64(1 + r.IntN(s.Campaigns))}
		pairs = append(pairs, p)
		row(imp, p.banner, p.campaign)
	}
	shape := quarterShape[q-1]
	shape.clicks *= s.Scale
	shape.conversions *= s.Scale
	clicks := make([]int64, 0, shape.clicks)
	for range shape.clicks {
		p := pairs[r.IntN(len(pairs))]
		row(clk, clickID, p.banner, p.campaign)
		clicks = append(clicks, clickID)
		clickID++
	}
	// Conversions go to a random sample of distinct clicks.
	r.Shuffle(len(clicks), func(i, j int) { clicks[i], clicks[j] = clicks[j], clicks[i] })
	for _, c := range clicks[:shape.conversions] {
		revenue(conv, conversionID, c, 300_000+r.Int64N(1_200_000))
		conversionID++
	}

	if !s.Branches {
		return clickID, conversionID
	}
	// Branch campaigns: banners are numbered from 1000 upwards so they
	// never collide with the real-shaped ones in a test's eyes.
	branch := func(campaign int64, banners, earners int, clicked []int) {
		for b := range banners {
			row(imp, int64(1000+b), campaign)
		}
		for b := range earners {
			for range 2 {
				row(clk, clickID, int64(1000+b), campaign)
				revenue(conv, conversionID, clickID, int64(1_000_000*(b+1)))
				clickID++
				conversionID++
			}
		}
		for i, n := range clicked {
			for range n {
				row(clk, clickID, int64(1000+earners+i), campaign)
				clickID++
			}
		}
	}
	branch(SevenEarners, 20, 7, []int{3, 2})
	branch(FiveEarners, 20, 5, []int{3})
	branch(ThreeEarners, 20, 3, []int{4, 3, 2})
	branch(ThreeClicked, 20, 0, []int{3, 2, 1})
	branch(NoClicks, branchBanners, 0, nil)
	branch(ThreeBanners, 3, 0, nil)
	return clickID, conversionID
}

// row writes integers as one CSV line.
func row(b *bytes.Buffer, fields ...int64) {
	var tmp [64]byte
	line := tmp[:0]
	for i, f := range fields {
		if i > 0 {
			line = append(line, ',')
		}
		line = strconv.AppendInt(line, f, 10)
	}
	b.Write(append(line, '\n'))
}

// revenue writes a conversion line with micros as a decimal revenue.
func revenue(b *bytes.Buffer, conversionID, clickID, micros int64) {
	fmt.Fprintf(b, "%d,%d,%d.%06d\n", conversionID, clickID, micros/1_000_000, micros%1_000_000)
}
