package dynamo

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"banners/internal/banner"
)

// The stored forms (campaign, manifest, generation) convert to and from
// DynamoDB attributes by hand, not with the SDK's reflective attributevalue
// package: that package links service/dynamodbstreams, whose initialisation
// the API function would pay at every cold start. Strings are S, numbers N,
// lists of numbers L of N, the manifest's page sets L of S, its done flag
// BOOL, a page's campaign IDs B. An empty list and a zero lease are left
// out. Decoding takes a missing attribute as the zero value, ignores
// attributes it does not know, and rejects any other type, or a number that
// does not parse, with an error naming the attribute.

// Attribute names. They are short: they count towards the item size and
// so towards every read and write.
const (
	attrConverting  = "x"
	attrEarnerIDs   = "eb"
	attrRevenues    = "er"
	attrClickedIDs  = "cb"
	attrClicks      = "cc"
	attrFill        = "f"
	attrCampaigns   = "c"
	attrSets        = "p"
	attrManifestGen = "gen"
	attrDone        = "done"
	attrLease       = "lease"
	attrGen         = "g"
)

// encodeCampaign returns c as a DynamoDB item, cutting Fill to MaxFill.
func encodeCampaign(c *banner.Campaign) map[string]types.AttributeValue {
	av := keyOf(c.Key)
	av[attrConverting] = num(int64(c.Converting))
	putList(av, attrEarnerIDs, len(c.Earners), num, func(i int) int64 { return c.Earners[i].BannerID })
	putList(av, attrRevenues, len(c.Earners), num, func(i int) int64 { return c.Earners[i].Revenue })
	putList(av, attrClickedIDs, len(c.Clicked), num, func(i int) int64 { return c.Clicked[i].BannerID })
	putList(av, attrClicks, len(c.Clicked), num, func(i int) int64 { return c.Clicked[i].Clicks })
	putList(av, attrFill, min(len(c.Fill), MaxFill), num, func(i int) int64 { return c.Fill[i] })
	return av
}

// decodeCampaign reads the item of k.
func decodeCampaign(k banner.Key, av map[string]types.AttributeValue) (*banner.Campaign, error) {
	d := decoder{av: av}
	c := &banner.Campaign{Key: k, Converting: int(d.int(attrConverting)), Fill: d.ints(attrFill)}
	earners, revenues := d.ints(attrEarnerIDs), d.ints(attrRevenues)
	clicked, clicks := d.ints(attrClickedIDs), d.ints(attrClicks)
	if d.err != nil {
		return nil, d.err
	}
	if len(earners) != len(revenues) || len(clicked) != len(clicks) {
		return nil, fmt.Errorf("lists of different lengths: %s %d, %s %d, %s %d, %s %d",
			attrEarnerIDs, len(earners), attrRevenues, len(revenues), attrClickedIDs, len(clicked), attrClicks, len(clicks))
	}
	for i, id := range earners {
		c.Earners = append(c.Earners, banner.Earner{BannerID: id, Revenue: revenues[i]})
	}
	for i, id := range clicked {
		c.Clicked = append(c.Clicked, banner.Clicked{BannerID: id, Clicks: clicks[i]})
	}
	return c, nil
}

// attributes returns m as quarter q's manifest item.
func (m *manifest) attributes(q banner.Quarter) map[string]types.AttributeValue {
	av := manifestKey(q)
	putList(av, attrSets, len(m.Sets), str, func(i int) string {
		return m.Sets[i].Digest + "/" + strconv.Itoa(m.Sets[i].Pages)
	})
	putList(av, attrCampaigns, len(m.Listed), num, func(i int) int64 { return m.Listed[i] })
	av[attrManifestGen] = str(m.Gen)
	av[attrDone] = &types.AttributeValueMemberBOOL{Value: m.Done}
	if m.Lease != 0 {
		av[attrLease] = num(m.Lease)
	}
	return av
}

// decodeManifest reads a manifest item.
func decodeManifest(av map[string]types.AttributeValue) (manifest, error) {
	d := decoder{av: av}
	m := manifest{
		Gen:    d.str(attrManifestGen),
		Done:   d.bool(attrDone),
		Lease:  d.int(attrLease),
		Listed: d.ints(attrCampaigns),
	}
	for i, v := range d.list(attrSets) {
		var text string // "" unless v is a non-nil S
		if e, ok := v.(*types.AttributeValueMemberS); ok && e != nil {
			text = e.Value
		}
		digest, pages, found := strings.Cut(text, "/")
		n, err := strconv.Atoi(pages)
		if !found || err != nil || n < 0 {
			d.fail(attrSets, "element %d: want S \"<digest>/<pages>\", got %s %q", i, typeName(v), text)
			break
		}
		m.Sets = append(m.Sets, pageSet{Digest: digest, Pages: n})
	}
	return m, d.err
}

// encodePage returns page n of the set digest of quarter q, listing ids.
func encodePage(q banner.Quarter, digest string, n int, ids []int64) map[string]types.AttributeValue {
	av := pageKey(q, digest, n)
	av[attrCampaigns] = &types.AttributeValueMemberB{Value: packIDs(ids)}
	return av
}

// decodePage returns the campaign IDs a page lists.
func decodePage(av map[string]types.AttributeValue) ([]int64, error) {
	d := decoder{av: av}
	v, ok := member[*types.AttributeValueMemberB](&d, attrCampaigns)
	if !ok {
		return nil, d.err // nil when c is missing: the page lists nothing
	}
	ids, err := unpackIDs(v.Value)
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", attrCampaigns, err)
	}
	return ids, nil
}

// packIDs encodes ascending IDs as the uvarints of their differences, the
// first from 0: one byte per ID for consecutive IDs, at most 10.
func packIDs(ids []int64) []byte {
	b := make([]byte, 0, 2*len(ids))
	prev := int64(0)
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id-prev))
		prev = id
	}
	return b
}

// unpackIDs decodes what packIDs encoded.
func unpackIDs(b []byte) ([]int64, error) {
	var ids []int64
	prev := int64(0)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("corrupt ID list at ID %d", len(ids))
		}
		prev += int64(d)
		ids = append(ids, prev)
		b = b[n:]
	}
	return ids, nil
}

// encodeGeneration returns q's generation item: its key and gen (g, S);
// see Generation.
func encodeGeneration(q banner.Quarter, gen string) map[string]types.AttributeValue {
	av := generationKey(q)
	av[attrGen] = str(gen)
	return av
}

// decodeGeneration returns the gen of a generation item.
func decodeGeneration(av map[string]types.AttributeValue) (string, error) {
	d := decoder{av: av}
	gen := d.str(attrGen)
	return gen, d.err
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// putList sets av[name] to the list of the n values enc(at(0)), …,
// enc(at(n-1)), or leaves it out when n is 0.
func putList[T any](av map[string]types.AttributeValue, name string, n int, enc func(T) types.AttributeValue, at func(int) T) {
	if n == 0 {
		return
	}
	l := make([]types.AttributeValue, n)
	for i := range l {
		l[i] = enc(at(i))
	}
	av[name] = &types.AttributeValueMemberL{Value: l}
}

// decoder reads typed attributes of one item, keeping the first error.
type decoder struct {
	av  map[string]types.AttributeValue
	err error
}

// member returns the attribute name as a T. ok is false when it is missing
// or of another type, which is an error, as is a nil member (DynamoDB never
// sends one; every member type is a pointer).
func member[T types.AttributeValue](d *decoder, name string) (v T, ok bool) {
	av := d.av[name]
	if d.err != nil || av == nil {
		return v, false
	}
	if reflect.ValueOf(av).IsNil() {
		d.fail(name, "nil %s member", typeName(av))
		return v, false
	}
	if v, ok = av.(T); !ok {
		d.fail(name, "want %s, got %s", typeName(v), typeName(av))
	}
	return v, ok
}

func (d *decoder) fail(name string, format string, args ...any) {
	d.err = fmt.Errorf("attribute %q: "+format, append([]any{name}, args...)...)
}

func (d *decoder) str(name string) string {
	if v, ok := member[*types.AttributeValueMemberS](d, name); ok {
		return v.Value
	}
	return ""
}

func (d *decoder) bool(name string) bool {
	if v, ok := member[*types.AttributeValueMemberBOOL](d, name); ok {
		return v.Value
	}
	return false
}

func (d *decoder) int(name string) int64 {
	v, ok := member[*types.AttributeValueMemberN](d, name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		d.fail(name, "number %q is not a 64-bit integer", v.Value)
	}
	return n
}

// list returns the elements of the L attribute name.
func (d *decoder) list(name string) []types.AttributeValue {
	if v, ok := member[*types.AttributeValueMemberL](d, name); ok {
		return v.Value
	}
	return nil
}

func (d *decoder) ints(name string) []int64 {
	l := d.list(name)
	if len(l) == 0 {
		return nil
	}
	ns := make([]int64, len(l))
	for i, e := range l {
		v, ok := e.(*types.AttributeValueMemberN)
		if !ok || v == nil {
			d.fail(name, "element %d: want N, got %s", i, typeName(e))
			return nil
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			d.fail(name, "element %d: number %q is not a 64-bit integer", i, v.Value)
			return nil
		}
		ns[i] = n
	}
	return ns
}

// typeName returns the DynamoDB type of v, such as "S" or "NS": the name
// of its member type without the prefix they share.
func typeName(v types.AttributeValue) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*types.AttributeValueMember")
}
