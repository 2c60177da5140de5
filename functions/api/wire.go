package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"banners/internal/accesslog"
	"banners/internal/app"
	"banners/internal/cache"
	"banners/internal/dynamo"
	"banners/internal/tracing"
)

// prewarm is the function's pre-warm: before each quarter boundary, the
// next quarter's entries of the 1,000 campaigns an instance looked up most.
var prewarm = cache.Prewarm{TopK: 1000}

// readEnv reads with getenv the function's table and the API's settings
// (see the package comment).
func readEnv(getenv func(string) string) (table string, cfg app.Config, err error) {
	table = getenv("TABLE_NAME")
	cfg = app.Config{
		Cache:        cache.Config{TTL: cache.DefaultTTL, MaxBytes: cache.DefaultMaxBytes, Prewarm: prewarm},
		ImageBaseURL: getenv("IMAGE_BASE_URL"),
		Traced:       true,
	}
	if table == "" {
		return table, cfg, errors.New("TABLE_NAME is not set")
	}
	if s := getenv("CACHE_TTL"); s != "" {
		if cfg.Cache.TTL, err = cache.ParseTTL(s); err != nil {
			return table, cfg, fmt.Errorf("CACHE_TTL: %w", err)
		}
	}
	if s := getenv("CACHE_MAX_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 10240 {
			return table, cfg, fmt.Errorf("CACHE_MAX_MIB %q: want a whole number of MiB from 1 to 10240 (Lambda's largest memory)", s)
		}
		cfg.Cache.MaxBytes = int64(n) << 20
	}
	return table, cfg, nil
}

// awsConfig returns the function's SDK configuration, with
// dynamo.NewRetryer, from the variables Lambda sets (read with getenv):
// AWS_REGION, the role's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// (required) and AWS_SESSION_TOKEN, and the DynamoDB endpoint from
// AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL (unset in AWS; the tests
// point it at dynalite or moto). config.LoadDefaultConfig's package
// initialisation (config files, SSO, STS, EC2 metadata, unused in Lambda)
// would cost about 2 ms per cold start. Credentials that come another way
// (a container credentials endpoint) fail the cold start, naming the variable.
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
// environment: X-Ray, the DynamoDB store, the cache and the handler,
// traced per request under the function's segment, with one access log
// line per request written to accessLog.
func newHandler(getenv func(string) string, log *slog.Logger, accessLog io.Writer) (http.Handler, error) {
	table, apiCfg, err := readEnv(getenv)
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
	apiCfg.Logger = log
	api, err := app.New(app.OpenDynamo(cfg, table, true), apiCfg)
	if err != nil {
		return nil, err
	}
	return accesslog.Handler(tracing.LambdaHandler(app.SegmentName, api.Handler), accessLog, tracing.Trace), nil
}
