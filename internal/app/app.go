// Package app builds the Banners API stack that the API Lambda, the local
// server and the load tests share: a store, the cache in front of it, X-Ray
// when traced, and the one HTTP handler. It loads no configuration: the
// SDK's default loader would slow the API function's cold start.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/accesslog"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/httpapi"
	"banners/internal/tracing"
)

// SegmentName names the API's request (sub)segments in X-Ray.
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
	// Logger receives the handler's and the cache's logs. Default slog.Default().
	Logger *slog.Logger
}

// API is the handler over the cache over a store. Close it when done.
type API struct {
	// Handler answers /api/ and /campaigns/, untraced at the request level.
	Handler *httpapi.Handler
	// Cache is the cache in front of the store.
	Cache *cache.Cache
}

// New builds the API over store: the cache in front of it, traced when cfg.Traced.
func New(store banner.Store, cfg Config) (*API, error) {
	// The request's facts (campaign, quarter, cache outcome, banners) go
	// to its access log line, and to its trace when traced.
	annotate := accesslog.Note
	if cfg.Traced {
		annotate = func(ctx context.Context, key string, value any) {
			tracing.Annotate(ctx, key, value)
			accesslog.Note(ctx, key, value)
		}
	}
	cfg.Cache.Logger = cfg.Logger
	cfg.Cache.Annotate = annotate
	if g, ok := store.(cache.Generations); ok && cfg.Cache.Generations == nil {
		cfg.Cache.Generations = g // freshness by the quarter's generation (DynamoDB)
	}
	c, err := cache.New(store, cfg.Cache)
	if err != nil {
		return nil, err
	}
	var served banner.Store = c
	if cfg.Traced {
		served = tracing.WrapStore("cache", c)
	}
	opts := httpapi.Options{ImageBaseURL: cfg.ImageBaseURL, Now: cfg.Now, Logger: cfg.Logger, Annotate: annotate}
	return &API{Handler: httpapi.New(served, opts), Cache: c}, nil
}

// Close stops the cache.
func (a *API) Close() { a.Cache.Close() }

// OpenDynamo returns the DynamoDB store on table through a client for cfg
// (which should carry dynamo.NewRetryer). With traced, every DynamoDB call
// gets an X-Ray subsegment.
func OpenDynamo(cfg aws.Config, table string, traced bool) *dynamo.Store {
	if traced {
		tracing.InstrumentAWS(&cfg)
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg), table)
}
