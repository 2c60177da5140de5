// Command cdk is the AWS CDK app of Banners. It synthesizes one stack,
// BannersStack, that serves the visitor page and the banner API through
// CloudFront and loads campaign statistics from CSV files into DynamoDB.
//
// cdk.json runs it with `go run ./cdk` from the repository root after its
// "build" step has compiled both Lambdas into build/api and build/ingest.
// Settings come from CDK context (cdk.json or -c key=value), see
// settingsFromContext. The AWS Solutions rules of cdk-nag run on every
// synth: an unsuppressed error fails `cdk synth` and `cdk deploy`.
package main

import (
	"fmt"
	"log"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	settings, err := settingsFromContext(app)
	if err != nil {
		log.Fatalf("cdk context: %v", err)
	}
	imagesDir, err := contextString(app, "imagesDir", "")
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

	addNagChecks(app)
	app.Synth(nil)
}

// settingsFromContext reads and validates the stack settings from CDK
// context; unset keys keep DefaultSettings (which cdk.json repeats).
func settingsFromContext(app awscdk.App) (Settings, error) {
	s := DefaultSettings()
	var err error
	if s.CacheTTL, err = contextString(app, "cacheTtl", s.CacheTTL); err != nil {
		return Settings{}, err
	}
	if s.AlarmEmail, err = contextString(app, "alarmEmail", s.AlarmEmail); err != nil {
		return Settings{}, err
	}
	ints := []struct {
		key string
		dst *int
	}{
		{"cacheMaxMib", &s.CacheMaxMiB},
		{"apiMemoryMb", &s.APIMemoryMB},
		{"apiReservedConcurrency", &s.APIReservedConcurrency},
		{"ingestMemoryMb", &s.IngestMemoryMB},
		{"ingestReservedConcurrency", &s.IngestReservedConcurrency},
		{"wafRateLimit", &s.WAFRateLimit},
	}
	for _, i := range ints {
		if *i.dst, err = contextInt(app, i.key, *i.dst); err != nil {
			return Settings{}, err
		}
	}
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

// contextInt returns the context value of key as a whole number, or def when
// the key is not set: a JSON number (cdk.json) or a string (-c k=v).
func contextInt(app awscdk.App, key string, def int) (int, error) {
	var f float64
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return def, nil
	case float64:
		f = v
	case string:
		var err error
		if f, err = strconv.ParseFloat(v, 64); err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", key, v)
		}
	default:
		return 0, fmt.Errorf("%s: want a number, got %v (%T)", key, v, v)
	}
	if f != float64(int(f)) {
		return 0, fmt.Errorf("%s: %v is not a whole number", key, f)
	}
	return int(f), nil
}
