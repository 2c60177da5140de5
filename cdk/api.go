package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"strconv"
)

// api is the dynamic side of the stack: the API function and its function
// URL, which only CloudFront can call.
type api struct {
	fn  awslambda.Function
	url awslambda.FunctionUrl
	// logs is the function's log group, which feeds the operators' metrics.
	logs awslogs.LogGroup
}

// newAPI defines the API function and its function URL. The URL takes
// every method and path: the function answers 404 and 405 itself, so what
// CloudFront serves is what the handler tests check. Its auth type is
// AWS_IAM and only this stack's distribution may call it (signing through
// an origin access control, newDistribution): nothing goes around CloudFront.
func newAPI(stack awscdk.Stack, props *BannersStackProps, table awsdynamodb.ITable) api {
	fn, logs := newFunction(stack, "ApiFunction", props.LambdaDir, "Banners API function", &awslambda.FunctionProps{
		Description: jsii.String("Serves the banners of a campaign (JSON) and the ad-tag redirect"),
		// CPU scales with memory: 256 MB (the default) halves cold-start and
		// cache-miss latency against 128 MB, and leaves room for the cache.
		MemorySize: jsii.Number(float64(props.APIMemoryMB)),
		// A request is one cached lookup or one GetItem (milliseconds); 10 s
		// fails fast, well inside CloudFront's 30 s origin read timeout.
		Timeout: awscdk.Duration_Seconds(jsii.Number(10)),
		// JSON logs and no START/END/REPORT lines (system level WARN): one line
		// a request, about 300 bytes of log ingestion (see docs/deploy.md).
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		SystemLogLevelV2:             awslambda.SystemLogLevel_WARN,
		ApplicationLogLevelV2:        awslambda.ApplicationLogLevel_INFO,
		ReservedConcurrentExecutions: reservedConcurrency(props.APIReservedConcurrency),
		Environment: &map[string]*string{
			"TABLE_NAME":    table.TableName(),
			"CACHE_TTL":     jsii.String(props.CacheTTL),
			"CACHE_MAX_MIB": jsii.String(strconv.Itoa(props.CacheMaxMiB)),
			// Images are served by the same CloudFront domain as the page.
			"IMAGE_BASE_URL": jsii.String("/" + imagesPrefix),
		},
	})
	// Exactly what the API calls: one GetItem per campaign and quarter.
	table.Grant(fn, jsii.String("dynamodb:GetItem"))

	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		// Callers must sign with SigV4: CloudFront does, through the OAC.
		AuthType: awslambda.FunctionUrlAuthType_AWS_IAM,
	})
	return api{fn: fn, url: url, logs: logs}
}

// reservedConcurrency returns n as a ReservedConcurrentExecutions value, or
// nil (no reservation) when n is 0.
func reservedConcurrency(n int) *float64 {
	if n <= 0 {
		return nil
	}
	return jsii.Number(float64(n))
}

// newFunction defines function id from the linux/arm64 `bootstrap` in dir,
// traced by X-Ray, with its own log group (<id>Logs) and a role (<id>Role)
// that may write there and nothing else yet (AWSLambdaBasicExecutionRole
// would allow any log group); each function adds the calls it makes.
func newFunction(stack awscdk.Stack, id, dir, roleDescription string, props *awslambda.FunctionProps) (awslambda.Function, awslogs.LogGroup) {
	logs := newFunctionLogGroup(stack, id+"Logs")
	role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(roleDescription + ": logs to its own log group, plus the grants next to the function"),
	})
	logs.GrantWrite(role)
	// Tracing_ACTIVE adds xray:PutTraceSegments and PutTelemetryRecords on "*".
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions"),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	props.Runtime = awslambda.Runtime_PROVIDED_AL2023()
	props.Architecture = awslambda.Architecture_ARM_64()
	props.Handler = jsii.String("bootstrap")
	props.Code = awslambda.Code_FromAsset(jsii.String(dir), nil)
	props.Role = role
	props.Tracing = awslambda.Tracing_ACTIVE
	props.LogGroup = logs
	return awslambda.NewFunction(stack, jsii.String(id), props), logs
}
