package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"banners/internal/cache"
)

// Settings are the tunable, non-asset parts of the stack.
type Settings struct {
	// CacheTTL is the API function's in-memory cache lifetime, a positive
	// Go duration ("60s") passed as CACHE_TTL (checked by cache.ParseTTL).
	CacheTTL string
	// CacheMaxMiB bounds the API function's cache, in MiB; passed as
	// CACHE_MAX_MIB. A cached campaign-quarter takes about 550 bytes: 64 MiB
	// holds 100k campaigns, 1M campaigns want 128 MiB (loadtest/RESULTS.md,
	// "Scale"). At most half of APIMemoryMB.
	CacheMaxMiB int
	// APIMemoryMB is the API function's memory, in MB (Lambda scales its
	// CPU with it): 256 up to 100k campaigns, 512 for 1M.
	APIMemoryMB int
	// APIReservedConcurrency, when positive, reserves that many concurrent
	// executions for the API function, also its ceiling (the cap on what a
	// flood of requests can cost). 0 (the default) reserves nothing.
	APIReservedConcurrency int
	// IngestMemoryMB is the ingest function's memory, in MB. A load holds
	// one quarter's read models (the function limits Go's heap to 90 % of
	// it): 512 covers about 200,000 campaigns a quarter (360 MB at peak),
	// a million campaigns want 3008 (1.2–2.0 GB at peak; docs/dynamodb.md).
	IngestMemoryMB int
	// IngestReservedConcurrency, when positive, reserves that many concurrent
	// executions for the ingest function (1 serializes loads); 0 reserves none.
	IngestReservedConcurrency int
	// WAFRateLimit, when positive, attaches to the distribution an AWS WAF
	// web ACL that blocks a client IP sending more than this many requests
	// in 5 minutes. 0 (the default) adds no WAF. The web ACL exists only in
	// us-east-1, so the stack must be deployed there when this is set.
	WAFRateLimit int
	// AlarmEmail, when set, subscribes this address to the alarm topic (AWS
	// mails a confirmation first); alarms always show on the dashboard.
	AlarmEmail string
}

// DefaultSettings returns the settings used when CDK context sets nothing.
// cdk.json repeats them so that they are visible in one place.
func DefaultSettings() Settings {
	// No reservations: Lambda refuses any that leaves fewer than 10
	// unreserved executions, and new accounts have only 10. A 15-minute TTL
	// (a quarter's length) is safe: the cache follows the table's
	// per-quarter generation, serving a re-ingested quarter within 10 s.
	return Settings{CacheTTL: "15m", CacheMaxMiB: 64, APIMemoryMB: 256, IngestMemoryMB: 512}
}

// WAF's limits for a rate-based rule's limit, in requests per window.
const (
	wafMinRateLimit = 10
	wafMaxRateLimit = 2_000_000_000
)

// Validate reports the first setting that Lambda, AWS WAF or the API
// function would reject.
func (s Settings) Validate() error {
	// The API function's own check: a deploy cannot ship a TTL it refuses.
	if _, err := cache.ParseTTL(s.CacheTTL); err != nil {
		return err
	}
	if s.APIMemoryMB < 128 || s.APIMemoryMB > 10240 {
		return fmt.Errorf("API memory %d MB: Lambda accepts 128 to 10240", s.APIMemoryMB)
	}
	if s.IngestMemoryMB < 128 || s.IngestMemoryMB > 10240 {
		return fmt.Errorf("ingest memory %d MB: Lambda accepts 128 to 10240", s.IngestMemoryMB)
	}
	if s.CacheMaxMiB < 1 || s.CacheMaxMiB > s.APIMemoryMB/2 {
		return fmt.Errorf("cache size %d MiB: want 1 to half the API function's %d MB", s.CacheMaxMiB, s.APIMemoryMB)
	}
	if s.APIReservedConcurrency < 0 {
		return fmt.Errorf("API reserved concurrency %d: must not be negative", s.APIReservedConcurrency)
	}
	if s.IngestReservedConcurrency < 0 {
		return fmt.Errorf("ingest reserved concurrency %d: must not be negative", s.IngestReservedConcurrency)
	}
	if s.WAFRateLimit != 0 && (s.WAFRateLimit < wafMinRateLimit || s.WAFRateLimit > wafMaxRateLimit) {
		return fmt.Errorf("WAF rate limit %d: want 0 (off) or %d to %d requests per 5 minutes",
			s.WAFRateLimit, wafMinRateLimit, wafMaxRateLimit)
	}
	if s.AlarmEmail != "" {
		if at := strings.LastIndexByte(s.AlarmEmail, '@'); at < 1 || at == len(s.AlarmEmail)-1 || strings.ContainsAny(s.AlarmEmail, " \t,;<>") {
			return fmt.Errorf("alarm email %q: want one address, like ops@example.com", s.AlarmEmail)
		}
	}
	return nil
}

// BannersStackProps configures NewBannersStack. Folder paths are relative to
// the working directory of the process that synthesizes the app.
type BannersStackProps struct {
	awscdk.StackProps

	// LambdaDir and IngestDir are the folders holding the linux/arm64
	// `bootstrap` executables of the API and ingest functions.
	LambdaDir, IngestDir string
	// SiteDir is the folder with the visitor page (index.html, app.js,
	// style.css). Go files and testdata in it are not deployed.
	SiteDir string
	// ImagesDir, when set, is a folder of image_<id>.png files deployed under
	// images/. They are served as image/jpeg, which is what the real ones are.
	ImagesDir string
	// PlaceholdersDir is used when ImagesDir is empty: SVG placeholders named
	// image_<id>.png (`go run ./functions/api/local -write-placeholders DIR`),
	// served as image/svg+xml, briefly cached so that real images replace
	// them quickly. When both are empty, no images are deployed.
	PlaceholdersDir string

	Settings
}

// validate reports missing asset folders and invalid settings.
func (p *BannersStackProps) validate() error {
	if p == nil {
		return errors.New("props are required")
	}
	dirs := []struct{ name, dir string }{
		{"LambdaDir", p.LambdaDir}, {"IngestDir", p.IngestDir}, {"SiteDir", p.SiteDir},
	}
	for _, d := range dirs {
		if d.dir == "" {
			return fmt.Errorf("%s is required", d.name)
		}
	}
	return p.Settings.Validate()
}

// NewBannersStack defines the whole Banners service in one stack. Like other
// CDK constructors it panics when props are invalid.
func NewBannersStack(scope constructs.Construct, id string, props *BannersStackProps) awscdk.Stack {
	if err := props.validate(); err != nil {
		panic(fmt.Sprintf("NewBannersStack %s: %v", id, err))
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)

	logs := newAccessLogsBucket(stack)
	d := newData(stack, props, logs)
	api := newAPI(stack, props, d.table)
	site := newSiteBucket(stack, logs)
	dist := newDistribution(stack, site, api, logs)
	deploySite(stack, props, site, dist)
	if props.WAFRateLimit > 0 {
		newWAF(stack, dist, props.WAFRateLimit)
	}
	obs := newObservability(stack, props, api, d, dist)
	// Last: they act on the helper functions that the constructs above added.
	newHelperLogGroups(stack)
	suppressHelperFindings(stack)

	newOutputs(stack, dist, site, d, logs, obs)
	return stack
}

// newOutputs exports what an operator needs after a deploy: where to look,
// where to upload, and which table holds the data.
func newOutputs(stack awscdk.Stack, dist awscloudfront.Distribution, site awss3.Bucket, d data, logs awss3.Bucket, obs observability) {
	base := "https://" + *dist.DistributionDomainName()
	outputs := []struct{ id, value, description string }{
		{"BannerUrl", base + "/?cam-id=1", "Site: visitor page of campaign 1; change cam-id for other campaigns"},
		{"AdTagUrl", base + "/campaigns/1", "Ad tag of campaign 1: answers 302 to one of its banner images"},
		{"DistributionId", *dist.DistributionId(), "CloudFront distribution, for invalidations"},
		{"DataBucketName", *d.bucket.BucketName(), "Upload <quarter>/<kind>_<quarter>.csv here to load the table"},
		{"TableName", *d.table.TableName(), "DynamoDB table (retained when the stack is deleted)"},
		{"SiteBucketName", *site.BucketName(), "Site bucket; images live under images/"},
		{"IngestFailuresQueueUrl", *d.dlq.QueueUrl(), "Ingest events that failed after the retries"},
		{"AccessLogsBucketName", *logs.BucketName(), "CloudFront and S3 access logs (kept 90 days)"},
		{"DashboardUrl", "https://console.aws.amazon.com/cloudwatch/home?region=" + *stack.Region() +
			"#dashboards/dashboard/" + *obs.dashboard.DashboardName(), "The operators' dashboard (docs/operations.md)"},
		{"AlarmTopicArn", *obs.topic.TopicArn(), "SNS topic of every alarm: subscribe here, or deploy with -c alarmEmail=..."},
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(stack, jsii.String(o.id), &awscdk.CfnOutputProps{
			Value:       jsii.String(o.value),
			Description: jsii.String(o.description),
		})
	}
}
