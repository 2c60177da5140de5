package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/images"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/tracing"
	"banners/site"
)

// Local is the local server's settings (the flags of functions/api/local).
type Local struct {
	// Store, when set, is served as it is (such as a DynamoDB table).
	Store banner.Store
	// DataDir is a CSV folder in the layout <q>/<kind>_<q>.csv, excluding
	// Store. Without either: the built-in sample.
	DataDir string
	// Cache tunes the cache.
	Cache cache.Config
	// ImagesDir is a folder of image_<id>.png files. Default: placeholders.
	ImagesDir string
	// SiteDir is a folder holding the site. Default: the built-in site/.
	SiteDir string
	// Traced sends X-Ray segments (to AWS_XRAY_DAEMON_ADDRESS).
	Traced bool
	// AccessLog gets a JSON line per request; nil: none.
	AccessLog io.Writer
}

// NewLocal builds the local server's configuration: the site, the images
// and the API over the store that l names, logging to log and its access
// log to l.AccessLog. Close the API once the server has stopped.
func NewLocal(l Local, log *slog.Logger) (Config, *app.API, error) {
	if l.Store != nil && l.DataDir != "" {
		return Config{}, nil, errors.New("a store and a data folder exclude each other")
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return Config{}, nil, err
	}
	store := l.Store
	if store == nil {
		s, err := LoadCSV(l.DataDir, log)
		if err != nil {
			return Config{}, nil, err
		}
		store = s
	}
	api, err := app.New(store, app.Config{Cache: l.Cache, Traced: l.Traced, Logger: log})
	if err != nil {
		return Config{}, nil, err
	}
	// Its access lines carry no trace ID: the access log wraps the whole
	// server, outside the segment tracing.Handler opens for an API request.
	cfg := Config{API: api.Handler, Images: images.Placeholders{}, Site: site.FS, Logger: log, AccessLog: l.AccessLog}
	if l.Traced {
		cfg.API = tracing.Handler(app.SegmentName, api.Handler)
	}
	if l.ImagesDir != "" {
		cfg.Images = images.Dir(l.ImagesDir)
	}
	if l.SiteDir != "" {
		cfg.Site = os.DirFS(l.SiteDir)
	}
	return cfg, api, nil
}

// LoadCSV reads the CSV folder dir, or the built-in sample data when dir is
// empty, into memory, logging rejected rows (the first 100) and a summary.
func LoadCSV(dir string, log *slog.Logger) (*memory.Store, error) {
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
