package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// logRetention is how long function logs are kept: long enough to
// investigate last month's incident, short enough not to pile up cost.
const logRetention = awslogs.RetentionDays_ONE_MONTH

// accessLogDays is how long the access-logs bucket keeps its logs.
const accessLogDays = 90

// Key prefixes in the access-logs bucket, one per log source.
const (
	cloudFrontLogPrefix = "cloudfront/"
	siteBucketLogPrefix = "s3/site/"
	dataBucketLogPrefix = "s3/data/"
)

// newBucket defines a private bucket: public access blocked, TLS only, SSE-S3
// (which CloudFront's OAC reads without a KMS key policy), emptied and
// deleted with the stack, as what the buckets hold can be uploaded again
// (site, data) or is worthless without the stack (logs). props has the rest.
func newBucket(stack awscdk.Stack, id string, props *awss3.BucketProps) awss3.Bucket {
	props.BlockPublicAccess = awss3.BlockPublicAccess_BLOCK_ALL()
	props.EnforceSSL = jsii.Bool(true)
	props.Encryption = awss3.BucketEncryption_S3_MANAGED
	props.RemovalPolicy = awscdk.RemovalPolicy_DESTROY
	props.AutoDeleteObjects = jsii.Bool(true)
	return awss3.NewBucket(stack, jsii.String(id), props)
}

// newFunctionLogGroup returns a log group with logRetention, deleted with the
// stack and named by CloudFormation, so that no other stack collides with it.
func newFunctionLogGroup(scope constructs.Construct, id string) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
}

// newAccessLogsBucket defines the bucket of CloudFront's standard logs and
// the site and data buckets' S3 access logs. It logs nothing itself: that
// would log its own deliveries (cdk-nag counts a log target as compliant).
func newAccessLogsBucket(stack awscdk.Stack) awss3.Bucket {
	return newBucket(stack, "AccessLogsBucket", &awss3.BucketProps{
		// CloudFront standard logging writes with an ACL (awslogsdelivery),
		// which buckets that enforce bucket ownership refuse.
		ObjectOwnership: awss3.ObjectOwnership_OBJECT_WRITER,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(accessLogDays)),
		}},
	})
}

// newHelperLogGroups gives each Lambda function without a log group of its
// own (CDK's helpers for bucket notifications and auto-deleting buckets) one
// with logRetention, named as Lambda writes: /aws/lambda/<function name>.
// Every custom resource, the helpers' only callers, waits for the groups,
// so that Lambda never creates one without retention first.
func newHelperLogGroups(stack awscdk.Stack) {
	var groups []constructs.IDependable
	var customResources []constructs.IConstruct
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		res, ok := c.(awscdk.CfnResource)
		if !ok {
			continue
		}
		typ := *res.CfnResourceType()
		if strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
			customResources = append(customResources, c)
			continue
		}
		if typ != "AWS::Lambda::Function" {
			continue
		}
		if fn, ok := c.(awslambda.CfnFunction); ok && fn.LoggingConfig() != nil {
			continue // has its own log group
		}
		// Named after the helper: "<helper construct ID>Logs".
		id := *c.Node().Scope().Node().Id() + "Logs"
		g := awslogs.NewLogGroup(stack, jsii.String(id), &awslogs.LogGroupProps{
			LogGroupName:  awscdk.Fn_Join(jsii.String(""), jsii.Strings("/aws/lambda/", *res.Ref())),
			Retention:     logRetention,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		groups = append(groups, g)
	}
	for _, cr := range customResources {
		cr.Node().AddDependency(groups...)
	}
}
