package ingest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-xray-sdk-go/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
)

// Summary is the outcome of loading a directory.
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
		fmt.Fprintf(&b, "quarter %d: %d items put, %d deleted, unchanged %t, %d batches, %d retries\n",
			q.Quarter, q.Put, q.Deleted, q.Unchanged, q.Batches, q.Retries)
	}
	fmt.Fprintf(&b, "items written: %d put, %d deleted; elapsed %s\n",
		s.Total.Put, s.Total.Deleted, s.Elapsed.Round(time.Millisecond))
	return b.String()
}

// LoadDir loads all four quarters from dir, in the assignment's layout
// ("<q>/<kind>_<q>.csv"), with csvload.LoadFS, and replaces each quarter
// in w. Rejected rows are logged to log. Every file must exist.
func LoadDir(ctx context.Context, w quarterWriter, dir string, log *slog.Logger) (*Summary, error) {
	start := time.Now()
	var (
		campaigns []banner.Campaign
		report    *csvload.Report
	)
	err := xray.Capture(ctx, "read files", func(ctx context.Context) error {
		var err error
		campaigns, report, err = csvload.LoadFS(os.DirFS(dir), logRejections(log))
		if err != nil {
			return fmt.Errorf("load %s: %w", dir, err)
		}
		annotate(ctx, "dir", dir, "accepted", report.Accepted(), "rejected", report.Rejected())
		metadata(ctx, "files", report.Files)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range report.Files {
		logFile(log, f)
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

// CLI runs the command-line loader:
//
//	ingest -table NAME -data DIR [-create]
//
// It loads DIR into the table NAME (default $TABLE_NAME), creating the
// table first with -create, and prints a Summary to stdout; rejected rows
// and progress are logged to stderr. The DynamoDB endpoint comes from the
// SDK's standard settings, such as AWS_ENDPOINT_URL_DYNAMODB.
func CLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", os.Getenv("TABLE_NAME"), "DynamoDB table `name` (default $TABLE_NAME)")
	dir := fs.String("data", "", "`dir`ectory holding <q>/<kind>_<q>.csv for quarters 1 to 4")
	create := fs.Bool("create", false, "create the table (on demand, pk/sk) if it does not exist")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if *table == "" || *dir == "" {
		fs.Usage()
		return errors.New("both -table (or TABLE_NAME) and -data are needed")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	ctx, done := traceCLI(ctx, stderr)
	var err error
	defer func() { done(err) }()

	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), *table)
	if *create {
		if err = store.CreateTable(ctx); err != nil {
			return err
		}
	}
	sum, err := LoadDir(ctx, store, *dir, log)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(stdout, sum)
	return err
}

// traceCLI sets X-Ray up for a run outside Lambda. With a daemon address
// in AWS_XRAY_DAEMON_ADDRESS it begins a segment for the run and returns
// a function that closes it; without, it tells X-Ray to ignore the missing
// segment quietly, and traces nothing.
func traceCLI(ctx context.Context, stderr io.Writer) (context.Context, func(error)) {
	xray.SetLogger(xraylog.NewDefaultLogger(stderr, xraylog.LogLevelWarn))
	if os.Getenv("AWS_XRAY_DAEMON_ADDRESS") == "" {
		_ = xray.Configure(xray.Config{ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy()})
		return ctx, func(error) {}
	}
	ctx, seg := xray.BeginSegment(ctx, "banners-ingest")
	return ctx, func(err error) { seg.Close(err) }
}
