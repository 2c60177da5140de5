// Command api is the Banners API function, behind a function URL: the API
// handler over DynamoDB through an in-memory cache, traced with X-Ray. It
// runs only inside Lambda (AWS_LAMBDA_RUNTIME_API is set); the local server
// is functions/api/local. Its environment:
//
//	TABLE_NAME      the DynamoDB table (required)
//	CACHE_TTL       the longest a campaign is served from memory, a Go duration (default 60s;
//	                the stack deploys 15m; the cache also follows each quarter's generation)
//	CACHE_MAX_MIB   the cache's bound in MiB (default 64; a cached campaign takes about 550 bytes)
//	IMAGE_BASE_URL  prefix of the banners' image URLs (default /images/)
//
// and the region, the role's credentials and, under an emulator, the
// DynamoDB endpoint, from the variables Lambda sets (see awsConfig in wire.go).
//
// It links neither the SDK's default configuration loader, whose package
// initialisation would add to every cold start, nor the local server's
// packages (TestLambdaLinksNoLocalOnlyPackages guards both).
package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"banners/internal/funcurl"
	"banners/internal/tracing"
)

func main() {
	start := time.Now()
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		fmt.Fprintln(os.Stderr, "api: this is the API Lambda function and runs only inside Lambda (AWS_LAMBDA_RUNTIME_API is not set); for the local server run: go run ./functions/api/local")
		os.Exit(2)
	}
	// Every line of a request carries its trace ID.
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	slog.SetDefault(log)
	h, err := newHandler(os.Getenv, log, os.Stderr)
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	log.Info("cold start", "init_duration_ms", float64(time.Since(start).Microseconds())/1000)
	lambda.Start(funcurl.New(h).Handle)
}
