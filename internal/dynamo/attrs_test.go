package dynamo

import (
	"fmt"
	"math"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
)

// The stored forms as attributevalue writes them from tagged structs: an
// encoding independent of attrs.go that the hand-written one must match.
type (
	avCampaign struct {
		PK         string  `dynamodbav:"pk"`
		SK         string  `dynamodbav:"sk"`
		Converting int     `dynamodbav:"x"`
		EarnerIDs  []int64 `dynamodbav:"eb,omitempty"`
		Revenues   []int64 `dynamodbav:"er,omitempty"`
		ClickedIDs []int64 `dynamodbav:"cb,omitempty"`
		Clicks     []int64 `dynamodbav:"cc,omitempty"`
		Fill       []int64 `dynamodbav:"f,omitempty"`
	}
	avManifest struct {
		PK     string   `dynamodbav:"pk"`
		SK     string   `dynamodbav:"sk"`
		Sets   []string `dynamodbav:"p,omitempty"`
		Gen    string   `dynamodbav:"gen"`
		Done   bool     `dynamodbav:"done"`
		Lease  int64    `dynamodbav:"lease,omitempty"`
		Listed []int64  `dynamodbav:"c,omitempty"`
	}
	avPage struct {
		PK  string `dynamodbav:"pk"`
		SK  string `dynamodbav:"sk"`
		IDs []byte `dynamodbav:"c"`
	}
	avGeneration struct {
		PK  string `dynamodbav:"pk"`
		SK  string `dynamodbav:"sk"`
		Gen string `dynamodbav:"g"`
	}
)

func TestAttributes(t *testing.T) {
	fill := make([]int64, MaxFill+3)
	for i := range fill {
		fill[i] = int64(i + 1)
	}
	tests := []struct {
		c    banner.Campaign
		want avCampaign
	}{
		{
			banner.Campaign{Key: banner.Key{CampaignID: 10, Quarter: 2}, Converting: 7,
				Earners: []banner.Earner{{BannerID: 105, Revenue: 5000}, {BannerID: 101, Revenue: 1000}},
				Clicked: []banner.Clicked{{BannerID: 300, Clicks: 4}},
				Fill:    []int64{1, -2, 9007199254740993}},
			avCampaign{PK: "C#10", SK: "Q#2", Converting: 7, EarnerIDs: []int64{105, 101}, Revenues: []int64{5000, 1000},
				ClickedIDs: []int64{300}, Clicks: []int64{4}, Fill: []int64{1, -2, 9007199254740993}},
		},
		{
			banner.Campaign{Key: banner.Key{CampaignID: 11, Quarter: 1}, Fill: []int64{42}},
			avCampaign{PK: "C#11", SK: "Q#1", Fill: []int64{42}},
		},
		{
			banner.Campaign{Key: banner.Key{CampaignID: 12, Quarter: 4}, Converting: 1, Earners: []banner.Earner{{BannerID: 1}}},
			avCampaign{PK: "C#12", SK: "Q#4", Converting: 1, EarnerIDs: []int64{1}, Revenues: []int64{0}},
		},
		{
			banner.Campaign{Key: banner.Key{CampaignID: 13, Quarter: 3}, Earners: []banner.Earner{}, Fill: fill},
			avCampaign{PK: "C#13", SK: "Q#3", Fill: fill[:MaxFill]},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("campaign %d", tt.c.CampaignID), func(t *testing.T) {
			want, err := attributevalue.MarshalMap(tt.want)
			require.NoError(t, err)
			got := encodeCampaign(&tt.c)
			require.Equal(t, want, got)

			back, err := decodeCampaign(tt.c.Key, got)
			require.NoError(t, err)
			wantBack := tt.c
			wantBack.Fill = tt.c.Fill[:min(len(tt.c.Fill), MaxFill)]
			if len(wantBack.Earners) == 0 {
				wantBack.Earners = nil // an empty list is not stored
			}
			require.Equal(t, &wantBack, back)
		})
	}
	manifests := []struct {
		q    banner.Quarter
		m    manifest
		want avManifest
	}{
		{1, manifest{Sets: []pageSet{{"sha256-ab", 3}}, Gen: "sha256-ab", Done: true},
			avManifest{PK: manifestPK, SK: "Q#1", Sets: []string{"sha256-ab/3"}, Gen: "sha256-ab", Done: true}},
		{2, manifest{Sets: []pageSet{{"sha256-ab", 1}, {"sha256-cd", 0}}, Gen: "run-ef", Lease: 1795000000123},
			avManifest{PK: manifestPK, SK: "Q#2", Sets: []string{"sha256-ab/1", "sha256-cd/0"}, Gen: "run-ef", Lease: 1795000000123}},
		{3, manifest{Gen: "run-01"}, avManifest{PK: manifestPK, SK: "Q#3", Gen: "run-01"}},
		{4, manifest{Gen: "sha256-ab", Done: true, Listed: []int64{1, 2, 30}},
			avManifest{PK: manifestPK, SK: "Q#4", Gen: "sha256-ab", Done: true, Listed: []int64{1, 2, 30}}},
	}
	for _, tt := range manifests {
		t.Run(fmt.Sprintf("manifest Q#%d", tt.q), func(t *testing.T) {
			want, err := attributevalue.MarshalMap(tt.want)
			require.NoError(t, err)
			require.Equal(t, want, tt.m.attributes(tt.q))
			got, err := decodeManifest(want)
			require.NoError(t, err)
			require.Equal(t, tt.m, got)
		})
	}
	pages := []struct {
		ids  []int64
		want []byte
	}{
		{nil, []byte{}},
		{[]int64{1, 2, 3, 130}, []byte{1, 1, 1, 127}},
		{[]int64{5, 300}, []byte{5, 0xa7, 0x02}},
		{[]int64{-1, 0, math.MaxInt64}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
	}
	for _, tt := range pages {
		t.Run(fmt.Sprintf("page %v", tt.ids), func(t *testing.T) {
			want, err := attributevalue.MarshalMap(avPage{PK: "PAGE#4", SK: "Q#2#sha256-ab", IDs: tt.want})
			require.NoError(t, err)
			got := encodePage(2, "sha256-ab", 4, tt.ids)
			require.Equal(t, want, got)
			back, err := decodePage(got)
			require.NoError(t, err)
			require.Equal(t, tt.ids, back)
		})
	}
	gen := "sha256-ab/run-cd"
	want, err := attributevalue.MarshalMap(avGeneration{PK: GenerationPK, SK: "Q#2", Gen: gen})
	require.NoError(t, err)
	require.Equal(t, want, encodeGeneration(2, gen))
	got, err := decodeGeneration(want)
	require.NoError(t, err)
	require.Equal(t, gen, got)
}

func TestDecodeRejectsWrongAttributes(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	l := func(vs ...types.AttributeValue) types.AttributeValue { return &types.AttributeValueMemberL{Value: vs} }
	key := func(more map[string]types.AttributeValue) map[string]types.AttributeValue {
		av := map[string]types.AttributeValue{"pk": s("C#1"), "sk": s("Q#1")}
		for k, v := range more {
			av[k] = v
		}
		return av
	}
	tests := []struct {
		name    string
		decode  func(map[string]types.AttributeValue) error
		av      map[string]types.AttributeValue
		wantErr string // "" for no error
	}{
		{"item: missing lists are empty", decodeItemErr, key(map[string]types.AttributeValue{"x": n("3")}), ""},
		{"item: unknown attributes are ignored", decodeItemErr, key(map[string]types.AttributeValue{"zz": &types.AttributeValueMemberM{}}), ""},
		{"item: f NULL", decodeItemErr, key(map[string]types.AttributeValue{"f": &types.AttributeValueMemberNULL{Value: true}}), `attribute "f": want L, got NULL`},
		{"item: lists of different lengths", decodeItemErr, key(map[string]types.AttributeValue{"eb": l(n("1"), n("2")), "er": l(n("5"))}), "lists of different lengths: eb 2, er 1"},
		{"item: x a string", decodeItemErr, key(map[string]types.AttributeValue{"x": s("3")}), `attribute "x": want N, got S`},
		{"item: x a fraction", decodeItemErr, key(map[string]types.AttributeValue{"x": n("1.5")}), `attribute "x": number "1.5" is not a 64-bit integer`},
		{"item: x beyond int64", decodeItemErr, key(map[string]types.AttributeValue{"x": n("9223372036854775808")}), `attribute "x"`},
		{"item: x empty", decodeItemErr, key(map[string]types.AttributeValue{"x": n("")}), `attribute "x"`},
		{"item: eb a number set", decodeItemErr, key(map[string]types.AttributeValue{"eb": &types.AttributeValueMemberNS{Value: []string{"1"}}}), `attribute "eb": want L, got NS`},
		{"item: er holds a string", decodeItemErr, key(map[string]types.AttributeValue{"er": l(n("1"), s("2"))}), `attribute "er": element 1: want N, got S`},
		{"item: f holds garbage", decodeItemErr, key(map[string]types.AttributeValue{"f": l(n("abc"))}), `attribute "f": element 0: number "abc"`},
		{"item: cc holds a nil member", decodeItemErr, key(map[string]types.AttributeValue{"cc": l((*types.AttributeValueMemberN)(nil))}), `attribute "cc": element 0`},
		{"item: cb a nil member", decodeItemErr, key(map[string]types.AttributeValue{"cb": (*types.AttributeValueMemberL)(nil)}), `attribute "cb": nil L member`},
		{"manifest: done a string", decodeManifestErr, key(map[string]types.AttributeValue{"done": s("true")}), `attribute "done": want BOOL, got S`},
		{"manifest: lease a string", decodeManifestErr, key(map[string]types.AttributeValue{"lease": s("1")}), `attribute "lease": want N, got S`},
		{"manifest: c a list of lists", decodeManifestErr, key(map[string]types.AttributeValue{"c": l(l())}), `attribute "c": element 0: want N, got L`},
		{"manifest: p a string", decodeManifestErr, key(map[string]types.AttributeValue{"p": s("sha256-ab/1")}), `attribute "p": want L, got S`},
		{"manifest: p without a page count", decodeManifestErr, key(map[string]types.AttributeValue{"p": l(s("sha256-ab"))}), `attribute "p": element 0: want S "<digest>/<pages>", got S "sha256-ab"`},
		{"manifest: p a negative page count", decodeManifestErr, key(map[string]types.AttributeValue{"p": l(s("sha256-ab/-1"))}), `attribute "p": element 0`},
		{"manifest: p holds a number", decodeManifestErr, key(map[string]types.AttributeValue{"p": l(n("1"))}), `attribute "p": element 0: want S "<digest>/<pages>", got N`},
		{"page: c a list", decodePageErr, key(map[string]types.AttributeValue{"c": l(n("1"))}), `attribute "c": want B, got L`},
		{"page: c cut short", decodePageErr, key(map[string]types.AttributeValue{"c": &types.AttributeValueMemberB{Value: []byte{1, 0x80}}}), `attribute "c": corrupt ID list at ID 1`},
		{"manifest: gen a nil member", decodeManifestErr, key(map[string]types.AttributeValue{"gen": (*types.AttributeValueMemberS)(nil)}), `attribute "gen": nil S member`},
		{"generation: g a number", decodeGenerationErr, key(map[string]types.AttributeValue{"g": n("1")}), `attribute "g": want S, got N`},
		{"generation: g binary", decodeGenerationErr, key(map[string]types.AttributeValue{"g": &types.AttributeValueMemberB{Value: []byte("x")}}), `attribute "g": want S, got B`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.av)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func decodeItemErr(av map[string]types.AttributeValue) error {
	_, err := decodeCampaign(banner.Key{CampaignID: 1, Quarter: 1}, av)
	return err
}

func decodeManifestErr(av map[string]types.AttributeValue) error {
	_, err := decodeManifest(av)
	return err
}

func decodePageErr(av map[string]types.AttributeValue) error {
	_, err := decodePage(av)
	return err
}

func decodeGenerationErr(av map[string]types.AttributeValue) error {
	_, err := decodeGeneration(av)
	return err
}

// BenchmarkDecodeItem decodes a campaign item with seven earners, two
// clicked banners and a fill of 1,000, by hand and, for comparison, with
// attributevalue.
func BenchmarkDecodeItem(b *testing.B) {
	c := banner.Campaign{Key: banner.Key{CampaignID: 10, Quarter: 2}, Converting: 7}
	for id := int64(101); id <= 107; id++ {
		c.Earners = append(c.Earners, banner.Earner{BannerID: id, Revenue: id * 1000})
	}
	c.Clicked = []banner.Clicked{{BannerID: 201, Clicks: 3}, {BannerID: 202, Clicks: 1}}
	for id := range int64(MaxFill) {
		c.Fill = append(c.Fill, 1000+id)
	}
	av := encodeCampaign(&c)
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeCampaign(c.Key, av); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("attributevalue", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got avCampaign
			if err := attributevalue.UnmarshalMap(av, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
