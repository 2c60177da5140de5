// Package ingest loads the assignment's CSV files into the DynamoDB read
// model: from S3, on every ObjectCreated event (Handler), and from a file
// system holding all four quarters (LoadFS). functions/ingest wires it to
// Lambda and to the command line.
//
// A load always recomputes a whole quarter from all three of its current
// files and replaces the quarter in the table (dynamo.Store.PutQuarter).
// That makes it idempotent, independent of the order files arrive in and
// safe to retry: S3 delivers events at least once, and a conversions file
// uploaded before its clicks is loaded again, complete, when the clicks
// arrive. Each step is traced in an X-Ray subsegment through
// internal/tracing.
package ingest

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/tracing"
)

// quarterWriter replaces a quarter's campaigns in the table; *dynamo.Store
// is one.
type quarterWriter interface {
	PutQuarter(ctx context.Context, q banner.Quarter, campaigns []banner.Campaign) (dynamo.WriteStats, error)
}

// keyPattern matches "<prefix><q>/<kind>_<q>.csv".
var keyPattern = regexp.MustCompile(`^(.*?)([1-4])/(impressions|clicks|conversions)_([1-4])\.csv$`)

// ParseKey splits an object key in the assignment's layout,
// "<prefix><q>/<kind>_<q>.csv" with an empty prefix or one ending in "/",
// into its prefix, quarter and kind. ok is false for any other key.
func ParseKey(key string) (prefix string, q banner.Quarter, kind csvload.Kind, ok bool) {
	m := keyPattern.FindStringSubmatch(key)
	if m == nil || m[2] != m[4] || m[1] != "" && !strings.HasSuffix(m[1], "/") {
		return "", 0, "", false
	}
	n, _ := strconv.Atoi(m[2])
	return m[1], banner.Quarter(n), csvload.Kind(m[3]), true
}

// Summary is the outcome of LoadFS.
type Summary struct {
	// Report has the accepted and rejected rows of every file.
	Report *csvload.Report
	// Quarters has the writes of each quarter, in order.
	Quarters []dynamo.WriteStats
	// Total sums Quarters.
	Total dynamo.WriteStats
	// Elapsed is the wall time of the whole load.
	Elapsed time.Duration
}

// String prints the report, the writes per quarter and the totals.
func (s *Summary) String() string {
	var b strings.Builder
	b.WriteString(s.Report.String())
	for _, q := range s.Quarters {
		fmt.Fprintf(&b, "quarter %d: %d items put, %d deleted, unchanged %t, %d batches, %d retries, throttled %s\n",
			q.Quarter, q.Put, q.Deleted, q.Unchanged, q.Batches, q.Retries, q.Throttled.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "items written: %d put, %d deleted; elapsed %s\n",
		s.Total.Put, s.Total.Deleted, s.Elapsed.Round(time.Millisecond))
	return b.String()
}

// LoadFS loads all four quarters from fsys, in the assignment's layout
// ("<q>/<kind>_<q>.csv"), with csvload.LoadFS, and replaces each quarter
// in w; a quarter with no campaigns is written empty. Every file must
// exist. Rejected rows are logged to log.
func LoadFS(ctx context.Context, w quarterWriter, fsys fs.FS, log *slog.Logger) (*Summary, error) {
	start := time.Now()
	var (
		campaigns []banner.Campaign
		report    *csvload.Report
	)
	err := tracing.Capture(ctx, "read files", func(ctx context.Context) error {
		var err error
		campaigns, report, err = csvload.LoadFS(fsys, logRejections(log))
		if err != nil {
			return err
		}
		annotate(ctx, "accepted", report.Accepted(), "rejected", report.Rejected())
		tracing.Metadata(ctx, "files", report.Files)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range report.Files {
		_, _, kind, _ := ParseKey(f.Name) // csvload.LoadFS names files <q>/<kind>_<q>.csv
		logFile(log, kind, f)
	}

	byQuarter := make(map[banner.Quarter][]banner.Campaign, banner.Quarters)
	for _, c := range campaigns {
		byQuarter[c.Quarter] = append(byQuarter[c.Quarter], c)
	}
	sum := &Summary{Report: report}
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		st, err := put(ctx, w, log, q, byQuarter[q])
		if err != nil {
			return nil, err
		}
		sum.Quarters = append(sum.Quarters, st)
		sum.Total.Add(st)
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// logRejections returns an OnReject function that logs every rejected row
// as one structured line.
func logRejections(log *slog.Logger) func(csvload.Rejection) {
	return func(r csvload.Rejection) {
		log.Warn("row rejected",
			"at", r.File+":"+strconv.Itoa(r.Line),
			"file", r.File, "line", r.Line, "reason", string(r.Reason), "row", r.Row)
	}
}

// logFile logs one file's counts, the "file read" line, and returns its
// rejected rows. Besides file, accepted, rejected and reasons, the line
// carries the file's kind (impressions, clicks or conversions: a metric
// dimension of three values) and invalid: the rejected rows that are wrong
// in themselves, that is all but conversions of a click unknown in the
// quarter, which a later upload of the clicks file can resolve (an upload
// of conversions before clicks rejects them all at first). The operators'
// metrics and the rejected-rows alarm read these fields (cdk/observability.go).
func logFile(log *slog.Logger, kind csvload.Kind, f csvload.FileStats) int {
	rejected := 0
	for _, n := range f.Rejected {
		rejected += n
	}
	invalid := rejected - f.Rejected[csvload.UnknownClick]
	log.Info("file read", "file", f.Name, "kind", string(kind), "accepted", f.Accepted,
		"rejected", rejected, "invalid", invalid, "reasons", f.Rejected)
	return rejected
}

// put writes q's campaigns inside a subsegment and logs the result.
func put(ctx context.Context, w quarterWriter, log *slog.Logger, q banner.Quarter, campaigns []banner.Campaign) (dynamo.WriteStats, error) {
	var st dynamo.WriteStats
	err := tracing.Capture(ctx, "put quarter "+strconv.Itoa(int(q)), func(ctx context.Context) error {
		start := time.Now()
		var err error
		st, err = w.PutQuarter(ctx, q, campaigns)
		annotate(ctx, "quarter", int(q), "campaigns", len(campaigns), "put", st.Put, "deleted", st.Deleted, "unchanged", st.Unchanged)
		tracing.Metadata(ctx, "write", st)
		if err != nil {
			return err // it names the quarter
		}
		log.Info("quarter written", "quarter", int(q), "campaigns", len(campaigns),
			"put", st.Put, "deleted", st.Deleted, "unchanged", st.Unchanged,
			"batches", st.Batches, "retries", st.Retries,
			"throttled", st.Throttled.Round(time.Millisecond).String(),
			"elapsed", time.Since(start).Round(time.Millisecond).String())
		return nil
	})
	return st, err
}

// annotate records key, value pairs on the current (sub)segment.
func annotate(ctx context.Context, kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		tracing.Annotate(ctx, kv[i].(string), kv[i+1])
	}
}
