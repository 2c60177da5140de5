package main

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Settings are the tunable, non-asset parts of the stack.
type Settings struct {
	// StageName is the API Gateway stage, and the first path segment of the
	// direct API URL.
	StageName string
	// CacheTTL is the API function's in-memory cache lifetime as a Go
	// duration string ("60s"); it is passed as CACHE_TTL.
	CacheTTL string
	// ThrottleRateLimit is the stage's steady-state limit in requests per
	// second, shared by all methods and callers.
	ThrottleRateLimit float64
	// ThrottleBurstLimit is the stage's token-bucket size in requests: how many
	// requests above the rate limit can be served at once.
	ThrottleBurstLimit int
}

// DefaultSettings returns the settings used when CDK context sets nothing.
// cdk.json repeats them so that they are visible in one place.
func DefaultSettings() Settings {
	return Settings{
		StageName: "prod",
		CacheTTL:  "60s",
		// About 260 M requests a month at the limit: enough for a campaign
		// page, low enough to cap the bill if someone hammers the API.
		ThrottleRateLimit:  100,
		ThrottleBurstLimit: 200,
	}
}

// stageNamePattern is what API Gateway accepts as a stage name.
var stageNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// Validate reports the first setting that API Gateway or the API function
// would reject.
func (s Settings) Validate() error {
	if !stageNamePattern.MatchString(s.StageName) {
		return fmt.Errorf("stage name %q: want 1-128 letters, digits, '-' or '_'", s.StageName)
	}
	ttl, err := time.ParseDuration(s.CacheTTL)
	if err != nil {
		return fmt.Errorf("cache TTL: %w", err)
	}
	if ttl < 0 {
		return fmt.Errorf("cache TTL %s: must not be negative", s.CacheTTL)
	}
	if s.ThrottleRateLimit <= 0 {
		return fmt.Errorf("throttle rate limit %v: must be positive", s.ThrottleRateLimit)
	}
	if s.ThrottleBurstLimit < 1 {
		return fmt.Errorf("throttle burst limit %d: must be at least 1", s.ThrottleBurstLimit)
	}
	return nil
}

// BannersStackProps configures NewBannersStack. Folder paths are relative to
// the working directory of the process that synthesizes the app.
type BannersStackProps struct {
	awscdk.StackProps

	// LambdaDir is the folder holding the API function's linux/arm64
	// `bootstrap` executable.
	LambdaDir string
	// IngestDir is the folder holding the ingest function's linux/arm64
	// `bootstrap` executable.
	IngestDir string
	// SiteDir is the folder with the visitor page (index.html, app.js,
	// style.css). Go files and testdata in it are not deployed.
	SiteDir string
	// ImagesDir, when set, is a folder of image_<id>.png files deployed under
	// images/. They are served as image/jpeg, which is what the real ones are.
	ImagesDir string
	// PlaceholdersDir is used when ImagesDir is empty: a folder of SVG
	// placeholder banners named image_<id>.png (`go run ./functions/api
	// -write-placeholders DIR`), served as image/svg+xml with a short cache
	// so that real images replace them quickly. When both are empty, no
	// images are deployed.
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

	d := newData(stack, props)
	api := newAPI(stack, props, d.table)
	site := newSiteBucket(stack)
	dist := newDistribution(stack, site, api)
	deploySite(stack, props, dist)

	newOutputs(stack, dist, api, d)
	return stack
}

// newOutputs exports what an operator needs after a deploy: where to look,
// where to upload, and which table holds the data.
func newOutputs(stack awscdk.Stack, dist distribution, api api, d data) {
	base := "https://" + *dist.dist.DistributionDomainName()
	outputs := []struct{ id, value, description string }{
		{"BannerUrl", base + "/?cam-id=1", "Visitor page of campaign 1; change cam-id for other campaigns"},
		{"AdTagUrlPattern", base + "/campaigns/{campaign_id}", "Ad tag: answers 302 to one banner image of the campaign"},
		{"ApiUrl", *api.rest.Url(), "API Gateway stage URL (direct, throttled; prefer the CloudFront URLs)"},
		{"DataBucketName", *d.bucket.BucketName(), "Upload <quarter>/<kind>_<quarter>.csv here to load the table"},
		{"TableName", *d.table.TableName(), "DynamoDB table (retained when the stack is deleted)"},
		{"SiteBucketName", *dist.siteBucket.BucketName(), "Site bucket; images live under images/"},
		{"IngestFailuresQueueUrl", *d.dlq.QueueUrl(), "Ingest events that failed after the retries"},
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(stack, jsii.String(o.id), &awscdk.CfnOutputProps{
			Value:       jsii.String(o.value),
			Description: jsii.String(o.description),
		})
	}
}
