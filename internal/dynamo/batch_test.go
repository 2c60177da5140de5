package dynamo

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// fakeBatch stands in for BatchWriteItem: it records the size of every
// batch and answers with respond. It is safe for the writer's concurrent
// calls.
type fakeBatch struct {
	mu      sync.Mutex
	sizes   []int
	respond func(call int, reqs []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error)
	// blockAfter, if not 0, makes every call after that many last until
	// its context is done.
	blockAfter int
}

func (f *fakeBatch) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	reqs := in.RequestItems["t"]
	f.mu.Lock()
	f.sizes = append(f.sizes, len(reqs))
	call := len(f.sizes)
	f.mu.Unlock()
	if f.blockAfter > 0 && call > f.blockAfter {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.respond == nil {
		return &dynamodb.BatchWriteItemOutput{}, nil
	}
	return f.respond(call, reqs)
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

// failFirst answers the first n calls with err.
func failFirst(n int, err error) func(int, []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
	return func(call int, _ []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
		if call > n {
			return &dynamodb.BatchWriteItemOutput{}, nil
		}
		return nil, err
	}
}

// statusError is an error with an HTTP status, as the SDK's response
// errors are.
type statusError int

func (e statusError) Error() string       { return "status " + strconv.Itoa(int(e)) }
func (e statusError) HTTPStatusCode() int { return int(e) }

func puts(n int) []types.WriteRequest {
	reqs := make([]types.WriteRequest, n)
	for i := range reqs {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			PartitionKey: &types.AttributeValueMemberS{Value: "C#" + strconv.Itoa(i)},
			SortKey:      &types.AttributeValueMemberS{Value: "Q#1"},
		}}}
	}
	return reqs
}

var fastBackoff = backoff{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}

func newTestWriter(f *fakeBatch, b backoff, st *WriteStats) *writer {
	s := &Store{ops: operations{batchWriteItem: f.BatchWriteItem}, table: "t", retry: b}
	return &writer{Store: s, q: 1, st: st}
}

func TestWriteBatchRetries(t *testing.T) {
	errBoom := errors.New("boom")
	throttling := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}
	tests := []struct {
		name          string
		items         int
		respond       func(int, []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error)
		wantSizes     []int
		wantRetries   int
		wantThrottled bool
		wantErr       error
	}{
		{name: "all processed", items: 25, wantSizes: []int{25}},
		{name: "unprocessed twice", items: 5, respond: leaveUnprocessed(2),
			wantSizes: []int{5, 4, 3}, wantRetries: 2, wantThrottled: true},
		{name: "unprocessed more often than attempts", items: 10, respond: leaveUnprocessed(6),
			wantSizes: []int{10, 9, 8, 7, 6, 5, 4}, wantRetries: 6, wantThrottled: true},
		{name: "throttling errors", items: 3, respond: failFirst(5, throttling),
			wantSizes: []int{3, 3, 3, 3, 3, 3}, wantRetries: 5, wantThrottled: true},
		{name: "server errors until attempts run out", items: 3, respond: failFirst(100, statusError(500)),
			wantSizes: []int{3, 3, 3, 3}, wantRetries: 3, wantErr: statusError(500)},
		{name: "a server error", items: 3, respond: failFirst(1, statusError(503)),
			wantSizes: []int{3, 3}, wantRetries: 1},
		{name: "request error", items: 3, wantSizes: []int{3}, wantErr: errBoom, respond: failFirst(100, errBoom)},
		{name: "validation error", items: 3, wantSizes: []int{3}, respond: failFirst(100, statusError(400)), wantErr: statusError(400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeBatch{respond: tt.respond}
			var st WriteStats
			w := newTestWriter(f, fastBackoff, &st)
			err := w.batch(t.Context(), puts(tt.items))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantSizes, f.sizes)
			require.Equal(t, tt.wantRetries, st.Retries)
			require.Equal(t, len(tt.wantSizes), st.Batches)
			require.Equal(t, tt.wantThrottled, w.throttledFor() > 0, "throttled for %s", w.throttledFor())
		})
	}
}

// TestWriteBatchThrottledPastDeadline: throttling is waited out until the
// deadline, then the load fails saying so and for how long.
func TestWriteBatchThrottledPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		f := &fakeBatch{respond: func(_ int, reqs []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
			return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{"t": reqs}}, nil
		}}
		var st WriteStats
		b := backoff{Attempts: 3, Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}
		w := newTestWriter(f, b, &st)
		err := w.batch(ctx, puts(5))
		require.ErrorIs(t, err, ErrThrottled)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 10*time.Second, w.throttledFor())
		require.ErrorContains(t, err, "throttled for 10s")
		require.Greater(t, st.Batches, 100, "throttling is retried past the attempts for errors")
	})
}

func TestWriteBatchStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeBatch{respond: func(call int, reqs []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
		cancel()
		return leaveUnprocessed(100)(call, reqs)
	}}
	var st WriteStats
	slow := backoff{Attempts: 10, Base: time.Hour, Max: time.Hour}
	err := newTestWriter(f, slow, &st).batch(ctx, puts(5))
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrThrottled)
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
		{items: 26, want: []int{1, 25}},
		{items: 51, want: []int{1, 25, 25}},
		{items: 1000, want: slices.Repeat([]int{25}, 40)},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.items), func(t *testing.T) {
			f := &fakeBatch{}
			var st WriteStats
			w := newTestWriter(f, fastBackoff, &st)
			w.total = tt.items
			reqs := puts(tt.items)
			require.NoError(t, w.write(t.Context(), len(reqs), func(i int) types.WriteRequest { return reqs[i] }))
			slices.Sort(f.sizes)
			require.Equal(t, tt.want, f.sizes)
			require.Equal(t, tt.items, w.written)
		})
	}
	var st WriteStats
	err := newTestWriter(&fakeBatch{}, fastBackoff, &st).batch(t.Context(), puts(26))
	require.Error(t, err, "a 26-item batch must be refused before it is sent")
}

// TestWriteStopsAtFirstFailure: a failed batch stops the other writers,
// and write returns its error.
func TestWriteStopsAtFirstFailure(t *testing.T) {
	errBoom := errors.New("boom")
	// Calls 1 and 2 succeed, call 3 fails, later ones last until the
	// failure has stopped the write.
	f := &fakeBatch{blockAfter: 3}
	f.respond = func(call int, _ []types.WriteRequest) (*dynamodb.BatchWriteItemOutput, error) {
		if call == 3 {
			return nil, errBoom
		}
		return &dynamodb.BatchWriteItemOutput{}, nil
	}
	var st WriteStats
	reqs := puts(25 * 1000)
	err := newTestWriter(f, fastBackoff, &st).write(t.Context(), len(reqs), func(i int) types.WriteRequest { return reqs[i] })
	require.ErrorIs(t, err, errBoom)
	// Each of the other writers was in at most one call when call 3 failed.
	require.LessOrEqual(t, len(f.sizes), 3+writers-1, "no batch starts after the failure is seen")
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
