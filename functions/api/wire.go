package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"banners/internal/accesslog"
	"banners/internal/app"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/tracing"
)

// prewarm is the function's pre-warm: before each quarter
// boundary, the next quarter's entries of the 1,000 campaigns an instance
// looked up most, read over the last 27 s.
var prewarm = cache.Prewarm{TopK: 1000}

// env is the function's configuration, from its environment.
type env struct {
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

// readEnv reads the function's settings with getenv.
func readEnv(getenv func(string) string) (env, error) {
	e := env{Table: getenv("TABLE_NAME"), CacheTTL: cache.DefaultTTL, ImageBaseURL: getenv("IMAGE_BASE_URL"),
		CacheMaxMiB: cache.DefaultMaxBytes >> 20}
	if e.Table == "" {
		return e, errors.New("TABLE_NAME is not set")
	}
	if s := getenv("CACHE_TTL"); s != "" {
		d, err := cache.ParseTTL(s)
		if err != nil {
			return e, fmt.Errorf("CACHE_TTL: %w", err)
		}
		e.CacheTTL = d
	}
	if s := getenv("CACHE_MAX_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 10240 {
			return e, fmt.Errorf("CACHE_MAX_MIB %q: want a whole number of MiB from 1 to 10240 (Lambda's largest memory)", s)
		}
		e.CacheMaxMiB = n
	}
	return e, nil
}

// awsConfig returns the SDK configuration of the function, read
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
func awsConfig(getenv func(string) string) (aws.Config, error) {
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

// newHandler wires the function once, at cold start, from its
// environment (readEnv, awsConfig): X-Ray, the DynamoDB store,
// the cache and the handler, traced per request under the function's
// segment, with one access log line per request written to accessLog (as
// the local server writes them; Lambda sends accessLog's and log's lines
// to CloudWatch Logs). main hands the result to the function URL adapter
// and the runtime.
func newHandler(getenv func(string) string, log *slog.Logger, accessLog io.Writer) (http.Handler, error) {
	e, err := readEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := awsConfig(getenv)
	if err != nil {
		return nil, err
	}
	if err := tracing.Configure(tracing.Config{Logger: log}); err != nil {
		return nil, err
	}
	store := app.OpenDynamo(cfg, e.Table, true)
	api, err := app.New(store, app.Config{
		Cache:        cache.Config{TTL: e.CacheTTL, MaxBytes: int64(e.CacheMaxMiB) << 20, Prewarm: prewarm},
		ImageBaseURL: e.ImageBaseURL,
		Traced:       true,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	return accesslog.Handler(tracing.LambdaHandler(app.SegmentName, api.Handler), accessLog, tracing.Trace), nil
}
