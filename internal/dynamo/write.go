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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"banners/internal/banner"
)

// BatchSize is the most write requests DynamoDB accepts in one
// BatchWriteItem call.
const BatchSize = 25

// manifestPK is the partition key of the per-quarter manifests; their sort
// key is the quarter's, "Q#<q>".
const manifestPK = "MANIFEST"

// Errors of PutQuarter.
var (
	// ErrConflict means another writer is loading the same quarter (its
	// lease on the manifest has not expired) or took the manifest over while
	// PutQuarter ran. Nothing is lost: run the load again later.
	ErrConflict = errors.New("another load of the same quarter is running")
	// ErrUnprocessed means DynamoDB kept returning items as unprocessed
	// (throttling) after every retry.
	ErrUnprocessed = errors.New("items still unprocessed after retries")
)

// WriteStats counts what one PutQuarter did.
type WriteStats struct {
	Quarter banner.Quarter
	// Put is the number of campaign items written.
	Put int
	// Deleted is the number of campaign items deleted because their campaign
	// is no longer in the quarter.
	Deleted int
	// Unchanged is true when the manifest showed the same data fully loaded
	// already: nothing was written.
	Unchanged bool
	// Batches is the number of BatchWriteItem calls, retries included.
	Batches int
	// Retries is the number of BatchWriteItem calls that re-sent
	// UnprocessedItems.
	Retries int
}

// Add adds o's counts to s; Quarter and Unchanged are left alone.
func (s *WriteStats) Add(o WriteStats) {
	s.Put += o.Put
	s.Deleted += o.Deleted
	s.Batches += o.Batches
	s.Retries += o.Retries
}

// manifest lists the campaigns a quarter holds in the table. Its
// attributes (see attrs.go) are pk and sk (S), c (L of N), gen (S), done
// (BOOL) and lease (N, left out when 0).
type manifest struct {
	PK string
	SK string
	// Campaigns (c) is every campaign of the quarter that may have an
	// item, in ascending order.
	Campaigns []int64
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
}

// maxLease bounds a load without a context deadline: it stops writing, and
// another load may take the quarter over, after this long.
const maxLease = 15 * time.Minute

// PutQuarter makes the table hold exactly campaigns for quarter q: it
// writes one item per campaign (empty campaigns are left out) and deletes
// the items of campaigns the quarter no longer has.
//
// It is idempotent and safe to interrupt and run again:
//  1. read the manifest; if it is Done with the same data, stop; if another
//     load holds an unexpired lease on it, fail with ErrConflict;
//  2. write the manifest listing old and new campaigns, not Done, with a
//     lease until ctx's deadline (at most 15 minutes);
//  3. put the new campaign items, 25 per BatchWriteItem;
//  4. delete the items of old campaigns that are not new;
//  5. write q's generation item (see Generation): the new data's digest,
//     which readers poll to learn that q changed;
//  6. write the manifest listing the new campaigns, Done, without lease.
//
// Every campaign item in the table is listed in the manifest at every step,
// so an interrupted load leaves nothing a later load cannot find. Each item
// is replaced whole, so a reader sees a campaign's old or new item, never a
// mix. Manifest writes are conditional on the manifest being as this load
// last saw it, and the lease keeps a second load out while the first writes
// items: concurrent loads of a quarter fail with ErrConflict instead of
// mixing their items. A load that fails gives its lease back.
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
	run := "run-" + randomHex()
	pending := manifest{Campaigns: union(old.Campaigns, ids), Gen: run, Lease: lease.UnixMilli()}
	if err := s.putManifest(ctx, q, pending, old.Gen, found); err != nil {
		return st, err
	}
	defer func() {
		if err != nil {
			s.release(ctx, q, pending)
		}
	}()

	puts := make([]types.WriteRequest, 0, len(sorted))
	for _, c := range sorted {
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: encodeCampaign(c)}})
	}
	if err := s.writer().write(ctx, puts, &st); err != nil {
		return st, fmt.Errorf("put quarter %d: %w", q, err)
	}
	st.Put = len(puts)

	var dels []types.WriteRequest
	for _, id := range old.Campaigns {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			key := keyOf(banner.Key{CampaignID: id, Quarter: q})
			dels = append(dels, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
		}
	}
	if err := s.writer().write(ctx, dels, &st); err != nil {
		return st, fmt.Errorf("put quarter %d: delete vanished campaigns: %w", q, err)
	}
	st.Deleted = len(dels)

	// Every item of gen is in place: tell readers. The generation readers
	// see names this run, not only the data: after an interrupted load
	// (whose items readers may have cached) a rerun of the earlier data
	// must still move them on. A load that fails after this leaves the
	// manifest not Done, so the next load writes it again.
	if err := s.putGeneration(ctx, q, gen+"/"+run); err != nil {
		return st, fmt.Errorf("put quarter %d: %w", q, err)
	}

	final := manifest{Campaigns: ids, Gen: gen, Done: true}
	if err := s.putManifest(ctx, q, final, run, true); err != nil {
		return st, err
	}
	return st, nil
}

// release gives up a failed load's lease, so the next load need not wait
// for it to expire. It is best effort: if it fails, the lease expires.
func (s *Store) release(ctx context.Context, q banner.Quarter, pending manifest) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	run := pending.Gen
	pending.Lease = 0
	_ = s.putManifest(ctx, q, pending, run, true)
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
	if len(sorted) > MaxCampaigns {
		return nil, nil, fmt.Errorf("%d campaigns, more than the %d a manifest holds", len(sorted), MaxCampaigns)
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
// (Fill cut to MaxFill): equal data, equal digest, whatever order it
// arrived in.
func digest(sorted []*banner.Campaign) string {
	h := sha256.New()
	for _, c := range sorted {
		fmt.Fprintf(h, "%d|%d|%d|%v|%v|%v\n", c.CampaignID, c.Quarter, c.Converting,
			c.Earners, c.Clicked, c.Fill[:min(len(c.Fill), MaxFill)])
	}
	return "sha256-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// union returns the sorted union of two sorted ID lists.
func union(a, b []int64) []int64 {
	out := make([]int64, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// manifest reads q's manifest with a strongly consistent GetItem.
func (s *Store) manifest(ctx context.Context, q banner.Quarter) (manifest, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            manifestKey(q),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return manifest{}, false, fmt.Errorf("get manifest of quarter %d: %w", q, err)
	}
	if out.Item == nil {
		return manifest{}, false, nil
	}
	m, err := decodeManifest(out.Item)
	if err != nil {
		return manifest{}, false, fmt.Errorf("decode manifest of quarter %d: %w", q, err)
	}
	return m, true, nil
}

func manifestKey(q banner.Quarter) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: &types.AttributeValueMemberS{Value: manifestPK},
		SortKey:      &types.AttributeValueMemberS{Value: quarterSK(q)},
	}
}

// putManifest writes m as q's manifest if the stored one still has Gen
// prevGen (or, when !exists, if there is none).
func (s *Store) putManifest(ctx context.Context, q banner.Quarter, m manifest, prevGen string, exists bool) error {
	m.PK, m.SK = manifestPK, quarterSK(q)
	in := &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                m.attributes(),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if exists {
		in.ConditionExpression = aws.String(attrManifestGen + " = :gen")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":gen": &types.AttributeValueMemberS{Value: prevGen},
		}
	}
	_, err := s.client.PutItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("write manifest of quarter %d: %w", q, err)
	}
	return nil
}

// batchWriter is the one call the batch loop needs of *dynamodb.Client.
type batchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// backoff says how often and how long to wait before re-sending
// UnprocessedItems.
type backoff struct {
	// Attempts is the most BatchWriteItem calls per batch of 25.
	Attempts int
	// Base is the first delay's upper bound; it doubles per attempt.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
}

// defaultBackoff waits up to 50 ms, 100 ms, … capped at 5 s, over 10
// attempts: about 20 s of throttling per batch before giving up. The SDK's
// own retryer (NewRetryer) handles whole-request throttling beneath it.
var defaultBackoff = backoff{Attempts: 10, Base: 50 * time.Millisecond, Max: 5 * time.Second}

// delay returns a "full jitter" delay before attempt n+1, n ≥ 1: uniform in
// [0, min(Max, Base·2^(n-1))).
func (b backoff) delay(n int) time.Duration {
	d := b.Max
	if n-1 < 30 && b.Base<<(n-1) < b.Max {
		d = b.Base << (n - 1)
	}
	if d <= 0 {
		return 0
	}
	return mathrand.N(d)
}

// writer sends write requests to one table with BatchWriteItem.
type writer struct {
	api   batchWriter
	table string
	retry backoff
}

func (s *Store) writer() writer { return writer{api: s.client, table: s.table, retry: s.retry} }

// write sends reqs in batches of BatchSize, each until DynamoDB has
// processed all of it.
func (w writer) write(ctx context.Context, reqs []types.WriteRequest, st *WriteStats) error {
	for len(reqs) > 0 {
		n := min(len(reqs), BatchSize)
		if err := w.batch(ctx, reqs[:n], st); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// batch sends one batch of at most BatchSize requests with BatchWriteItem,
// re-sending UnprocessedItems with exponential backoff and full jitter, at
// most w.retry.Attempts calls in all. It stops when ctx is done.
func (w writer) batch(ctx context.Context, batch []types.WriteRequest, st *WriteStats) error {
	if len(batch) > BatchSize {
		return fmt.Errorf("batch of %d write requests, more than %d", len(batch), BatchSize)
	}
	pending := batch
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		out, err := w.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{w.table: pending},
		})
		st.Batches++
		if attempt > 1 {
			st.Retries++
		}
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		left := out.UnprocessedItems[w.table]
		if len(left) == 0 {
			return nil
		}
		if attempt >= w.retry.Attempts {
			return fmt.Errorf("%d of %d items after %d attempts: %w", len(left), len(batch), attempt, ErrUnprocessed)
		}
		if err := sleep(ctx, w.retry.delay(attempt)); err != nil {
			return err
		}
		pending = left
	}
}

// sleep waits d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
