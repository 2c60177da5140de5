// Command cdk is the AWS CDK app of Banners. It synthesizes one stack,
// BannersStack, that serves the visitor page and the banner API through
// CloudFront and loads campaign statistics from CSV files into DynamoDB.
//
// cdk.json runs it with `go run ./cdk` from the repository root after its
// "build" step has compiled both Lambdas into build/api and build/ingest.
// Settings come from CDK context (cdk.json or -c key=value), see
// settingsFromContext.
package main

import (
	"fmt"
	"log"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Context keys read by the app. Defaults live in DefaultSettings and, for
// visibility, in the "context" block of cdk.json.
const (
	ctxStageName          = "stageName"
	ctxCacheTTL           = "cacheTtl"
	ctxThrottleRateLimit  = "throttleRateLimit"
	ctxThrottleBurstLimit = "throttleBurstLimit"
	ctxImagesDir          = "imagesDir"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	settings, err := settingsFromContext(app)
	if err != nil {
		log.Fatalf("cdk context: %v", err)
	}
	imagesDir, err := contextString(app, ctxImagesDir, "")
	if err != nil {
		log.Fatalf("cdk context: %v", err)
	}

	// Paths are relative to the repository root, where the CDK CLI runs the app.
	NewBannersStack(app, "BannersStack", &BannersStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("Banners: ad banners per campaign behind CloudFront"),
		},
		LambdaDir: "build/api",
		IngestDir: "build/ingest",
		SiteDir:   "site",
		ImagesDir: imagesDir,
		// Written by the "build" step of cdk.json.
		PlaceholdersDir: "build/images",
		Settings:        settings,
	})

	app.Synth(nil)
}

// settingsFromContext reads the stack settings from CDK context, falling
// back to DefaultSettings for keys that are not set, and validates them.
func settingsFromContext(app awscdk.App) (Settings, error) {
	s := DefaultSettings()
	var err error
	if s.StageName, err = contextString(app, ctxStageName, s.StageName); err != nil {
		return Settings{}, err
	}
	if s.CacheTTL, err = contextString(app, ctxCacheTTL, s.CacheTTL); err != nil {
		return Settings{}, err
	}
	if s.ThrottleRateLimit, err = contextFloat(app, ctxThrottleRateLimit, s.ThrottleRateLimit); err != nil {
		return Settings{}, err
	}
	burst, err := contextFloat(app, ctxThrottleBurstLimit, float64(s.ThrottleBurstLimit))
	if err != nil {
		return Settings{}, err
	}
	if burst != float64(int(burst)) {
		return Settings{}, fmt.Errorf("%s: %v is not a whole number", ctxThrottleBurstLimit, burst)
	}
	s.ThrottleBurstLimit = int(burst)
	return s, s.Validate()
}

// contextString returns the context value of key as a string, or def when
// the key is not set.
func contextString(app awscdk.App, key, def string) (string, error) {
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return def, nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: want a string, got %v (%T)", key, v, v)
	}
}

// contextFloat returns the context value of key as a number, or def when the
// key is not set. It accepts JSON numbers (cdk.json) and strings (-c k=v).
func contextFloat(app awscdk.App, key string, def float64) (float64, error) {
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return def, nil
	case float64:
		return v, nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", key, v)
		}
		return f, nil
	default:
		return 0, fmt.Errorf("%s: want a number, got %v (%T)", key, v, v)
	}
}
