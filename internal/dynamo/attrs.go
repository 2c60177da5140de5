package dynamo

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The stored forms (item, manifest, generation) convert to and from
// DynamoDB attributes by hand, not with the SDK's reflective attributevalue
// package: that package links service/dynamodbstreams, whose initialisation
// the API function would pay at every cold start. The attributes are those
// attributevalue wrote: strings S, numbers N, lists of numbers L of N, the
// manifest's done flag BOOL; the lists eb, er, cb, cc and f are left out
// when nil (an empty list is written as an empty L, as attributevalue
// wrote it) and the manifest's lease when 0. Decoding takes a missing or
// NULL attribute as the zero value, ignores attributes it does not know,
// and rejects any other type, or a number that does not parse, with an
// error naming the attribute.

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
	attrManifestGen = "gen"
	attrDone        = "done"
	attrLease       = "lease"
	attrGen         = "g"
)

// attributes returns it as a DynamoDB item.
func (it *item) attributes() map[string]types.AttributeValue {
	av := make(map[string]types.AttributeValue, 8)
	av[PartitionKey] = str(it.PK)
	av[SortKey] = str(it.SK)
	av[attrConverting] = num(int64(it.Converting))
	putList(av, attrEarnerIDs, it.EarnerIDs, true)
	putList(av, attrRevenues, it.Revenues, true)
	putList(av, attrClickedIDs, it.ClickedIDs, true)
	putList(av, attrClicks, it.Clicks, true)
	putList(av, attrFill, it.Fill, true)
	return av
}

// decodeItem reads a campaign item.
func decodeItem(av map[string]types.AttributeValue) (item, error) {
	d := decoder{av: av}
	it := item{
		PK:         d.str(PartitionKey),
		SK:         d.str(SortKey),
		Converting: int(d.int(attrConverting)),
		EarnerIDs:  d.ints(attrEarnerIDs),
		Revenues:   d.ints(attrRevenues),
		ClickedIDs: d.ints(attrClickedIDs),
		Clicks:     d.ints(attrClicks),
		Fill:       d.ints(attrFill),
	}
	return it, d.err
}

// attributes returns m as a DynamoDB item.
func (m *manifest) attributes() map[string]types.AttributeValue {
	av := make(map[string]types.AttributeValue, 6)
	av[PartitionKey] = str(m.PK)
	av[SortKey] = str(m.SK)
	putList(av, attrCampaigns, m.Campaigns, false)
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
		PK:        d.str(PartitionKey),
		SK:        d.str(SortKey),
		Campaigns: d.ints(attrCampaigns),
		Gen:       d.str(attrManifestGen),
		Done:      d.bool(attrDone),
		Lease:     d.int(attrLease),
	}
	return m, d.err
}

// attributes returns g as a DynamoDB item.
func (g *generation) attributes() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: str(g.PK),
		SortKey:      str(g.SK),
		attrGen:      str(g.Gen),
	}
}

// decodeGeneration reads a generation item.
func decodeGeneration(av map[string]types.AttributeValue) (generation, error) {
	d := decoder{av: av}
	g := generation{PK: d.str(PartitionKey), SK: d.str(SortKey), Gen: d.str(attrGen)}
	return g, d.err
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// putList sets av[name] to the list of numbers ns. A nil ns is left out
// when omitEmpty and NULL otherwise (as attributevalue wrote them); an
// empty, non-nil one is an empty list.
func putList(av map[string]types.AttributeValue, name string, ns []int64, omitEmpty bool) {
	if ns == nil {
		if !omitEmpty {
			av[name] = &types.AttributeValueMemberNULL{Value: true}
		}
		return
	}
	l := make([]types.AttributeValue, len(ns))
	for i, n := range ns {
		l[i] = num(n)
	}
	av[name] = &types.AttributeValueMemberL{Value: l}
}

// decoder reads typed attributes of one item, keeping the first error.
type decoder struct {
	av  map[string]types.AttributeValue
	err error
}

// get returns the attribute name, or nil when it is missing or NULL.
func (d *decoder) get(name string) types.AttributeValue {
	if d.err != nil {
		return nil
	}
	v := d.av[name]
	nilMember := false
	switch v := v.(type) {
	case *types.AttributeValueMemberNULL:
		return nil
	// A nil member, which DynamoDB never sends, is an error, not a panic.
	case *types.AttributeValueMemberS:
		nilMember = v == nil
	case *types.AttributeValueMemberN:
		nilMember = v == nil
	case *types.AttributeValueMemberL:
		nilMember = v == nil
	case *types.AttributeValueMemberBOOL:
		nilMember = v == nil
	}
	if nilMember {
		d.fail(name, "nil %s member", typeName(v))
		return nil
	}
	return v
}

func (d *decoder) fail(name string, format string, args ...any) {
	d.err = fmt.Errorf("attribute %q: "+format, append([]any{name}, args...)...)
}

func (d *decoder) str(name string) string {
	switch v := d.get(name).(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	default:
		d.fail(name, "want S, got %s", typeName(v))
		return ""
	}
}

func (d *decoder) bool(name string) bool {
	switch v := d.get(name).(type) {
	case nil:
		return false
	case *types.AttributeValueMemberBOOL:
		return v.Value
	default:
		d.fail(name, "want BOOL, got %s", typeName(v))
		return false
	}
}

func (d *decoder) int(name string) int64 {
	switch v := d.get(name).(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			d.fail(name, "number %q is not a 64-bit integer", v.Value)
		}
		return n
	default:
		d.fail(name, "want N, got %s", typeName(v))
		return 0
	}
}

func (d *decoder) ints(name string) []int64 {
	var l []types.AttributeValue
	switch v := d.get(name).(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberL:
		l = v.Value
	default:
		d.fail(name, "want L, got %s", typeName(v))
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

// typeName returns the DynamoDB type of v, such as "S" or "NS".
func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberBS:
		return "BS"
	default:
		return fmt.Sprintf("%T", v)
	}
}
