package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"banners/internal/banner"
	"banners/internal/csvload"
)

// dataset maps a file's path in the assignment's layout
// ("<q>/<kind>_<q>.csv") to its content.
type dataset map[string][]byte

// generate returns a small deterministic dataset for quarters qs with
// campaigns campaigns each (fewer in later quarters), covering every rule
// branch (10+, 5–9, 1–4 and no converting banners, and a campaign with
// impressions only) plus a few rows csvload rejects.
func generate(seed uint64, campaigns int, qs ...banner.Quarter) dataset {
	r := rand.New(rand.NewPCG(seed, 42))
	d := dataset{}
	for _, q := range qs {
		var imp, clk, conv bytes.Buffer
		imp.WriteString("banner_id,campaign_id\n")
		clk.WriteString("click_id,banner_id,campaign_id\n")
		conv.WriteString("conversion_id,click_id,revenue\n")
		clickID := int64(q) * 100_000
		convID := int64(q) * 10_000
		n := campaigns - int(q) + 1 // later quarters lose campaigns
		for c := 1; c <= n; c++ {
			banners := 8 + r.IntN(10)
			converting := []int{12, 7, 3, 0, 0}[c%5]
			clicked := converting + 2
			if c%5 == 4 {
				clicked = 0 // impressions only: served from Fill
			}
			for b := range banners {
				id := 100 + b*3 + c%3
				for range 1 + r.IntN(3) {
					fmt.Fprintf(&imp, "%d,%d\n", id, c)
				}
				if b >= clicked {
					continue
				}
				for k := range 1 + r.IntN(4) {
					clickID++
					fmt.Fprintf(&clk, "%d,%d,%d\n", clickID, id, c)
					if b < converting && k == 0 {
						convID++
						fmt.Fprintf(&conv, "%d,%d,%.6f\n", convID, clickID, 0.3+r.Float64()*1.2)
					}
				}
			}
		}
		// Rows csvload rejects: a duplicate click, a conversion of an
		// unknown click, a short row and a bad revenue.
		fmt.Fprintf(&clk, "%d,100,1\n", clickID)
		fmt.Fprintf(&conv, "%d,%d,0.5\n", convID+1, clickID+999)
		imp.WriteString("100\n")
		fmt.Fprintf(&conv, "%d,%d,abc\n", convID+2, clickID)
		d[csvload.Path(csvload.Impressions, q)] = imp.Bytes()
		d[csvload.Path(csvload.Clicks, q)] = clk.Bytes()
		d[csvload.Path(csvload.Conversions, q)] = conv.Bytes()
	}
	return d
}

// fs returns d as a file system.
func (d dataset) fs() fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, b := range d {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	return fsys
}

// campaigns computes d's read model in memory, as csvload does.
func (d dataset) campaigns(t *testing.T, q banner.Quarter) []banner.Campaign {
	t.Helper()
	l := csvload.NewQuarter(q)
	for _, k := range csvload.Kinds {
		b, ok := d[csvload.Path(k, q)]
		if !ok {
			continue
		}
		if err := l.Read(k, csvload.Path(k, q), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	return l.Campaigns()
}

// firstRows returns the header and about the first half of b's rows: an
// earlier upload of the same file.
func firstRows(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	return []byte(strings.Join(lines[:1+len(lines)/2], ""))
}

// fakeS3 is a map-backed bucket store.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // "bucket/key" → content
}

func (f *fakeS3) put(bucket, key string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objects == nil {
		f.objects = map[string][]byte{}
	}
	f.objects[bucket+"/"+key] = b
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[*in.Bucket+"/"+*in.Key]
	if !ok {
		return nil, &s3types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b))}, nil
}

// created returns an ObjectCreated:Put event for keys, URL-encoded as S3
// sends them.
func created(bucket string, keys ...string) events.S3Event {
	var ev events.S3Event
	for _, k := range keys {
		var rec events.S3EventRecord
		rec.EventSource, rec.EventName = "aws:s3", "ObjectCreated:Put"
		rec.S3.Bucket.Name = bucket
		rec.S3.Object.Key = url.QueryEscape(k)
		rec.S3.Object.Key = strings.ReplaceAll(rec.S3.Object.Key, "%2F", "/")
		ev.Records = append(ev.Records, rec)
	}
	return ev
}
