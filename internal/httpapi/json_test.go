package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"banners/internal/banner"
)

// encodeReference is the answer as encoding/json writes it: the reference
// appendAnswer must match byte for byte.
func encodeReference(imageBase string, k banner.Key, ids []int64) []byte {
	a := Answer{CampaignID: k.CampaignID, Quarter: int(k.Quarter), Banners: []Banner{}}
	for _, id := range ids {
		a.Banners = append(a.Banners, Banner{ID: id, ImageURL: imageBase + "image_" + strconv.FormatInt(id, 10) + ".png"})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestAppendAnswerIsEncodingJSON(t *testing.T) {
	bases := []string{
		"/images/",
		"https://cdn.example.test/banners/",
		`https://x.test/a"b\c/`,
		"https://x.test/<&>/\u2028\u00e9\x01/",
		"",
	}
	keys := []banner.Key{{CampaignID: 10, Quarter: 2}, {CampaignID: 999_999_999_999_999_999, Quarter: 4}}
	idSets := [][]int64{{123}, {101, 102, 103, 104, 105, 106, 107, 108, 109, 999_999_999_999_999_999}, {}}
	for _, base := range bases {
		for _, k := range keys {
			for _, ids := range idSets {
				want := encodeReference(base, k, ids)
				got := appendAnswer(nil, k, ids, jsonString(base+"image_"))
				if !bytes.Equal(got, want) {
					t.Errorf("base %q, %v, %v:\ngot  %s\nwant %s", base, k, ids, got, want)
				}
			}
		}
	}
}

// BenchmarkAppendAnswer is the hand-written encoder; BenchmarkEncodeJSON
// the encoding/json one it replaced.
func BenchmarkAppendAnswer(b *testing.B) {
	ids := []int64{101, 102, 103, 104, 105, 106, 107, 108, 109, 110}
	k := banner.Key{CampaignID: 10, Quarter: 2}
	img := jsonString("/images/image_")
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAnswer(buf[:0], k, ids, img)
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	ids := []int64{101, 102, 103, 104, 105, 106, 107, 108, 109, 110}
	k := banner.Key{CampaignID: 10, Quarter: 2}
	b.ReportAllocs()
	for b.Loop() {
		encodeReference("/images/", k, ids)
	}
}
