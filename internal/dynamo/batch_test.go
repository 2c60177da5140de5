package dynamo

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

// fakeBatch is a batchWriter that records the size of every batch and
// answers with respond.
type fakeBatch struct {
	sizes   []int
	respond func(call int, reqs []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error)
}

func (f *fakeBatch) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	reqs := in.RequestItems["t"]
	f.sizes = append(f.sizes, len(reqs))
	if f.respond == nil {
		return &dynamodb.BatchWriteItemOutput{}, nil
	}
	return f.respond(len(f.sizes), reqs)
}

// leaveUnprocessed answers the first n calls with all but the first item of
// the batch unprocessed.
func leaveUnprocessed(n int) func(int, []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
	return func(call int, reqs []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
		if call > n || len(reqs) <= 1 {
			return &dynamodb.BatchWriteItemOutput{}, nil
		}
		return &dynamodb.BatchWriteItemOutput{
			UnprocessedItems: map[string][]types.WriteRequest{"t": reqs[1:]},
		}, nil
	}
}

func puts(n int) []types.WriteRequest {
	reqs := make([]types.WriteRequest, n)
	for i := range reqs {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "C#" + strconv.Itoa(i)},
			"sk": &types.AttributeValueMemberS{Value: "Q#1"},
		}}}
	}
	return reqs
}

var fastBackoff = backoff{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}

func TestWriteBatchRetriesUnprocessed(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name        string
		items       int
		respond     func(int, []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error)
		wantSizes   []int
		wantRetries int
		wantErr     error
	}{
		{name: "all processed", items: 25, wantSizes: []int{25}},
		{name: "unprocessed twice", items: 5, respond: leaveUnprocessed(2), wantSizes: []int{5, 4, 3}, wantRetries: 2},
		{name: "unprocessed until attempts run out", items: 10, respond: leaveUnprocessed(100),
			wantSizes: []int{10, 9, 8, 7}, wantRetries: 3, wantErr: ErrUnprocessed},
		{name: "request error", items: 3, wantSizes: []int{3}, wantErr: errBoom,
			respond: func(int, []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) { return nil, errBoom }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeBatch{respond: tt.respond}
			var st WriteStats
			err := writer{api: f, table: "t", retry: fastBackoff}.batch(context.Background(), puts(tt.items), &st)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantSizes, f.sizes)
			require.Equal(t, tt.wantRetries, st.Retries)
			require.Equal(t, len(tt.wantSizes), st.Batches)
		})
	}
}

func TestWriteBatchStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeBatch{respond: func(call int, reqs []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
		cancel()
		return leaveUnprocessed(100)(call, reqs)
	}}
	var st WriteStats
	slow := backoff{Attempts: 10, Base: time.Hour, Max: time.Hour}
	err := writer{api: f, table: "t", retry: slow}.batch(ctx, puts(5), &st)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []int{5}, f.sizes)
}

func TestWriteNeverSendsMoreThan25(t *testing.T) {
	tests := []struct {
		items int
		want  []int
	}{
		{items: 0, want: nil},
		{items: 1, want: []int{1}},
		{items: 25, want: []int{25}},
		{items: 26, want: []int{25, 1}},
		{items: 51, want: []int{25, 25, 1}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.items), func(t *testing.T) {
			f := &fakeBatch{}
			w := writer{api: f, table: "t", retry: fastBackoff}
			var st WriteStats
			require.NoError(t, w.write(context.Background(), puts(tt.items), &st))
			require.Equal(t, tt.want, f.sizes)
		})
	}
	var st WriteStats
	err := writer{api: &fakeBatch{}, table: "t", retry: fastBackoff}.batch(context.Background(), puts(26), &st)
	require.Error(t, err, "a 26-item batch must be refused before it is sent")
}

func TestBackoffDelay(t *testing.T) {
	b := backoff{Attempts: 10, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	tests := []struct {
		attempt int
		bound   time.Duration
	}{
		{1, 10 * time.Millisecond},
		{2, 20 * time.Millisecond},
		{3, 40 * time.Millisecond},
		{4, 50 * time.Millisecond},
		{60, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		for range 100 {
			got := b.delay(tt.attempt)
			require.GreaterOrEqual(t, got, time.Duration(0))
			require.Less(t, got, tt.bound, "attempt %d", tt.attempt)
		}
	}
}
