package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
)

// TestGeneration checks that a quarter's generation changes exactly when
// a load changes its data, is left alone by other quarters' loads, and is
// written only once every item of the load is in place.
func TestGeneration(t *testing.T) {
	a, b := campaigns(1, 30), campaigns(1, 20)
	dynamotest.Each(t, func(t *testing.T, srv *dynamotest.Server) {
		ctx := t.Context()
		s, _ := newStore(t, srv)
		gen := func(q banner.Quarter) string {
			t.Helper()
			g, err := s.Generation(ctx, q)
			require.NoError(t, err)
			return g
		}
		require.Empty(t, gen(1), "no load yet")

		_, err := s.PutQuarter(ctx, 1, a)
		require.NoError(t, err)
		genA := gen(1)
		require.NotEmpty(t, genA)

		steps := []struct {
			name    string
			q       banner.Quarter
			load    []banner.Campaign
			changed bool
		}{
			{"same data again", 1, a, false},
			{"another quarter", 3, campaigns(3, 5), false},
			{"new data", 1, b, true},
		}
		prev := genA
		for _, st := range steps {
			_, err := s.PutQuarter(ctx, st.q, st.load)
			require.NoError(t, err, st.name)
			got := gen(1)
			require.Equal(t, st.changed, got != prev, "%s: generation %q after %q", st.name, got, prev)
			prev = got
		}
		require.NotEmpty(t, gen(3))

		// A load interrupted before its last batch leaves the generation
		// alone: readers are not told of data that is not all there.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		hooked := dynamo.New(srv.Client(func(o *dynamodb.Options) {
			o.HTTPClient = &dynamotest.HookClient{Operation: "BatchWriteItem", Before: func(n int) error {
				if n > 1 {
					cancel()
					return context.Canceled
				}
				return nil
			}}
		}), s.Table())
		_, err = hooked.PutQuarter(cctx, 1, a)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, prev, gen(1))
		// Readers may have cached the interrupted load's items: rerunning
		// the earlier data a must still give a new generation.
		_, err = s.PutQuarter(ctx, 1, a)
		require.NoError(t, err)
		require.NotEqual(t, prev, gen(1), "a rerun after an interrupted load moves readers on")
		require.NotEqual(t, genA, gen(1), "a generation names its load, not only its data")
	})
}
