package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"banners/internal/dynamo"
	"banners/internal/ingest"
	"banners/internal/tracing"
)

// newHandler wires the Lambda function once, at cold start: the memory limit,
// X-Ray, the DynamoDB store on TABLE_NAME, S3 and JSON logs on stdout.
func newHandler(ctx context.Context, getenv func(string) string) (*ingest.Handler, error) {
	table := getenv("TABLE_NAME")
	if table == "" {
		return nil, errors.New("TABLE_NAME is not set")
	}
	if limit, ok := memoryLimit(getenv); ok {
		debug.SetMemoryLimit(limit)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := awsConfig(ctx, log)
	if err != nil {
		return nil, err
	}
	return &ingest.Handler{
		Store: dynamo.New(dynamodb.NewFromConfig(cfg), table).
			WithProgress(ingest.LogProgress(log, 30*time.Second, time.Now)),
		S3:  newS3(cfg, getenv),
		Log: log,
	}, nil
}

// run is the command-line loader: it loads -data into -table, creating it
// first with -create, and prints an ingest.Summary to stdout; rejected rows
// and progress go to stderr (on a terminal one line redrawn, else a line
// every 10 s of a quarter's writes). With AWS_XRAY_DAEMON_ADDRESS set the
// run is traced in a segment "banners-ingest".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fl := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fl.SetOutput(stderr)
	table := fl.String("table", os.Getenv("TABLE_NAME"), "DynamoDB table `name` (default $TABLE_NAME)")
	dir := fl.String("data", "", "`dir`ectory holding <q>/<kind>_<q>.csv for quarters 1 to 4")
	create := fl.Bool("create", false, "create the table (on demand, pk/sk) if it does not exist")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *table == "" || *dir == "" {
		fl.Usage()
		return errors.New("both -table (or TABLE_NAME) and -data are needed")
	}
	term := ingest.Terminal(stderr)
	logTo := stderr
	if term {
		logTo = clearLine{stderr}
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	cfg, err := awsConfig(ctx, log)
	if err != nil {
		return err
	}
	if os.Getenv("AWS_XRAY_DAEMON_ADDRESS") != "" {
		var done func(error)
		ctx, done = tracing.Segment(ctx, "banners-ingest")
		defer func() { done(err) }()
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), *table)
	if *create {
		if err := store.CreateTable(ctx); err != nil {
			return err
		}
	}
	fsys := os.DirFS(*dir)
	stopDrawing := func() {}
	if term {
		p := ingest.NewProgress()
		store, fsys = store.WithProgress(p.Written), p.FS(fsys)
		drawing, stop := context.WithCancel(ctx)
		drawn := make(chan struct{})
		go func() { p.Draw(drawing, stderr, 250*time.Millisecond); close(drawn) }()
		stopDrawing = func() { stop(); <-drawn }
	} else {
		store = store.WithProgress(ingest.LogProgress(log, 10*time.Second, time.Now))
	}
	sum, err := ingest.LoadFS(ctx, store, fsys, log)
	stopDrawing()
	if err != nil {
		return fmt.Errorf("load %s: %w", *dir, err)
	}
	_, err = fmt.Fprint(stdout, sum)
	return err
}

// awsConfig sets X-Ray up (its complaints to log) and loads the SDK
// configuration with the service's retryer and a subsegment per AWS call.
func awsConfig(ctx context.Context, log *slog.Logger) (aws.Config, error) {
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return aws.Config{}, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(dynamo.NewRetryer))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	tracing.InstrumentAWS(&cfg)
	return cfg, nil
}

// newS3 returns an S3 client for cfg, with path-style addresses (no DNS
// per bucket) under a custom endpoint (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL).
func newS3(cfg aws.Config, getenv func(string) string) *s3.Client {
	custom := getenv("AWS_ENDPOINT_URL_S3") != "" || getenv("AWS_ENDPOINT_URL") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = custom
		// Objects without a checksum (as moto serves them) would log a
		// debug line on every read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// clearLine writes to a terminal over the progress line: it clears the
// line first, and Draw writes the progress again below.
type clearLine struct{ io.Writer }

func (c clearLine) Write(p []byte) (int, error) {
	if _, err := c.Writer.Write(append([]byte("\r\x1b[K"), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// memoryLimit returns the Go runtime's soft memory limit for the function,
// 90% of AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB) unless GOMEMLIMIT sets one,
// so the heap does not grow to twice what is live: a million-campaign
// quarter peaks at 1.6–1.8 GB without a limit, 1.2 GB with 1,000 MiB (bench/ingest).
func memoryLimit(getenv func(string) string) (int64, bool) {
	mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 || getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	return mb << 20 / 10 * 9, true
}
