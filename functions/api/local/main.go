// Command local is the Banners local server: the site, the images and the
// API on one address, through the cache, over a CSV folder, the built-in
// sample data or a DynamoDB table (configured by the SDK's standard
// settings, such as AWS_ENDPOINT_URL_DYNAMODB and AWS_PROFILE). It traces
// with X-Ray only when AWS_XRAY_DAEMON_ADDRESS is set.
//
//	go run ./functions/api/local [-addr 127.0.0.1:8080] [-data DIR | -table NAME] [-cache-ttl 60s] [-images DIR] [-site DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"banners/internal/app"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/images"
	"banners/internal/sample"
	"banners/internal/server"
	"banners/internal/tracing"
)

func main() {
	// Buffer the per-request lines: a busy server pays no write system call
	// for each. (Not in Lambda, where a frozen process would hold them back.)
	lw := server.NewLogWriter(os.Stderr, 200*time.Millisecond)
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(lw, nil)))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], log, lw)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		log.Error("local server failed", "err", err)
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
// Its access log goes to accessLog.
func run(ctx context.Context, args []string, log *slog.Logger, accessLog io.Writer) error {
	fl := flag.NewFlagSet("local", flag.ContinueOnError)
	var l server.Local
	addr := fl.String("addr", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&l.DataDir, "data", "", "folder of CSV files in the layout <q>/<kind>_<q>.csv (default: the built-in sample data)")
	table := fl.String("table", "", "serve from this DynamoDB table instead of CSV data (endpoint from AWS_ENDPOINT_URL_DYNAMODB or the SDK's other standard settings)")
	cacheTTL := fl.String("cache-ttl", cache.DefaultTTL.String(), "how long a campaign is served from memory before the store is asked again, a Go duration")
	fl.StringVar(&l.ImagesDir, "images", "", "folder of image_<id>.png banners (default: generated placeholders)")
	fl.StringVar(&l.SiteDir, "site", "", "folder of the site's files (default: the built-in copy of site/)")
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
	if *table != "" && l.DataDir != "" {
		return errors.New("-data and -table exclude each other")
	}
	ttl, err := cache.ParseTTL(*cacheTTL)
	if err != nil {
		return fmt.Errorf("-cache-ttl: %w", err)
	}
	l.Cache.TTL = ttl
	// X-Ray only with a daemon to send to; the SDK stays quiet otherwise.
	l.Traced = os.Getenv("AWS_XRAY_DAEMON_ADDRESS") != ""
	l.AccessLog = accessLog
	if *table != "" {
		awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(dynamo.NewRetryer))
		if err != nil {
			return fmt.Errorf("load AWS config: %w", err)
		}
		l.Store = app.OpenDynamo(awsCfg, *table, l.Traced)
		log.Info("serving from DynamoDB", "table", *table)
	}

	cfg, api, err := server.NewLocal(l, log)
	if err != nil {
		return err
	}
	defer api.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return server.Run(ctx, cfg, ln)
}
