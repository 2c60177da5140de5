package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/server"
)

// The re-ingest test's data: one quarter of campaigns 1 to reingestOld,
// reloaded as campaigns 1 to reingestKept (the even ones with a new top
// 10) and reingestKept+1 to reingestOld gone, plus reingestAdded new
// campaigns after reingestOld. Every campaign has reingestEarners
// converting banners, more than banner.MaxBanners, so the banners served
// are exactly its top 10.
const (
	reingestQuarter = banner.Quarter(2)
	reingestOld     = 1000
	reingestKept    = 990
	reingestAdded   = 10
	reingestEarners = 12
	// reingestHeldReads is how many reads must reach DynamoDB while the
	// reload is held half-written.
	reingestHeldReads = 20
)

// reingestBanner is the ID of banner j (1 to reingestEarners, then two
// clicked banners that never convert) of campaign id.
func reingestBanner(id int64, j int) int64 { return id*100 + int64(j) }

// reingestCampaign is campaign id's read model, its banner j earning rank(j)
// units, and the IDs of its top 10, sorted: what it must be served.
func reingestCampaign(id int64, rank func(j int) int64) (banner.Campaign, []int64) {
	t := banner.NewTally()
	for j := 1; j <= reingestEarners+2; j++ {
		b := reingestBanner(id, j)
		t.Banners[b] = struct{}{}
		t.Clicks[b] = int64(j)
		if j <= reingestEarners {
			t.Revenue[b] = rank(j) * 1_000_000
		}
	}
	type ranked struct {
		id  int64
		rev int64
	}
	var all []ranked
	for j := 1; j <= reingestEarners; j++ {
		all = append(all, ranked{reingestBanner(id, j), rank(j)})
	}
	slices.SortFunc(all, func(a, b ranked) int { return cmp.Compare(b.rev, a.rev) })
	var top []int64
	for _, r := range all[:banner.MaxBanners] {
		top = append(top, r.id)
	}
	slices.Sort(top)
	return t.Campaign(banner.Key{CampaignID: id, Quarter: reingestQuarter}), top
}

// reingestData is one dataset: the campaigns to load and, per campaign,
// the banners it must be served (absent: it must answer 404).
type reingestData struct {
	campaigns []banner.Campaign
	top       map[int64][]int64
}

func (d *reingestData) add(id int64, rank func(j int) int64) {
	c, top := reingestCampaign(id, rank)
	d.campaigns = append(d.campaigns, c)
	d.top[id] = top
}

// reingestDatasets returns the old and the new data.
func reingestDatasets() (old, new *reingestData) {
	old = &reingestData{top: map[int64][]int64{}}
	new = &reingestData{top: map[int64][]int64{}}
	highFirst := func(j int) int64 { return int64(reingestEarners + 1 - j) } // top 10: banners 1 to 10
	lowFirst := func(j int) int64 { return int64(j) }                        // top 10: banners 3 to 12
	for id := int64(1); id <= reingestOld; id++ {
		old.add(id, highFirst)
	}
	for id := int64(1); id <= reingestKept; id++ {
		if id%2 == 0 {
			new.add(id, lowFirst)
		} else {
			new.add(id, highFirst)
		}
	}
	for id := int64(reingestOld + 1); id <= reingestOld+reingestAdded; id++ {
		new.add(id, highFirst)
	}
	return old, new
}

// readCount is the DynamoDB store, counting the campaign reads that reach
// it, in all and per key. It is still the cache's source of generations,
// as the store `functions/api/local -table` serves is.
type readCount struct {
	*dynamo.Store
	reads  atomic.Int64
	perKey sync.Map // banner.Key → *atomic.Int64
	// failed holds the errors of the reads that failed, as strings.
	failed sync.Map
}

func (r *readCount) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	r.reads.Add(1)
	n, _ := r.perKey.LoadOrStore(k, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	c, err := r.Store.Campaign(ctx, k)
	if err != nil && !errors.Is(err, banner.ErrNotFound) {
		r.failed.Store(err.Error(), true)
	}
	return c, err
}

// failures returns the distinct errors of the reads that failed.
func (r *readCount) failures() []string {
	var errs []string
	r.failed.Range(func(k, _ any) bool {
		errs = append(errs, k.(string))
		return true
	})
	return errs
}

// readsOf returns how many reads of k reached the store.
func (r *readCount) readsOf(k banner.Key) int64 {
	n, ok := r.perKey.Load(k)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// reingestJudge checks answers against the old and the new data and keeps
// count.
type reingestJudge struct {
	old, new *reingestData
	// answers counts every answer; oldSeen and newSeen the 200 answers
	// that fit only the old or only the new data.
	answers, oldSeen, newSeen atomic.Int64
	// wrong counts answers that fit neither; serverErrors the 5xx among
	// them; failed the requests that got no answer.
	wrong, serverErrors, failed atomic.Int64

	mu       sync.Mutex
	examples []string
}

func (j *reingestJudge) note(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.examples) < 10 {
		j.examples = append(j.examples, fmt.Sprintf(format, args...))
	}
}

// reingestAnswer is what one request got: the status and, for a 200, the
// banners served, sorted.
type reingestAnswer struct {
	code    int
	banners []int64
}

// ask requests campaign id's banners in the test's quarter and checks the
// answer fits the old or the new data. It returns the answer and whether
// it was a well-formed one.
func (j *reingestJudge) ask(client *http.Client, base string, id int64) (reingestAnswer, bool) {
	resp, err := client.Get(base + "/api/campaigns/" + strconv.FormatInt(id, 10) + "/banners?quarter=" + strconv.Itoa(int(reingestQuarter)))
	if err != nil {
		j.failed.Add(1)
		j.note("campaign %d: %v", id, err)
		return reingestAnswer{}, false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		j.failed.Add(1)
		j.note("campaign %d: reading the answer: %v", id, err)
		return reingestAnswer{}, false
	}
	j.answers.Add(1)
	a := reingestAnswer{code: resp.StatusCode}
	oldTop, inOld := j.old.top[id]
	newTop, inNew := j.new.top[id]
	switch {
	case a.code >= 500:
		j.serverErrors.Add(1)
		j.wrong.Add(1)
		j.note("campaign %d: %d %s", id, a.code, body)
		return a, false
	case a.code == http.StatusNotFound:
		if inOld && inNew {
			j.wrong.Add(1)
			j.note("campaign %d: 404, but it is in the old and the new data", id)
			return a, false
		}
		return a, true
	case a.code != http.StatusOK:
		j.wrong.Add(1)
		j.note("campaign %d: %d %s", id, a.code, body)
		return a, false
	}
	if v := reingestShape(id, resp.Header, body); v != nil {
		j.wrong.Add(1)
		j.note("campaign %d: %v", id, v)
		return a, false
	}
	a.banners = reingestIDs(body)
	fitsOld := inOld && slices.Equal(a.banners, oldTop)
	fitsNew := inNew && slices.Equal(a.banners, newTop)
	switch {
	case fitsOld && !fitsNew:
		j.oldSeen.Add(1)
	case fitsNew && !fitsOld:
		j.newSeen.Add(1)
	case !fitsOld && !fitsNew:
		j.wrong.Add(1)
		j.note("campaign %d: banners %v, old top 10 %v, new %v", id, a.banners, oldTop, newTop)
		return a, false
	}
	return a, true
}

// reingestShape checks a 200 answer's form with the load generator's
// checker: JSON shape, echo, image URLs, no duplicates, cookie.
func reingestShape(id int64, h http.Header, body []byte) *violation {
	_, v := check(request{Campaign: id, Quarter: int(reingestQuarter)}, answer{Code: http.StatusOK, Header: h, Body: body})
	return v
}

// reingestIDs returns the banner IDs of a well-formed answer, sorted.
func reingestIDs(body []byte) []int64 {
	var got bannersAnswer
	if err := json.Unmarshal(body, &got); err != nil {
		return nil
	}
	var ids []int64
	for _, b := range got.Banners {
		ids = append(ids, *b.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestReingestUnderLoad re-ingests a quarter while eight clients ask the
// local server on DynamoDB (cache TTL 15 min, freshness by the quarter's
// generation, as `functions/api/local -table` runs) for its campaigns:
// every answer fits the old data or the new one, never a 5xx, never a 404
// for a campaign in both; the reload is held half-written until reads
// have reached DynamoDB in that state. Within 10 s of PutQuarter
// returning, a changed top 10, vanished campaigns (404) and new campaigns
// are served as the new data says.
func TestReingestUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of load")
	}
	old, new := reingestDatasets()
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	retryer := func(o *dynamodb.Options) { o.Retryer = dynamo.NewRetryer() }
	table := srv.NewTable(t, srv.Client(retryer))
	_, err := dynamo.New(srv.Client(retryer), table).PutQuarter(t.Context(), reingestQuarter, old.campaigns)
	require.NoError(t, err)

	// The server's store has its own connections, closed at the end.
	dynTr := http.DefaultTransport.(*http.Transport).Clone()
	store := &readCount{Store: dynamo.New(srv.Client(retryer, func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: dynTr}
	}), table)}
	// The deployed TTL. The read deadline is longer than the deployed 2 s:
	// a starved machine's dynalite can take that long for a read, and the
	// deadline's 503 (TestDynamoDBGoneUnderLoad) is not what this test is
	// about.
	ccfg := cache.Config{TTL: 15 * time.Minute, ReadTimeout: 30 * time.Second}
	scfg, api, err := server.NewLocal(server.Local{Store: store, Cache: ccfg}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	base, stopServer, err := serve(scfg)
	require.NoError(t, err)
	defer func() {
		require.NoError(t, stopServer())
		api.Close()
		dynTr.CloseIdleConnections()
	}()

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	judge := &reingestJudge{old: old, new: new}

	// Eight clients go through the campaigns of both datasets in one
	// shuffled order: the first half of it over and over until the
	// reload is held, then on from the second half, so that reads of
	// campaigns never asked before reach DynamoDB while the reload is
	// held, however fast the clients are. Later passes are answered from
	// the cache.
	var ids []int64
	for id := int64(1); id <= reingestOld+reingestAdded; id++ {
		ids = append(ids, id)
	}
	rand.New(rand.NewPCG(19, 2026)).Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
	half := int64(len(ids) / 2)
	var (
		held        atomic.Bool
		before, got atomic.Int64
	)
	pick := func() int64 {
		if !held.Load() {
			return ids[before.Add(1)%half]
		}
		return ids[(half+got.Add(1)-1)%int64(len(ids))]
	}
	load, stopLoad := context.WithCancel(context.Background())
	var clients sync.WaitGroup
	for range 8 {
		clients.Go(func() {
			for load.Err() == nil {
				judge.ask(client, base, pick())
			}
		})
	}
	defer func() { stopLoad(); clients.Wait() }()
	waitFor := func(what string, cond func() bool) error {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		// The bound only ends a test that never gets there.
		for deadline := time.Now().Add(time.Minute); !cond(); {
			if time.Now().After(deadline) {
				return fmt.Errorf("no %s within a minute", what)
			}
			<-tick.C
		}
		return nil
	}
	require.NoError(t, waitFor("answers before the reload", func() bool { return judge.answers.Load() >= 50 }))

	// The watched campaigns are in the cache with the old data (or its
	// 404) before the reload: answered once without a read reaching
	// DynamoDB.
	watched := map[int64]string{
		2: "changed", reingestOld / 2: "changed", reingestKept: "changed",
		1: "unchanged", reingestKept - 1: "unchanged",
		reingestKept + 1: "vanished", reingestOld: "vanished",
		reingestOld + 1: "new", reingestOld + reingestAdded: "new",
	}
	for id := range watched {
		k := banner.Key{CampaignID: id, Quarter: reingestQuarter}
		want := reingestAnswer{code: http.StatusNotFound}
		if top, ok := old.top[id]; ok {
			want = reingestAnswer{code: http.StatusOK, banners: top}
		}
		var got reingestAnswer
		require.NoError(t, waitFor(fmt.Sprintf("cache hit for campaign %d", id), func() bool {
			before := store.readsOf(k)
			got, _ = judge.ask(client, base, id)
			api.Cache.Wait()
			return before > 0 && store.readsOf(k) == before
		}))
		require.Equal(t, want, got, "campaign %d before the reload", id)
	}

	// The reload, through the ingest's write path, is held at its first
	// batch of campaign items (the first batch writes the manifest page)
	// until the clients' reads have reached DynamoDB while part of the
	// quarter is new and the vanished campaigns are still there.
	var heldReads int64
	hook := &dynamotest.HookClient{Operation: "BatchWriteItem", Before: func(n int) error {
		if n != 2 {
			return nil
		}
		from := store.reads.Load()
		held.Store(true)
		err := waitFor("reads while the reload is held", func() bool { return store.reads.Load() >= from+reingestHeldReads })
		heldReads = store.reads.Load() - from
		return err
	}}
	writer := dynamo.New(srv.Client(retryer, func(o *dynamodb.Options) { o.HTTPClient = hook }), table)
	st, err := writer.PutQuarter(t.Context(), reingestQuarter, new.campaigns)
	returned := time.Now()
	require.NoError(t, err)
	require.Equal(t, reingestKept+reingestAdded, st.Put)
	require.Equal(t, reingestOld-reingestKept, st.Deleted)

	// Within 10 s the watched campaigns answer as the new data says. The
	// clients keep asking meanwhile: lookups drive the cache's generation
	// reads.
	pending := map[int64]reingestAnswer{}
	for id := range watched {
		pending[id] = reingestAnswer{}
	}
	deadline := returned.Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 && time.Now().Before(deadline) {
		for id := range pending {
			got, _ := judge.ask(client, base, id)
			want := reingestAnswer{code: http.StatusNotFound}
			if top, ok := new.top[id]; ok {
				want = reingestAnswer{code: http.StatusOK, banners: top}
			}
			// An answer that comes after the deadline is late, right or not.
			if got.code == want.code && slices.Equal(got.banners, want.banners) && time.Now().Before(deadline) {
				delete(pending, id)
			} else {
				pending[id] = got
			}
		}
		<-tick.C
	}
	took := time.Since(returned)
	for id, got := range pending {
		t.Errorf("%s campaign %d: not served as the new data says 10 s after the reload returned: last %d %v, want %v",
			watched[id], id, got.code, got.banners, new.top[id])
	}

	stopLoad()
	clients.Wait()
	judge.mu.Lock()
	examples := judge.examples
	judge.mu.Unlock()
	require.Zero(t, judge.wrong.Load(), "answers fitting neither the old nor the new data (%d of them 5xx): %v; failed reads: %v",
		judge.serverErrors.Load(), examples, store.failures())
	require.Zero(t, judge.failed.Load(), "requests without an answer: %v", examples)
	require.GreaterOrEqual(t, heldReads, int64(reingestHeldReads))
	require.Positive(t, judge.oldSeen.Load(), "answers of the old data")
	require.Positive(t, judge.newSeen.Load(), "answers of the new data")
	t.Logf("reload of %d campaigns into %d (%d deleted) under 8 clients: %d answers (%d of the old data only, %d of the new only), "+
		"%d reads reached DynamoDB while it was held half-written, %d of %d watched campaigns not served as new %s after it returned",
		reingestOld, st.Put, st.Deleted, judge.answers.Load(), judge.oldSeen.Load(), judge.newSeen.Load(),
		heldReads, len(pending), len(watched), took.Round(time.Millisecond))
}
