package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"banners/internal/httpapi"
)

// contentSecurityPolicy allows only what the page uses: its own script, style,
// API and images, the data: URL favicon, inline styles (<noscript> fallback).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// errorStatuses are the statuses CloudFront must never cache (0 s TTL, no
// response page: the origin's own answer reaches the viewer). By default it
// keeps an error 10 s; the API's cache key has neither query string nor
// cookie, so a cached 400 for one quarter would answer every quarter, a
// cached 5xx would outlast a blip; a missing site file costs one S3 request.
var errorStatuses = []float64{400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}

// newDistribution defines the CloudFront distribution: the site bucket by
// default, long-cached images under /images/*, and the uncached API
// function URL under /api/* and /campaigns/*. Standard logs go to logs.
func newDistribution(stack awscdk.Stack, siteBucket awss3.Bucket, api api, logs awss3.IBucket) awscloudfront.Distribution {
	// One origin for both S3 behaviours: one OAC, one bucket policy statement.
	// LIST adds s3:ListBucket, so S3 answers a missing key 404, not 403. It
	// exposes no listing: the only bucket-level request CloudFront could send
	// is GET /, which DefaultRootObject maps to index.html, and the S3
	// behaviours forward no query string.
	siteOrigin := awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(siteBucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{
		OriginAccessControl: awscloudfront.NewS3OriginAccessControl(stack, jsii.String("SiteOriginAccessControl"), &awscloudfront.S3OriginAccessControlProps{
			OriginAccessControlName: regionalName(stack, "site"),
			Description:             jsii.String("Banners: CloudFront reads the site bucket"),
		}),
		OriginAccessLevels: &[]awscloudfront.AccessLevel{awscloudfront.AccessLevel_READ, awscloudfront.AccessLevel_LIST},
	})
	// The origin also lets cloudfront.amazonaws.com, for this distribution
	// only, call lambda:InvokeFunctionUrl and lambda:InvokeFunction (through
	// the URL), as function URLs created since October 2025 require
	// (TestAPIFunctionURLBehindCloudFrontOnly).
	apiOrigin := awscloudfrontorigins.FunctionUrlOrigin_WithOriginAccessControl(api.url, &awscloudfrontorigins.FunctionUrlOriginWithOACProps{
		OriginAccessControl: awscloudfront.NewFunctionUrlOriginAccessControl(stack, jsii.String("ApiOriginAccessControl"), &awscloudfront.FunctionUrlOriginAccessControlProps{
			OriginAccessControlName: regionalName(stack, "api"),
			Description:             jsii.String("Banners: CloudFront signs its calls to the API function URL"),
		}),
	})
	headers := newSecurityHeadersPolicy(stack)

	pageCache := awscloudfront.NewCachePolicy(stack, jsii.String("PageCachePolicy"), &awscloudfront.CachePolicyProps{
		Comment: jsii.String("Banners page: short, so a deploy shows up quickly even without the invalidation"),
		// Honour the objects' max-age (5 min) but never keep them past 10 min.
		DefaultTtl:                 awscdk.Duration_Minutes(jsii.Number(5)),
		MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:                     awscdk.Duration_Minutes(jsii.Number(10)),
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
		// ?cam-id= is read by app.js in the browser: one cached copy of the page.
		QueryStringBehavior: awscloudfront.CacheQueryStringBehavior_None(),
	})
	imageCache := awscloudfront.NewCachePolicy(stack, jsii.String("ImageCachePolicy"), &awscloudfront.CachePolicyProps{
		Comment: jsii.String("Banner images: named by id and never changed in place"),
		// A week by default, up to a year when the object says so.
		DefaultTtl:                 awscdk.Duration_Days(jsii.Number(7)),
		MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:                     awscdk.Duration_Days(jsii.Number(365)),
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
		QueryStringBehavior:        awscloudfront.CacheQueryStringBehavior_None(),
	})
	apiRequests := awscloudfront.NewOriginRequestPolicy(stack, jsii.String("ApiOriginRequestPolicy"), &awscloudfront.OriginRequestPolicyProps{
		// Policy names are unique per account: carry the region.
		OriginRequestPolicyName: regionalName(stack, "api-requests"),
		Comment:                 jsii.String("Banners API: the query string (quarter) and the " + httpapi.CookieName + " cookie, nothing else"),
		QueryStringBehavior:     awscloudfront.OriginRequestQueryStringBehavior_All(),
		// The only cookie the API reads: the last banner served to a visitor.
		CookieBehavior: awscloudfront.OriginRequestCookieBehavior_AllowList(jsii.String(httpapi.CookieName)),
		// No viewer headers: unforwarded, Host is the function URL's own, as
		// the URL needs and the OAC signature covers.
		HeaderBehavior: awscloudfront.OriginRequestHeaderBehavior_None(),
	})

	var errorResponses []*awscloudfront.ErrorResponse
	for _, status := range errorStatuses {
		errorResponses = append(errorResponses, &awscloudfront.ErrorResponse{
			HttpStatus: jsii.Number(status),
			Ttl:        awscdk.Duration_Seconds(jsii.Number(0)),
		})
	}
	apiBehavior := &awscloudfront.BehaviorOptions{
		Origin:               apiOrigin,
		ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
		// The function answers GET and HEAD, and 405 to the rest itself.
		AllowedMethods: awscloudfront.AllowedMethods_ALLOW_ALL(),
		// Every visitor gets a fresh shuffle and the cookie is honoured.
		CachePolicy:           awscloudfront.CachePolicy_CACHING_DISABLED(),
		OriginRequestPolicy:   apiRequests,
		ResponseHeadersPolicy: headers,
		Compress:              jsii.Bool(true),
	}

	dist := awscloudfront.NewDistribution(stack, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		Comment:           jsii.String("Banners"),
		DefaultRootObject: jsii.String("index.html"),
		HttpVersion:       awscloudfront.HttpVersion_HTTP2_AND_3,
		// North America and Europe edges only, the cheapest; they serve the rest.
		PriceClass:     awscloudfront.PriceClass_PRICE_CLASS_100,
		ErrorResponses: &errorResponses,
		// Standard logs: free to deliver, paid only as S3 storage.
		EnableLogging: jsii.Bool(true),
		LogBucket:     logs,
		LogFilePrefix: jsii.String(cloudFrontLogPrefix),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                siteOrigin,
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           pageCache,
			ResponseHeadersPolicy: headers,
			Compress:              jsii.Bool(true),
		},
		AdditionalBehaviors: &map[string]*awscloudfront.BehaviorOptions{
			"/" + imagesPrefix + "*": {
				Origin:                siteOrigin,
				ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
				AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
				CachePolicy:           imageCache,
				ResponseHeadersPolicy: headers,
				// JPEG is already compressed.
				Compress: jsii.Bool(false),
			},
			"/api/*":       apiBehavior,
			"/campaigns/*": apiBehavior,
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dist, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-CFR4"),
		Reason: jsii.String("The default *.cloudfront.net certificate fixes the viewer policy at TLSv1; a TLS 1.2 minimum needs a custom domain and ACM certificate"),
	}}, nil)
	// The warning asks for DefaultRootObject (see siteOrigin's comment).
	awscdk.Annotations_Of(dist).AcknowledgeWarning(jsii.String("@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk"),
		jsii.String("DefaultRootObject maps GET / to index.html and no query string reaches S3"))
	return dist
}

// newSecurityHeadersPolicy defines the response headers added to every
// answer. There is no Cross-Origin-Resource-Policy on purpose: third-party
// pages embed the ad tag and its images.
func newSecurityHeadersPolicy(stack awscdk.Stack) awscloudfront.ResponseHeadersPolicy {
	return awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("SecurityHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: regionalName(stack, "security-headers"),
		Comment:                   jsii.String("Banners: HSTS, CSP, nosniff, no framing"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)), // two years, the usual preload value
				IncludeSubdomains:   jsii.Bool(true),
				Override:            jsii.Bool(true),
			},
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: jsii.String(contentSecurityPolicy),
				Override:              jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption_DENY,
				Override:    jsii.Bool(true),
			},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
				Override:       jsii.Bool(true),
			},
		},
	})
}
