package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// visitorCookie is the only cookie the API sees: it remembers the last
// banner served to a visitor.
const visitorCookie = "banner_last"

// contentSecurityPolicy allows only what the page uses: its own script,
// style, API and images, plus the data: URL favicon. Inline styles are
// allowed for the <noscript> fallback.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// distribution is the public face of the stack.
type distribution struct {
	dist       awscloudfront.Distribution
	siteBucket awss3.Bucket
}

// newDistribution defines the CloudFront distribution: the site bucket by
// default, long-cached images under /images/*, and the uncached API under
// /api/* and /campaigns/*.
func newDistribution(stack awscdk.Stack, siteBucket awss3.Bucket, api api) distribution {
	// One origin object for both S3 behaviours, so CloudFront has one S3 origin
	// and one OAC, and the bucket policy has one statement.
	siteOrigin := awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(siteBucket, nil)
	apiOrigin := awscloudfrontorigins.NewRestApiOrigin(api.rest, nil)
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
		Comment:             jsii.String("Banners API: the query string (quarter) and the banner_last cookie, nothing else"),
		QueryStringBehavior: awscloudfront.OriginRequestQueryStringBehavior_All(),
		CookieBehavior:      awscloudfront.OriginRequestCookieBehavior_AllowList(jsii.String(visitorCookie)),
		// No viewer headers: API Gateway needs its own Host, which CloudFront
		// sets from the origin domain when Host is not forwarded.
		HeaderBehavior: awscloudfront.OriginRequestHeaderBehavior_None(),
	})

	apiBehavior := &awscloudfront.BehaviorOptions{
		Origin:               apiOrigin,
		ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
		AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
		// Every request reaches the function, so every visitor gets a fresh
		// shuffle and the cookie is honoured.
		CachePolicy:           awscloudfront.CachePolicy_CACHING_DISABLED(),
		OriginRequestPolicy:   apiRequests,
		ResponseHeadersPolicy: headers,
		Compress:              jsii.Bool(true),
	}

	dist := awscloudfront.NewDistribution(stack, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		Comment:           jsii.String("Banners"),
		DefaultRootObject: jsii.String("index.html"),
		HttpVersion:       awscloudfront.HttpVersion_HTTP2_AND_3,
		// North America and Europe only: the cheapest price class. Visitors
		// elsewhere are served from the nearest of those edges.
		PriceClass: awscloudfront.PriceClass_PRICE_CLASS_100,
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
	return distribution{dist: dist, siteBucket: siteBucket}
}

// newSecurityHeadersPolicy defines the response headers added to every
// answer. There is no Cross-Origin-Resource-Policy on purpose: third-party
// pages embed the ad tag and its images.
func newSecurityHeadersPolicy(stack awscdk.Stack) awscloudfront.ResponseHeadersPolicy {
	return awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("SecurityHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("Banners: HSTS, CSP, nosniff, no framing"),
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
