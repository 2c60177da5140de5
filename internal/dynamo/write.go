package dynamo

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"banners/internal/banner"
)

// BatchSize is the most write requests DynamoDB accepts in one
// BatchWriteItem call.
const BatchSize = 25

// PageSize is the most campaign IDs one manifest page lists. An ID takes
// at most 10 bytes in a page (see packIDs), so a page stays near 100 KB,
// a quarter of DynamoDB's 400 KB item limit, whatever the IDs.
const PageSize = 10000

// writers is how many BatchWriteItem calls a load keeps in flight: a call
// takes a few ms, and a fresh on-demand table accepts 4,000 writes a second.
const writers = 8

// Partition keys of a load's bookkeeping: a quarter's manifest is
// (manifestPK, "Q#<q>"), its pages ("PAGE#<n>", "Q#<q>#<digest>"), the page
// number in the partition key so that a load's pages spread over partitions.
const (
	manifestPK = "MANIFEST"
	pagePK     = "PAGE#"
)

// Errors of PutQuarter.
var (
	// ErrConflict means another writer is loading the same quarter (its
	// lease on the manifest has not expired) or took the manifest over while
	// PutQuarter ran. Nothing is lost: run the load again later.
	ErrConflict = errors.New("another load of the same quarter is running")
	// ErrThrottled means DynamoDB still throttled the load's writes at its
	// deadline. The error also wraps context.DeadlineExceeded.
	ErrThrottled = errors.New("throttled past the load's deadline")
)

// WriteStats counts what one PutQuarter did.
type WriteStats struct {
	Quarter banner.Quarter
	// Put is the number of campaign items written.
	Put int
	// Deleted counts the items deleted of campaigns no longer in the quarter.
	Deleted int
	// Unchanged is true when the manifest showed the same data fully loaded
	// already: nothing was written.
	Unchanged bool
	// Pages is the number of manifest pages written.
	Pages int
	// Batches is the number of BatchWriteItem calls, retries included.
	Batches int
	// Retries is the number of BatchWriteItem calls that re-sent a batch or
	// its UnprocessedItems.
	Retries int
	// Throttled is the wall time the load spent waiting out throttling.
	Throttled time.Duration
	// WriteUnits is the write capacity DynamoDB reported the BatchWriteItem
	// calls consumed (on demand: the write request units billed), if it
	// does; the load's three PutItem calls of under 1 KB each are not in it.
	WriteUnits float64
}

// Add adds o's counts to s; Quarter and Unchanged are left alone.
func (s *WriteStats) Add(o WriteStats) {
	s.Put += o.Put
	s.Deleted += o.Deleted
	s.Pages += o.Pages
	s.Batches += o.Batches
	s.Retries += o.Retries
	s.Throttled += o.Throttled
	s.WriteUnits += o.WriteUnits
}

// Progress is how far a running PutQuarter is; see WithProgress.
type Progress struct {
	Quarter banner.Quarter
	// Written counts the campaign items put or deleted so far, of Total.
	Written, Total int
	// Throttled is the wall time spent waiting out throttling so far.
	Throttled time.Duration
}

// WithProgress returns a copy of s whose PutQuarter calls f after every
// batch of campaign items it writes. f is called from one goroutine at a
// time and must be quick.
func (s *Store) WithProgress(f func(Progress)) *Store {
	c := *s
	c.progress = f
	return &c
}

// manifest records what a quarter holds in the table; each field's
// attribute is named in parentheses (see attrs.go).
type manifest struct {
	// Gen (gen) is the digest of the loaded data once Done, and a random
	// token of the running load before. Writers change the manifest only if
	// Gen is still what they read: an optimistic lock.
	Gen string
	// Done (done) is true once every campaign item of Gen is written and
	// every vanished one deleted.
	Done bool
	// Lease (lease) is when the running load's claim on the quarter ends,
	// in Unix milliseconds; 0 once it is Done or gave up.
	Lease int64
	// Sets (p) are the page sets that together list every campaign of the
	// quarter that may have an item: one once Done; before, the last
	// complete load's, the running one's and those of loads interrupted since.
	Sets []pageSet
	// Listed (c) are campaigns the manifest lists itself, as a manifest
	// written without pages lists every campaign of its quarter. A load
	// reads them as old campaigns, keeps them while it runs and leaves them
	// out once Done.
	Listed []int64
}

// pageSet names the manifest pages of one load's data: pages 0 to Pages-1
// of the data whose digest is Digest, together listing its campaign IDs in
// ascending order, PageSize per page. It is stored as "<digest>/<pages>".
type pageSet struct {
	Digest string
	Pages  int
}

// maxLease bounds a load without a context deadline: it stops writing, and
// another load may take the quarter over, after this long.
const maxLease = 15 * time.Minute

// PutQuarter makes the table hold exactly campaigns for quarter q: it
// writes one item per campaign (empty campaigns are left out) and deletes
// the items of campaigns the quarter no longer has. Any number of
// campaigns fits: the manifest lists them in pages of PageSize.
//
// It is idempotent and safe to interrupt and run again:
//  1. read the manifest; if it is Done with the same data, stop; if another
//     load holds an unexpired lease on it, fail with ErrConflict;
//  2. write the manifest, not Done, with a lease until ctx's deadline (at
//     most 15 minutes), listing the page sets it listed and the new data's,
//     whose pages are not written yet;
//  3. read the old sets' pages: every campaign that may have an item;
//  4. write the new data's pages;
//  5. put the new campaign items, 25 per BatchWriteItem, 8 calls at a time;
//  6. delete the items of old campaigns that are not new;
//  7. write q's generation item (see Generation), which readers poll to
//     learn that q changed;
//  8. delete the old sets' pages;
//  9. write the manifest listing only the new data's pages, Done, without
//     lease.
//
// Every campaign item in the table is listed on a page of a set the
// manifest lists at every step: a set's pages are written (4) before any of
// its items (5), and a set leaves the manifest (8, 9) only once each of its
// campaigns is deleted (6) or listed by the new set. A page that is not
// there lists nothing that has an item, so an interrupted load leaves
// nothing a later load cannot find. Pages are named by the data's digest,
// so a rerun writes the same pages and a clean load, a repeated load and a
// load in any file order leave the same table. Each item is replaced whole,
// so a reader sees a campaign's old or new item, never a mix. Manifest
// writes are conditional on the manifest being as this load last saw it,
// and the lease keeps a second load out while the first writes items:
// concurrent loads of a quarter fail with ErrConflict instead of mixing
// their items. A load that fails gives its lease back.
//
// Throttled writes are re-sent with backoff until ctx's deadline, and
// WriteStats.Throttled says how long the load waited for them.
func (s *Store) PutQuarter(ctx context.Context, q banner.Quarter, campaigns []banner.Campaign) (st WriteStats, err error) {
	st.Quarter = q
	if !q.Valid() {
		return st, fmt.Errorf("put quarter %d: invalid quarter", q)
	}
	sorted, ids, err := quarterCampaigns(q, campaigns)
	if err != nil {
		return st, fmt.Errorf("put quarter %d: %w", q, err)
	}
	gen := digest(sorted)
	set := pageSet{Digest: gen, Pages: (len(ids) + PageSize - 1) / PageSize}

	old, found, err := s.manifest(ctx, q)
	if err != nil {
		return st, err
	}
	if found && old.Done && old.Gen == gen {
		st.Unchanged = true
		return st, nil
	}
	now := time.Now()
	if found && !old.Done && old.Lease > now.UnixMilli() {
		return st, fmt.Errorf("put quarter %d: leased until %s: %w", q, time.UnixMilli(old.Lease).UTC().Format(time.RFC3339), ErrConflict)
	}

	lease := now.Add(maxLease)
	if d, ok := ctx.Deadline(); ok && d.Before(lease) {
		lease = d
	}
	ctx, cancel := context.WithDeadline(ctx, lease)
	defer cancel()
	var token [8]byte
	_, _ = rand.Read(token[:]) // crypto/rand.Read never fails
	run := "run-" + hex.EncodeToString(token[:])
	pending := manifest{Gen: run, Lease: lease.UnixMilli(), Sets: old.Sets, Listed: old.Listed}
	if !slices.Contains(pending.Sets, set) {
		pending.Sets = append(slices.Clip(pending.Sets), set)
	}
	if err := s.putManifest(ctx, q, pending, old.Gen, found); err != nil {
		return st, err
	}
	w := &writer{Store: s, q: q, st: &st}
	defer func() {
		st.Throttled = w.throttledFor()
		if err != nil {
			// Give the lease back, so the next load need not wait for it to
			// expire. Best effort: if this fails, the lease expires.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			pending.Lease = 0
			_ = s.putManifest(ctx, q, pending, run, true)
		}
	}()

	oldIDs, err := s.listed(ctx, q, old)
	if err != nil {
		return st, fmt.Errorf("put quarter %d: %w", q, err)
	}
	if err := w.write(ctx, set.Pages, func(i int) types.WriteRequest {
		page := ids[i*PageSize : min(len(ids), (i+1)*PageSize)]
		return types.WriteRequest{PutRequest: &types.PutRequest{Item: encodePage(q, gen, i, page)}}
	}); err != nil {
		return st, fmt.Errorf("put quarter %d: write manifest pages: %w", q, err)
	}
	st.Pages = set.Pages

	vanished := slices.DeleteFunc(oldIDs, func(id int64) bool {
		_, ok := slices.BinarySearch(ids, id)
		return ok
	})
	w.total = len(sorted) + len(vanished) // progress counts these writes
	if err := w.write(ctx, len(sorted), func(i int) types.WriteRequest {
		return types.WriteRequest{PutRequest: &types.PutRequest{Item: encodeCampaign(sorted[i])}}
	}); err != nil {
		return st, fmt.Errorf("put quarter %d: %w", q, err)
	}
	st.Put = len(sorted)
	if err := w.write(ctx, len(vanished), func(i int) types.WriteRequest {
		key := keyOf(banner.Key{CampaignID: vanished[i], Quarter: q})
		return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}}
	}); err != nil {
		return st, fmt.Errorf("put quarter %d: delete vanished campaigns: %w", q, err)
	}
	st.Deleted = len(vanished)
	w.total = 0

	// Every item of gen is in place: tell readers. The generation names this
	// run, not only the data: after an interrupted load (whose items readers
	// may have cached) a rerun of the earlier data must still move them on.
	// A load that fails after this leaves the manifest not Done, so the
	// next load writes it again.
	genItem := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: encodeGeneration(q, gen+"/"+run)}
	if _, err := s.ops.putItem(ctx, genItem); err != nil {
		return st, fmt.Errorf("put quarter %d: write generation of quarter %d: %w", q, q, err)
	}

	var stale []map[string]types.AttributeValue
	for _, ps := range old.Sets {
		if ps != set {
			for n := range ps.Pages {
				stale = append(stale, pageKey(q, ps.Digest, n))
			}
		}
	}
	if err := w.write(ctx, len(stale), func(i int) types.WriteRequest {
		return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: stale[i]}}
	}); err != nil {
		return st, fmt.Errorf("put quarter %d: delete old manifest pages: %w", q, err)
	}

	return st, s.putManifest(ctx, q, manifest{Gen: gen, Done: true, Sets: []pageSet{set}}, run, true)
}

// quarterCampaigns returns q's non-empty campaigns and their IDs, both in
// ascending campaign order.
func quarterCampaigns(q banner.Quarter, campaigns []banner.Campaign) ([]*banner.Campaign, []int64, error) {
	sorted := make([]*banner.Campaign, 0, len(campaigns))
	for i := range campaigns {
		c := &campaigns[i]
		if c.Quarter != q {
			return nil, nil, fmt.Errorf("campaign %d is of quarter %d", c.CampaignID, c.Quarter)
		}
		if !c.Empty() {
			sorted = append(sorted, c)
		}
	}
	slices.SortFunc(sorted, func(a, b *banner.Campaign) int { return cmp.Compare(a.CampaignID, b.CampaignID) })
	ids := make([]int64, 0, len(sorted))
	for i, c := range sorted {
		if i > 0 && c.CampaignID == ids[i-1] {
			return nil, nil, fmt.Errorf("campaign %d given twice", c.CampaignID)
		}
		ids = append(ids, c.CampaignID)
	}
	return sorted, ids, nil
}

// digest identifies the content of a quarter's sorted campaigns as stored
// (Fill cut to MaxFill): equal data, equal digest, in any order.
func digest(sorted []*banner.Campaign) string {
	h := sha256.New()
	for _, c := range sorted {
		fmt.Fprintf(h, "%d|%d|%d|%v|%v|%v\n", c.CampaignID, c.Quarter, c.Converting,
			c.Earners, c.Clicked, c.Fill[:min(len(c.Fill), MaxFill)])
	}
	return "sha256-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// manifest reads q's manifest with a strongly consistent GetItem.
func (s *Store) manifest(ctx context.Context, q banner.Quarter) (manifest, bool, error) {
	item, err := s.getConsistent(ctx, manifestKey(q))
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return manifest{}, false, fmt.Errorf("put quarter %d: table %s does not exist: %w", q, s.table, err)
	}
	if err != nil {
		return manifest{}, false, fmt.Errorf("put quarter %d: get manifest: %w", q, err)
	}
	if item == nil {
		return manifest{}, false, nil
	}
	m, err := decodeManifest(item)
	if err != nil {
		return manifest{}, false, fmt.Errorf("put quarter %d: decode manifest: %w", q, err)
	}
	return m, true, nil
}

func manifestKey(q banner.Quarter) map[string]types.AttributeValue {
	return itemKey(manifestPK, quarterSK(q))
}

// pageKey returns the key of page n of the set digest of quarter q.
func pageKey(q banner.Quarter, digest string, n int) map[string]types.AttributeValue {
	return itemKey(pagePK+strconv.Itoa(n), quarterSK(q)+"#"+digest)
}

// listed returns the sorted union of the campaign IDs m lists, itself and
// on the pages of its sets, reading each page with a strongly consistent
// GetItem. A page that is not there lists nothing (see PutQuarter).
func (s *Store) listed(ctx context.Context, q banner.Quarter, m manifest) ([]int64, error) {
	ids := slices.Clone(m.Listed)
	for _, ps := range m.Sets {
		for n := range ps.Pages {
			item, err := s.getConsistent(ctx, pageKey(q, ps.Digest, n))
			if err != nil {
				return nil, fmt.Errorf("read manifest page %d of %s: %w", n, ps.Digest, err)
			}
			if item == nil {
				continue
			}
			page, err := decodePage(item)
			if err != nil {
				return nil, fmt.Errorf("decode manifest page %d of %s: %w", n, ps.Digest, err)
			}
			ids = append(ids, page...)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// putManifest writes m as q's manifest if the stored one still has Gen
// prevGen (or, when !exists, if there is none).
func (s *Store) putManifest(ctx context.Context, q banner.Quarter, m manifest, prevGen string, exists bool) error {
	in := &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                m.attributes(q),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if exists {
		in.ConditionExpression = aws.String(attrManifestGen + " = :gen")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":gen": str(prevGen)}
	}
	_, err := s.ops.putItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("put quarter %d: write manifest: %w", q, err)
	}
	return nil
}

// backoff paces the re-sending of a batch (see batch).
type backoff struct {
	// Attempts is the most BatchWriteItem calls per batch that fail with a
	// retryable error other than throttling.
	Attempts int
	// Base is the first delay's upper bound; it doubles per attempt.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
}

// defaultBackoff waits up to 50 ms, 100 ms, … capped at 5 s.
var defaultBackoff = backoff{Attempts: 10, Base: 50 * time.Millisecond, Max: 5 * time.Second}

// delay returns a "full jitter" delay before attempt n+1, n ≥ 1: uniform in
// [0, min(Max, Base·2^(n-1))).
func (b backoff) delay(n int) time.Duration {
	d := b.Max
	if n-1 < 30 && b.Base<<(n-1) < b.Max {
		d = b.Base << (n - 1)
	}
	if d <= 0 { // a zero Base, or a shift past the int64 range
		return 0
	}
	return mathrand.N(d)
}

// writer sends one PutQuarter's write requests to the store's table with
// BatchWriteItem, writers calls at a time, and counts them in one WriteStats.
type writer struct {
	*Store
	q     banner.Quarter
	total int // campaign items to write, for progress (0: not counted); set between writes

	mu      sync.Mutex // guards what follows
	st      *WriteStats
	written int           // campaign items written so far
	waiting int           // calls waiting out throttling now
	since   time.Time     // when waiting last changed
	waited  time.Duration // until since
}

// throttledFor returns the wall time spent waiting out throttling so far.
func (w *writer) throttledFor() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.throttledLocked()
}

func (w *writer) throttledLocked() time.Duration {
	if w.waiting > 0 {
		return w.waited + time.Since(w.since)
	}
	return w.waited
}

// throttle marks the start (+1) or end (-1) of a call's wait for throttling.
func (w *writer) throttle(delta int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.waiting > 0 {
		w.waited += now.Sub(w.since)
	}
	w.since, w.waiting = now, w.waiting+delta
}

// called counts one BatchWriteItem call, a retry if not the first, and
// the capacity it consumed.
func (w *writer) called(attempt int, out *dynamodb.BatchWriteItemOutput) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.Batches++
	if attempt > 1 {
		w.st.Retries++
	}
	if out != nil {
		for _, c := range out.ConsumedCapacity {
			w.st.WriteUnits += aws.ToFloat64(c.CapacityUnits)
		}
	}
}

// done counts a finished batch of n requests and reports progress.
func (w *writer) done(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.total == 0 {
		return
	}
	w.written += n
	if w.progress != nil {
		w.progress(Progress{Quarter: w.q, Written: w.written, Total: w.total, Throttled: w.throttledLocked()})
	}
}

// write sends the n requests req(0), …, req(n-1) in batches of BatchSize,
// writers batches at a time, each until DynamoDB has processed all of it.
// req is called from several goroutines. The first failure stops the
// others, and write returns it.
func (w *writer) write(ctx context.Context, n int, req func(i int) types.WriteRequest) error {
	batches := (n + BatchSize - 1) / BatchSize
	if batches == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64 // the batches taken so far
	var wg sync.WaitGroup
	for range min(writers, batches) {
		wg.Go(func() {
			for b := int(next.Add(1)) - 1; b < batches; b = int(next.Add(1)) - 1 {
				lo, hi := b*BatchSize, min(n, (b+1)*BatchSize)
				reqs := make([]types.WriteRequest, 0, hi-lo)
				for i := lo; i < hi; i++ {
					reqs = append(reqs, req(i))
				}
				if err := w.batch(ctx, reqs); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return w.stopped(context.Cause(ctx))
}

// stopped returns err, the reason writes stopped, saying so when the load
// ran out of time while DynamoDB throttled it.
func (w *writer) stopped(err error) error {
	if d := w.throttledFor(); d > 0 && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrThrottled) {
		return fmt.Errorf("throttled for %s: %w: %w", d.Round(time.Millisecond), ErrThrottled, err)
	}
	return err
}

// noRetries turns the SDK's retries off for one call: batch re-sends a
// batch itself, to wait out throttling until the deadline and time it.
func noRetries(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }

var (
	throttles  = retry.IsErrorThrottles(retry.DefaultThrottles)
	retryables = retry.IsErrorRetryables(retry.DefaultRetryables)
)

// batch sends one batch of at most BatchSize requests with BatchWriteItem
// until DynamoDB has processed all of it. Throttling (a throttling error,
// or UnprocessedItems) is waited out with exponential backoff and full
// jitter until ctx's deadline; other errors the SDK would retry are retried
// likewise, at most w.retry.Attempts calls; any other fails at once.
func (w *writer) batch(ctx context.Context, batch []types.WriteRequest) error {
	if len(batch) > BatchSize {
		return fmt.Errorf("batch of %d write requests, more than %d", len(batch), BatchSize)
	}
	pending := batch
	failures := 0
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return w.stopped(context.Cause(ctx))
		}
		out, err := w.ops.batchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems:           map[string][]types.WriteRequest{w.table: pending},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		}, noRetries)
		w.called(attempt, out)
		throttled := false
		switch {
		case err == nil:
			if left := out.UnprocessedItems[w.table]; len(left) > 0 {
				pending, throttled = left, true
				break
			}
			w.done(len(batch))
			return nil
		case ctx.Err() != nil:
			return w.stopped(context.Cause(ctx))
		case throttles.IsErrorThrottle(err) == aws.TrueTernary:
			throttled = true
		case retryables.IsErrorRetryable(err) == aws.TrueTernary && failures+1 < w.retry.Attempts:
			failures++
		default:
			return fmt.Errorf("batch write: %w", err)
		}
		if throttled {
			w.throttle(1)
		}
		select { // a done ctx ends the loop at the next attempt
		case <-ctx.Done():
		case <-time.After(w.retry.delay(attempt)):
		}
		if throttled {
			w.throttle(-1)
		}
	}
}
