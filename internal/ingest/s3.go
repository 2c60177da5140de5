package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/tracing"
)

// objectGetter reads one object from S3; *s3.Client is one.
type objectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Handler loads quarters from S3 on S3 ObjectCreated events. Build it once
// and use it for every event.
type Handler struct {
	// Store receives each recomputed quarter.
	Store quarterWriter
	// S3 reads the CSV files.
	S3 objectGetter
	// Log receives one line per rejected row, file and quarter.
	Log *slog.Logger
}

// target is one quarter of one upload location.
type target struct {
	bucket, prefix string
	q              banner.Quarter
}

// Handle loads every quarter an event names, once each. Records that are
// not ObjectCreated, or whose key is not "<prefix><q>/<kind>_<q>.csv", are
// logged and ignored: retrying them could never help. It returns an error
// if any quarter could not be loaded, so Lambda retries the event; a retry
// recomputes the quarter, which is safe.
func (h *Handler) Handle(ctx context.Context, ev events.S3Event) error {
	var targets []target
	for _, rec := range ev.Records {
		key := rec.S3.Object.URLDecodedKey
		if key == "" {
			var err error
			if key, err = url.QueryUnescape(rec.S3.Object.Key); err != nil {
				h.Log.Warn("object ignored: key not URL-encoded", "bucket", rec.S3.Bucket.Name, "key", rec.S3.Object.Key)
				continue
			}
		}
		if !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
			h.Log.Info("event ignored", "event", rec.EventName, "bucket", rec.S3.Bucket.Name, "key", key)
			continue
		}
		prefix, q, _, ok := ParseKey(key)
		if !ok {
			h.Log.Warn("object ignored: key not <prefix><q>/<kind>_<q>.csv", "bucket", rec.S3.Bucket.Name, "key", key)
			continue
		}
		t := target{bucket: rec.S3.Bucket.Name, prefix: prefix, q: q}
		if !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	var errs []error
	for _, t := range targets {
		errs = append(errs, h.loadQuarter(ctx, t.bucket, t.prefix, t.q))
	}
	return errors.Join(errs...) // nil when every quarter loaded
}

// loadQuarter reads the three current files of quarter q under prefix in
// bucket, treating a file not uploaded yet as empty, and replaces the
// quarter in the store. A file that cannot be read, or whose header is
// wrong, fails the load and nothing is written.
func (h *Handler) loadQuarter(ctx context.Context, bucket, prefix string, q banner.Quarter) error {
	return tracing.Capture(ctx, "load quarter", func(ctx context.Context) error {
		start := time.Now()
		annotate(ctx, "bucket", bucket, "prefix", prefix, "quarter", int(q))
		l := csvload.NewQuarter(q)
		l.OnReject = logRejections(h.Log)
		for _, k := range csvload.Kinds {
			if err := h.readObject(ctx, l, bucket, prefix+csvload.Path(k, q), k); err != nil {
				return err
			}
		}
		campaigns := l.Campaigns()
		if _, err := put(ctx, h.Store, h.Log, q, campaigns); err != nil {
			return fmt.Errorf("load s3://%s/%s: %w", bucket, prefix, err)
		}
		h.Log.Info("quarter loaded", "bucket", bucket, "prefix", prefix, "quarter", int(q),
			"accepted", l.Report.Accepted(), "rejected", l.Report.Rejected(), "campaigns", len(campaigns),
			"elapsed", time.Since(start).Round(time.Millisecond).String())
		return nil
	})
}

// readObject streams one object into l inside an X-Ray subsegment. A
// missing object is read as no rows.
func (h *Handler) readObject(ctx context.Context, l *csvload.Quarter, bucket, key string, k csvload.Kind) error {
	return tracing.Capture(ctx, "read "+string(k), func(ctx context.Context) error {
		annotate(ctx, "file", key)
		out, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if notFound(err) {
			annotate(ctx, "missing", true)
			h.Log.Info("file not uploaded yet, read as empty", "bucket", bucket, "file", key)
			return nil
		}
		if err != nil {
			return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
		}
		defer out.Body.Close()
		if err := l.Read(k, key, out.Body); err != nil {
			return fmt.Errorf("bucket %s: %w", bucket, err) // err names the key
		}
		f := l.Report.Files[len(l.Report.Files)-1]
		annotate(ctx, "accepted", f.Accepted, "rejected", logFile(h.Log, k, f))
		tracing.Metadata(ctx, "rejected_by_reason", f.Rejected)
		return nil
	})
}

// notFound reports whether err says the object does not exist.
func notFound(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound")
}
