// Package app wires the Banners API once, for everything that runs it: the
// local server and the API Lambda (functions/api), and the load and soak
// tests (loadtest/). Each gets the same stack: a store, the cache in front
// of it, X-Ray when traced, and the one HTTP handler.
//
// It builds; it does not run. Starting the Lambda runtime, listening and
// exiting stay in functions/api.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/httpapi"
	"banners/internal/images"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/server"
	"banners/internal/tracing"
	"banners/site"
)

// SegmentName names the request segments (locally) and subsegments (in
// Lambda) in X-Ray.
const SegmentName = "banners-api"

// Config says how to build the API over a store. The zero value works.
type Config struct {
	// Cache tunes the cache; New sets its Annotate and Logger.
	Cache cache.Config
	// ImageBaseURL prefixes image file names in answers. Default "/images/".
	ImageBaseURL string
	// Traced adds X-Ray: the cache lookup's subsegment and the annotations.
	Traced bool
	// Now tells the time, for the current quarter. Default time.Now.
	Now func() time.Time
	// Logger receives the handler's and the cache's logs. Default
	// slog.Default().
	Logger *slog.Logger
}

// API is the handler over the cache over a store. Close it when done.
type API struct {
	// Handler answers /api/ and /campaigns/ (untraced at the request level:
	// Local and Lambda wrap it for their setting).
	Handler *httpapi.Handler
	// Cache is the cache in front of the store.
	Cache *cache.Cache
}

// New builds the API over store: the cache in front of the store, traced
// when cfg.Traced.
func New(store banner.Store, cfg Config) (*API, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The request's facts (campaign, quarter, cache outcome, banners) go
	// to its access log line, and to its trace when traced.
	annotate := server.Note
	if cfg.Traced {
		annotate = func(ctx context.Context, key string, value any) {
			tracing.Annotate(ctx, key, value)
			server.Note(ctx, key, value)
		}
	}
	cc := cfg.Cache
	cc.Logger = cfg.Logger
	cc.Annotate = annotate
	if g, ok := store.(cache.Generations); ok && cc.Generations == nil {
		cc.Generations = g // freshness by the quarter's generation (DynamoDB)
	}
	opts := httpapi.Options{ImageBaseURL: cfg.ImageBaseURL, Now: cfg.Now, Logger: cfg.Logger, Annotate: annotate}
	c, err := cache.New(store, cc)
	if err != nil {
		return nil, err
	}
	var served banner.Store = c
	if cfg.Traced {
		served = tracing.WrapStore("cache", c)
	}
	return &API{Handler: httpapi.New(served, opts), Cache: c}, nil
}

// Close stops the cache.
func (a *API) Close() { a.Cache.Close() }

// Local is the local server's settings (the flags of functions/api).
type Local struct {
	// Store, when set, is served as it is; otherwise the store comes from
	// Table, DataDir or the built-in sample, in that order.
	Store banner.Store
	// Table is a DynamoDB table to serve from (endpoint from the SDK's
	// standard settings, such as AWS_ENDPOINT_URL_DYNAMODB).
	Table string
	// DataDir is a CSV folder in the layout <q>/<kind>_<q>.csv. Default: the
	// built-in sample data.
	DataDir string
	// Cache tunes the cache; the -cache-ttl flag sets its TTL.
	Cache cache.Config
	// ImagesDir is a folder of image_<id>.png files. Default: generated
	// placeholders.
	ImagesDir string
	// SiteDir is a folder holding the site. Default: the built-in copy of
	// site/.
	SiteDir string
	// Traced sends X-Ray segments (to AWS_XRAY_DAEMON_ADDRESS).
	Traced bool
	// AccessLog gets the server's access log, a JSON line per request (see
	// server.AccessLog); nil: none.
	AccessLog io.Writer
}

// NewLocal builds the local server's configuration: the site, the images
// and the API over the store that l names, logging to log and its access
// log to l.AccessLog. Close the API
// once the server has stopped.
func NewLocal(ctx context.Context, l Local, log *slog.Logger) (server.Config, *API, error) {
	if l.Table != "" && l.DataDir != "" {
		return server.Config{}, nil, errors.New("-data and -table exclude each other")
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return server.Config{}, nil, err
	}
	store := l.Store
	switch {
	case store != nil:
	case l.Table != "":
		s, err := OpenDynamo(ctx, l.Table, l.Traced)
		if err != nil {
			return server.Config{}, nil, err
		}
		log.Info("serving from DynamoDB", "table", l.Table)
		store = s
	default:
		s, err := LoadCSV(l.DataDir, log)
		if err != nil {
			return server.Config{}, nil, err
		}
		store = s
	}
	api, err := New(store, Config{Cache: l.Cache, Traced: l.Traced, Logger: log})
	if err != nil {
		return server.Config{}, nil, err
	}
	cfg := server.Config{API: api.Handler, Images: images.Placeholders{}, Site: site.FS, Logger: log,
		AccessLog: l.AccessLog, TraceID: tracing.TraceID}
	if l.Traced {
		cfg.API = tracing.Handler(SegmentName, api.Handler)
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

// OpenDynamo returns the DynamoDB store on table with the SDK's standard
// configuration (AWS_ENDPOINT_URL_DYNAMODB and the like) and the service's
// retryer. With traced, every DynamoDB call gets an X-Ray subsegment.
func OpenDynamo(ctx context.Context, table string, traced bool, optFns ...func(*dynamodb.Options)) (*dynamo.Store, error) {
	cfg, err := dynamo.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	if traced {
		tracing.InstrumentAWS(&cfg)
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg, optFns...), table), nil
}

// lambdaPrewarm is the API function's pre-warm: before each quarter
// boundary, the next quarter's entries of the 1,000 campaigns an instance
// looked up most, read over the last 27 s.
var lambdaPrewarm = cache.Prewarm{TopK: 1000}

// LambdaEnv is the API function's configuration, from its environment.
type LambdaEnv struct {
	// Table is TABLE_NAME, required.
	Table string
	// CacheTTL is CACHE_TTL, a Go duration. Default 60s.
	CacheTTL time.Duration
	// ImageBaseURL is IMAGE_BASE_URL. Default "/images/".
	ImageBaseURL string
	// CacheMaxMiB is CACHE_MAX_MIB, the cache's bound in MiB (a cached
	// campaign takes about 550 bytes). Default 64.
	CacheMaxMiB int
}

// ReadLambdaEnv reads the function's settings with getenv.
func ReadLambdaEnv(getenv func(string) string) (LambdaEnv, error) {
	env := LambdaEnv{Table: getenv("TABLE_NAME"), CacheTTL: cache.DefaultTTL, ImageBaseURL: getenv("IMAGE_BASE_URL"),
		CacheMaxMiB: cache.DefaultMaxBytes >> 20}
	if env.Table == "" {
		return env, errors.New("TABLE_NAME is not set")
	}
	if s := getenv("CACHE_TTL"); s != "" {
		d, err := cache.ParseTTL(s)
		if err != nil {
			return env, fmt.Errorf("CACHE_TTL: %w", err)
		}
		env.CacheTTL = d
	}
	if s := getenv("CACHE_MAX_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 10240 {
			return env, fmt.Errorf("CACHE_MAX_MIB %q: want a whole number of MiB from 1 to 10240 (Lambda's largest memory)", s)
		}
		env.CacheMaxMiB = n
	}
	return env, nil
}

// NewLambda wires the API function once, at cold start, from its
// environment: X-Ray, the DynamoDB store, the cache and the handler, traced
// per request under the function's segment, with one access log line per
// request written to accessLog (as the local server writes them; Lambda
// sends both accessLog and log's lines to CloudWatch Logs). functions/api hands the result to
// the Lambda adapter and the runtime.
func NewLambda(ctx context.Context, getenv func(string) string, log *slog.Logger, accessLog io.Writer) (http.Handler, error) {
	env, err := ReadLambdaEnv(getenv)
	if err != nil {
		return nil, err
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return nil, err
	}
	store, err := OpenDynamo(ctx, env.Table, true)
	if err != nil {
		return nil, err
	}
	api, err := New(store, Config{Cache: cache.Config{TTL: env.CacheTTL, MaxBytes: int64(env.CacheMaxMiB) << 20, Prewarm: lambdaPrewarm}, ImageBaseURL: env.ImageBaseURL, Traced: true, Logger: log})
	if err != nil {
		return nil, err
	}
	return server.AccessLog(tracing.LambdaHandler(SegmentName, api.Handler), accessLog, tracing.TraceID), nil
}
