// Command api serves Banners. Outside Lambda it is the local server: the
// site, the images and the API on one address, from a CSV folder or the
// built-in sample data.
//
//	go run ./functions/api [-addr 127.0.0.1:8080] [-data DIR] [-images DIR] [-site DIR]
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

	"banners/internal/csvload"
	"banners/internal/httpapi"
	"banners/internal/images"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/server"
	"banners/site"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if err := run(ctx, os.Args[1:], log); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		log.Error("api failed", "err", err)
		os.Exit(1)
	}
}

// run parses the flags, wires the server once and serves until ctx is done.
func run(ctx context.Context, args []string, log *slog.Logger) error {
	fl := flag.NewFlagSet("api", flag.ContinueOnError)
	addr := fl.String("addr", "127.0.0.1:8080", "address to listen on")
	dataDir := fl.String("data", "", "folder of CSV files in the layout <q>/<kind>_<q>.csv (default: the built-in sample data)")
	imagesDir := fl.String("images", "", "folder of image_<id>.png banners (default: generated placeholders)")
	siteDir := fl.String("site", "", "folder of the site's files (default: the built-in copy of site/)")
	writeData := fl.String("write-data", "", "write the built-in sample data as CSV files into this folder and exit")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *writeData != "" {
		return sample.WriteDir(*writeData)
	}

	store, err := loadStore(*dataDir, log)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Addr:   *addr,
		API:    httpapi.New(store, httpapi.Options{Logger: log}),
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

var _ http.Handler = (*httpapi.Handler)(nil)
