package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/smithy-go/middleware"

	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/funcurl"
	"banners/internal/httpapi"
	"banners/internal/tracing"
)

// segmentName names the request segments (locally) and subsegments (in
// Lambda) in X-Ray.
const segmentName = "banners-api"

// apiConfig says how to build the serving stack over a store.
type apiConfig struct {
	// Cache tunes the cache; its Annotate and Logger are set by newAPI.
	Cache cache.Config
	// ImageBaseURL prefixes image file names in answers. Default "/images/".
	ImageBaseURL string
	// Traced adds X-Ray: the cache lookup's subsegment and the annotations.
	Traced bool
	// Now tells the time, for the current quarter. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// newAPI builds the one API handler over store: the cache in front of the
// store, traced when cfg.Traced. The caller closes the cache.
func newAPI(store banner.Store, cfg apiConfig) (*httpapi.Handler, *cache.Cache, error) {
	cc := cfg.Cache
	cc.Logger = cfg.Logger
	opts := httpapi.Options{ImageBaseURL: cfg.ImageBaseURL, Now: cfg.Now, Logger: cfg.Logger}
	if cfg.Traced {
		cc.Annotate = tracing.Annotate
		opts.Annotate = tracing.Annotate
	}
	c, err := cache.New(store, cc)
	if err != nil {
		return nil, nil, err
	}
	var served banner.Store = c
	if cfg.Traced {
		served = tracing.WrapStore("cache", c)
	}
	return httpapi.New(served, opts), c, nil
}

// newDynamoStore returns the DynamoDB store on table, with the SDK's
// standard configuration (AWS_ENDPOINT_URL_DYNAMODB and the like). With
// traced, every DynamoDB call gets an X-Ray subsegment.
func newDynamoStore(ctx context.Context, table string, traced bool) (*dynamo.Store, error) {
	cfg, err := dynamo.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	return dynamoStore(cfg, table, traced), nil
}

// dynamoStore returns the DynamoDB store on table for cfg, instrumented
// for X-Ray when traced.
func dynamoStore(cfg aws.Config, table string, traced bool) *dynamo.Store {
	if traced {
		cfg.APIOptions = append([]func(*middleware.Stack) error(nil), cfg.APIOptions...)
		awsv2.AWSV2Instrumentor(&cfg.APIOptions)
	}
	return dynamo.New(dynamodb.NewFromConfig(cfg), table)
}

// lambdaEnv is the Lambda function's configuration, from its environment.
type lambdaEnv struct {
	// Table is TABLE_NAME, required.
	Table string
	// CacheTTL is CACHE_TTL, a Go duration. Default 60s.
	CacheTTL time.Duration
	// ImageBaseURL is IMAGE_BASE_URL. Default "/images/".
	ImageBaseURL string
}

// readLambdaEnv reads the function's settings with getenv.
func readLambdaEnv(getenv func(string) string) (lambdaEnv, error) {
	env := lambdaEnv{Table: getenv("TABLE_NAME"), CacheTTL: cache.DefaultTTL, ImageBaseURL: getenv("IMAGE_BASE_URL")}
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
	if env.ImageBaseURL == "" {
		env.ImageBaseURL = "/images/"
	}
	return env, nil
}

// newLambda wires the function once, at cold start: X-Ray, the AWS
// configuration, the DynamoDB store, the cache and the API handler behind
// the function URL adapter.
func newLambda(ctx context.Context, getenv func(string) string, log *slog.Logger) (*funcurl.Handler, error) {
	env, err := readLambdaEnv(getenv)
	if err != nil {
		return nil, err
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return nil, err
	}
	store, err := newDynamoStore(ctx, env.Table, true)
	if err != nil {
		return nil, err
	}
	api, _, err := newAPI(store, apiConfig{
		Cache:        cache.Config{TTL: env.CacheTTL},
		ImageBaseURL: env.ImageBaseURL,
		Traced:       true,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	return funcurl.New(tracing.LambdaHandler(segmentName, api)), nil
}
