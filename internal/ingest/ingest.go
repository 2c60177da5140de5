// Package ingest loads the assignment's CSV files into the DynamoDB read
// model: from S3 inside Lambda, on every ObjectCreated event, and from a
// local directory in the command-line tool.
//
// A load always recomputes a whole quarter from all three of its current
// files and replaces the quarter in the table (dynamo.Store.PutQuarter).
// That makes it idempotent, independent of the order files arrive in and
// safe to retry: S3 delivers events at least once, and a conversions file
// uploaded before its clicks is loaded again, complete, when the clicks
// arrive.
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-xray-sdk-go/xray"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
)

// quarterWriter replaces a quarter's campaigns in the table.
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
	if m == nil || m[2] != m[4] {
		return "", 0, "", false
	}
	prefix = m[1]
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		return "", 0, "", false
	}
	n, _ := strconv.Atoi(m[2])
	return prefix, banner.Quarter(n), csvload.Kind(m[3]), true
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

// logFile logs one file's counts.
func logFile(log *slog.Logger, f csvload.FileStats) {
	reasons := make(map[string]int, len(f.Rejected))
	rejected := 0
	for r, n := range f.Rejected {
		reasons[string(r)] = n
		rejected += n
	}
	log.Info("file read", "file", f.Name, "accepted", f.Accepted, "rejected", rejected, "reasons", reasons)
}

// put writes q's campaigns inside an X-Ray subsegment and logs the result.
func put(ctx context.Context, w quarterWriter, log *slog.Logger, q banner.Quarter, campaigns []banner.Campaign) (dynamo.WriteStats, error) {
	var st dynamo.WriteStats
	err := xray.Capture(ctx, "put quarter "+strconv.Itoa(int(q)), func(ctx context.Context) error {
		start := time.Now()
		var err error
		st, err = w.PutQuarter(ctx, q, campaigns)
		annotate(ctx, "quarter", int(q), "campaigns", len(campaigns), "put", st.Put, "deleted", st.Deleted, "unchanged", st.Unchanged)
		metadata(ctx, "write", st)
		if err != nil {
			return fmt.Errorf("quarter %d: %w", q, err)
		}
		log.Info("quarter written", "quarter", int(q), "campaigns", len(campaigns),
			"put", st.Put, "deleted", st.Deleted, "unchanged", st.Unchanged,
			"batches", st.Batches, "retries", st.Retries,
			"elapsed", time.Since(start).Round(time.Millisecond).String())
		return nil
	})
	return st, err
}

// annotate adds X-Ray annotations (indexed: key, value pairs) to the
// current segment, if there is one.
func annotate(ctx context.Context, kv ...any) {
	seg := xray.GetSegment(ctx)
	if seg == nil {
		return
	}
	for i := 0; i+1 < len(kv); i += 2 {
		_ = seg.AddAnnotation(fmt.Sprint(kv[i]), kv[i+1])
	}
}

// metadata adds X-Ray metadata (not indexed, any JSON) to the current
// segment, if there is one.
func metadata(ctx context.Context, key string, v any) {
	if seg := xray.GetSegment(ctx); seg != nil {
		_ = seg.AddMetadata(key, v)
	}
}
