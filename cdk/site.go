package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/jsii-runtime-go"
)

// Browser cache lifetimes set on the deployed objects. CloudFront's own
// lifetimes are in the cache policies (distribution.go).
const (
	// pageMaxAge keeps the page fresh after a deploy without a hard reload.
	pageMaxAge = 5 * 60 // seconds
	// imageMaxAge is long: an image is named after its id and does not change.
	imageMaxAge = 7 * 24 * 60 * 60 // seconds
)

// siteAssetExcludes keeps the Go side of site/ (embed.go, tests, fixtures)
// out of the uploaded asset. Glob patterns without a slash match at any depth.
var siteAssetExcludes = []string{"*.go", "testdata"}

// deployMemoryMB is the memory of CDK's function that copies the site and
// the images (a few MB) into the bucket; more memory copies faster.
const deployMemoryMB = 512

// imagesPrefix is where the images live in the site bucket and in URLs.
const imagesPrefix = "images/"

// newSiteBucket defines the bucket that only CloudFront reads, through
// Origin Access Control. Its access logs go to logs.
func newSiteBucket(stack awscdk.Stack, logs awss3.IBucket) awss3.Bucket {
	return newBucket(stack, "SiteBucket", &awss3.BucketProps{
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String(siteBucketLogPrefix),
	})
}

// deploySite uploads the visitor page and the banner images (props.ImagesDir,
// else the placeholders), then invalidates what changed in CloudFront.
func deploySite(stack awscdk.Stack, props *BannersStackProps, site awss3.Bucket, dist awscloudfront.Distribution) {
	// Their shared CDK function (same memory) logs here, not to a 2-year group.
	deployLogs := newFunctionLogGroup(stack, "DeploySiteLogs")
	awss3deployment.NewBucketDeployment(stack, jsii.String("DeploySite"), &awss3deployment.BucketDeploymentProps{
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(props.SiteDir), &awss3assets.AssetOptions{
				Exclude: jsii.Strings(siteAssetExcludes...),
			}),
		},
		DestinationBucket: site,
		// The page deploy prunes stale files; the images/ prefix is owned by
		// the images deploy (or by hand uploads) and must survive it.
		Exclude: jsii.Strings(imagesPrefix + "*"),
		CacheControl: &[]awss3deployment.CacheControl{
			awss3deployment.CacheControl_SetPublic(),
			awss3deployment.CacheControl_MaxAge(awscdk.Duration_Seconds(jsii.Number(pageMaxAge))),
		},
		Distribution:      dist,
		DistributionPaths: jsii.Strings("/", "/index.html", "/app.js", "/style.css"),
		MemoryLimit:       jsii.Number(deployMemoryMB),
		LogGroup:          deployLogs,
	})

	// The real files are JPEG bytes named .png: say what they really are.
	dir, contentType, maxAge := props.ImagesDir, "image/jpeg", imageMaxAge
	if dir == "" {
		// Placeholders are cached briefly, so real images show within minutes.
		dir, contentType, maxAge = props.PlaceholdersDir, "image/svg+xml", pageMaxAge
	}
	if dir == "" {
		// Nothing to ship: /images/* answers 404 until uploads (docs/deploy.md).
		return
	}
	awss3deployment.NewBucketDeployment(stack, jsii.String("DeployImages"), &awss3deployment.BucketDeploymentProps{
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(dir), nil),
		},
		DestinationBucket:    site,
		DestinationKeyPrefix: jsii.String(imagesPrefix),
		ContentType:          jsii.String(contentType),
		CacheControl: &[]awss3deployment.CacheControl{
			awss3deployment.CacheControl_SetPublic(),
			awss3deployment.CacheControl_MaxAge(awscdk.Duration_Seconds(jsii.Number(maxAge))),
		},
		MemoryLimit:       jsii.Number(deployMemoryMB),
		LogGroup:          deployLogs,
		Distribution:      dist,
		DistributionPaths: jsii.Strings("/" + imagesPrefix + "*"),
	})
}
