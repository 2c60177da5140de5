// Package app wires the Banners API once, for everything that runs it: the
// API Lambda (functions/api), the local server (functions/api/local), and
// the load and soak tests (loadtest/). Each gets the same stack: a store,
// the cache in front of it, X-Ray when traced, and the one HTTP handler.
//
// It builds; it does not run. Starting the Lambda runtime, listening and
// exiting stay in the mains, and so does loading the SDK's default
// configuration (github.com/aws/aws-sdk-go-v2/config): the package links
// into the API function, whose cold start must not pay for that.
package app

import (
	"cmp"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/accesslog"
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
	annotate := accesslog.Note
	if cfg.Traced {
		annotate = func(ctx context.Context, key string, value any) {
			tracing.Annotate(ctx, key, value)
			accesslog.Note(ctx, key, value)
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

// Local is the local server's settings (the flags of functions/api/local).
type Local struct {
	// Store, when set, is served as it is, such as a DynamoDB table opened
	// with OpenDynamo; otherwise the store comes from DataDir or the
	// built-in sample. Store and DataDir exclude each other.
	Store banner.Store
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
	// accesslog.Handler); nil: none.
	AccessLog io.Writer
}

// NewLocal builds the local server's configuration: the site, the images
// and the API over the store that l names, logging to log and its access
// log to l.AccessLog. Close the API
// once the server has stopped.
func NewLocal(l Local, log *slog.Logger) (server.Config, *API, error) {
	if l.Store != nil && l.DataDir != "" {
		return server.Config{}, nil, errors.New("a store and a data folder exclude each other")
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return server.Config{}, nil, err
	}
	store := l.Store
	if store == nil {
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
	// No TraceID: the access log wraps the whole server, outside the
	// segment tracing.Handler opens for an API request, so it has none.
	cfg := server.Config{API: api.Handler, Images: images.Placeholders{}, Site: site.FS, Logger: log, AccessLog: l.AccessLog}
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

// OpenDynamo returns the DynamoDB store on table through a client for cfg
// (which should carry dynamo.NewRetryer), adjusted by optFns. With traced,
// every DynamoDB call gets an X-Ray subsegment.
func OpenDynamo(cfg aws.Config, table string, traced bool, optFns ...func(*dynamodb.Options)) *dynamo.Store {
	if traced {
		tracing.InstrumentAWS(&cfg)
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg, optFns...), table)
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

// LambdaAWSConfig returns the SDK configuration of the API function, read
// with getenv from the variables Lambda sets:
//
//	AWS_REGION                  the region (required)
//	AWS_ACCESS_KEY_ID           the function role's credentials (the key ID and
//	AWS_SECRET_ACCESS_KEY       the secret are required; the session token is
//	AWS_SESSION_TOKEN           optional)
//	AWS_ENDPOINT_URL_DYNAMODB   the DynamoDB endpoint, the SDK's standard variable,
//	                            else AWS_ENDPOINT_URL; unset in AWS, where the
//	                            SDK resolves the region's endpoint (the tests point
//	                            it at dynalite or moto)
//
// with dynamo.NewRetryer as the retryer. It is not
// config.LoadDefaultConfig: linking that package, for the shared config
// files, SSO, STS and the EC2 metadata credentials that Lambda never uses,
// costs the function about 2 ms of package initialisation at every cold
// start. Where credentials come another way (a container credentials
// endpoint, as with SnapStart in other runtimes), the cold start fails
// naming the missing variable rather than running without them.
func LambdaAWSConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id == "":
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID is not set (Lambda sets it from the function's role)")
	case secret == "":
		return aws.Config{}, errors.New("AWS_SECRET_ACCESS_KEY is not set (Lambda sets it from the function's role)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")),
		Retryer:     dynamo.NewRetryer,
	}
	if u := cmp.Or(getenv("AWS_ENDPOINT_URL_DYNAMODB"), getenv("AWS_ENDPOINT_URL")); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg, nil
}

// NewLambda wires the API function once, at cold start, from its
// environment (ReadLambdaEnv, LambdaAWSConfig): X-Ray, the DynamoDB store,
// the cache and the handler, traced per request under the function's
// segment, with one access log line per request written to accessLog (as
// the local server writes them; Lambda sends accessLog's and log's lines
// to CloudWatch Logs). functions/api hands the result to the Lambda
// adapter and the runtime.
func NewLambda(getenv func(string) string, log *slog.Logger, accessLog io.Writer) (http.Handler, error) {
	env, err := ReadLambdaEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := LambdaAWSConfig(getenv)
	if err != nil {
		return nil, err
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return nil, err
	}
	store := OpenDynamo(cfg, env.Table, true)
	api, err := New(store, Config{Cache: cache.Config{TTL: env.CacheTTL, MaxBytes: int64(env.CacheMaxMiB) << 20, Prewarm: lambdaPrewarm}, ImageBaseURL: env.ImageBaseURL, Traced: true, Logger: log})
	if err != nil {
		return nil, err
	}
	return accesslog.Handler(tracing.LambdaHandler(SegmentName, api.Handler), accessLog, tracing.TraceID), nil
}
