// Command api serves Banners.
//
// Inside Lambda (AWS_LAMBDA_RUNTIME_API is set) it is the API function
// behind a function URL: the API handler over DynamoDB
// through an in-memory cache, traced with X-Ray. Its environment:
//
//	TABLE_NAME      the DynamoDB table (required)
//	CACHE_TTL       how long a campaign is served from memory, a Go duration (default 60s)
//	IMAGE_BASE_URL  prefix of the banners' image URLs (default /images/)
//
// Outside Lambda it is the local server: the site, the images and the API
// on one address, from a CSV folder, the built-in sample data or a
// DynamoDB table (endpoint from the SDK's standard settings, such as
// AWS_ENDPOINT_URL_DYNAMODB), always through the same cache. Requests are
// traced with X-Ray only when AWS_XRAY_DAEMON_ADDRESS is set.
//
//	go run ./functions/api [-addr 127.0.0.1:8080] [-data DIR | -table NAME] [-cache-ttl 60s] [-images DIR] [-site DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/images"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/server"
	"banners/internal/tracing"
	"banners/site"
)

func main() {
	start := time.Now()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		h, err := newLambda(context.Background(), os.Getenv, log)
		if err != nil {
			log.Error("cold start failed", "err", err)
			os.Exit(1)
		}
		log.Info("cold start", "init_duration", time.Since(start))
		lambda.Start(h.Handle)
		return
	}

	// The local server logs a line per request: buffer them, so that a busy
	// server does not pay a write system call for each. (Not in Lambda,
	// where a frozen process would hold its lines back.)
	lw := server.NewLogWriter(os.Stderr, 200*time.Millisecond)
	log = slog.New(slog.NewJSONHandler(lw, nil))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], log)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		log.Error("api failed", "err", err)
	}
	lw.Close() //nolint:errcheck // stderr is gone; nowhere to report
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		os.Exit(1)
	}
}

// run parses the flags, wires the server once and serves until ctx is done.
func run(ctx context.Context, args []string, log *slog.Logger) error {
	fl := flag.NewFlagSet("api", flag.ContinueOnError)
	addr := fl.String("addr", "127.0.0.1:8080", "address to listen on")
	dataDir := fl.String("data", "", "folder of CSV files in the layout <q>/<kind>_<q>.csv (default: the built-in sample data)")
	table := fl.String("table", "", "serve from this DynamoDB table instead of CSV data (endpoint from AWS_ENDPOINT_URL_DYNAMODB or the SDK's other standard settings)")
	cacheTTL := fl.Duration("cache-ttl", cache.DefaultTTL, "how long a campaign is served from memory before the store is asked again")
	imagesDir := fl.String("images", "", "folder of image_<id>.png banners (default: generated placeholders)")
	siteDir := fl.String("site", "", "folder of the site's files (default: the built-in copy of site/)")
	writeData := fl.String("write-data", "", "write the built-in sample data as CSV files into this folder and exit")
	writePlaceholders := fl.String("write-placeholders", "", "write placeholder images for the sample data's banners into this folder and exit (the deploy ships them when no real images are given)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *writePlaceholders != "" {
		return images.WritePlaceholders(*writePlaceholders, sample.BannerIDs())
	}
	if *writeData != "" {
		return sample.WriteDir(*writeData)
	}

	if *table != "" && *dataDir != "" {
		return errors.New("-data and -table exclude each other")
	}
	if *cacheTTL <= 0 {
		return errors.New("-cache-ttl must be positive")
	}

	// X-Ray only with a daemon to send to; the SDK stays quiet otherwise.
	traced := os.Getenv("AWS_XRAY_DAEMON_ADDRESS") != ""
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return err
	}
	var store banner.Store
	if *table != "" {
		s, err := newDynamoStore(ctx, *table, traced)
		if err != nil {
			return err
		}
		log.Info("serving from DynamoDB", "table", *table)
		store = s
	} else {
		s, err := loadStore(*dataDir, log)
		if err != nil {
			return err
		}
		store = s
	}
	api, c, err := newAPI(store, apiConfig{Cache: cache.Config{TTL: *cacheTTL}, Traced: traced, Logger: log})
	if err != nil {
		return err
	}
	defer c.Close()
	var apiHandler http.Handler = api
	if traced {
		apiHandler = tracing.Handler(segmentName, api)
	}
	cfg := server.Config{
		Addr:   *addr,
		API:    apiHandler,
		Images: images.Placeholders{},
		Site:   site.FS,
		Logger: log,
	}
	if *imagesDir != "" {
		cfg.Images = images.Dir(*imagesDir)
	}
	if *siteDir != "" {
		cfg.Site = os.DirFS(*siteDir)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return server.Run(ctx, cfg, ln)
}

// loadStore reads the CSV folder, or the sample data, into memory.
func loadStore(dir string, log *slog.Logger) (*memory.Store, error) {
	var fsys fs.FS = sample.FS()
	source := "built-in sample data"
	if dir != "" {
		fsys, source = os.DirFS(dir), dir
	}
	start := time.Now()
	rejected := 0
	campaigns, report, err := csvload.LoadFS(fsys, func(r csvload.Rejection) {
		if rejected++; rejected <= 100 {
			log.Warn("row rejected", "file", r.File, "line", r.Line, "reason", string(r.Reason), "row", r.Row)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", source, err)
	}
	for _, f := range report.Files {
		log.Info("file loaded", "file", f.Name, "accepted", f.Accepted, "rejected", f.Rejected)
	}
	store := memory.New(campaigns)
	log.Info("data loaded", "source", source, "rows_accepted", report.Accepted(), "rows_rejected", report.Rejected(),
		"campaign_quarters", store.Len(), "duration", time.Since(start))
	return store, nil
}
