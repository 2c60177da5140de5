package dynamo_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
)

// TestLargeQuarter loads a quarter of three manifest pages of campaigns,
// then reloads it with every even campaign gone, every odd one changed and
// new ones added, while it is read: each answer is the campaign's old
// or new item, or not found for a campaign absent from one of them; never
// an error, never a mix. After the reload the table holds exactly the new
// data.
func TestLargeQuarter(t *testing.T) {
	const n = 3 * dynamo.PageSize
	old := campaigns(1, n)
	var next []banner.Campaign
	for _, c := range old {
		if c.CampaignID%2 == 1 {
			c.Converting += 100
			next = append(next, c)
		}
	}
	added := campaigns(1, n+1000)[n:]
	next = append(next, added...)
	byID := func(cs []banner.Campaign) map[int64]*banner.Campaign {
		m := make(map[int64]*banner.Campaign, len(cs))
		for i := range cs {
			m[cs[i].CampaignID] = &cs[i]
		}
		return m
	}
	oldByID, nextByID := byID(old), byID(next)

	dynamotest.Each(t, func(t *testing.T, srv *dynamotest.Server) {
		ctx := t.Context()
		s, client := newStore(t, srv)
		st, err := s.PutQuarter(ctx, 1, old)
		require.NoError(t, err)
		st.WriteUnits = 0
		require.Equal(t, dynamo.WriteStats{Quarter: 1, Put: n, Pages: 3, Batches: 1 + n/dynamo.BatchSize}, st)

		// check reads campaign id and reports an answer that is neither its
		// old nor its new one.
		var mu sync.Mutex
		var wrong []error
		reads := 0
		check := func(id int64) {
			got, err := s.Campaign(ctx, banner.Key{CampaignID: id, Quarter: 1})
			o, nw := oldByID[id], nextByID[id]
			mu.Lock()
			defer mu.Unlock()
			reads++
			switch {
			case errors.Is(err, banner.ErrNotFound) && (o == nil || nw == nil):
			case err != nil:
				wrong = append(wrong, err)
			case !reflect.DeepEqual(got, o) && !reflect.DeepEqual(got, nw):
				wrong = append(wrong, errors.New("a campaign neither old nor new"))
			}
		}
		// Reads run throughout the reload, beside the other batches in
		// flight: one before every batch, and a round of them before the
		// 10th and the 700th.
		reloader := dynamo.New(srv.Client(func(o *dynamodb.Options) {
			o.HTTPClient = &dynamotest.HookClient{Operation: "BatchWriteItem", Before: func(b int) error {
				check(int64(b*37)%(n+1000) + 1)
				if b == 10 || b == 700 {
					for id := int64(1); id <= n+1000; id += 97 {
						check(id)
					}
				}
				return nil
			}}
		}), s.Table())
		st, err = reloader.PutQuarter(ctx, 1, next)
		require.NoError(t, err)
		require.Empty(t, wrong, "of %d reads", reads)
		require.Equal(t, len(next), st.Put)
		require.Equal(t, n/2, st.Deleted)
		require.Equal(t, 2, st.Pages)

		for id := int64(1); id <= n+1000; id += 101 {
			got, err := s.Campaign(ctx, banner.Key{CampaignID: id, Quarter: 1})
			if want := nextByID[id]; want != nil {
				require.NoError(t, err)
				require.Equal(t, want, got)
			} else {
				require.ErrorIs(t, err, banner.ErrNotFound, "campaign %d", id)
			}
		}
		// moto takes half a minute to count 30,000 items; the sampled
		// reads above check the deletes there.
		if srv.Name == dynamotest.Dynalite {
			require.Equal(t, len(next)+1+2+1, count(t, client, s.Table()),
				"campaign items, the manifest, its two pages and the generation")
		}
	})
}

// count returns the number of items in the table, generation items
// included, with Scans that return counts only.
func count(t testing.TB, client *dynamodb.Client, table string) int {
	t.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true), Select: types.SelectCount,
	})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		n += int(out.Count)
	}
	return n
}
