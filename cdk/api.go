package main

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// api is the dynamic side of the stack: the REST API and the function
// behind it.
type api struct {
	rest awsapigateway.RestApi
	fn   awslambda.Function
}

// newAPI defines the API function and the regional REST API that routes
// GET /api/campaigns/{campaign_id}/banners and GET /campaigns/{campaign_id}
// to it.
//
// The execute-api endpoint stays reachable directly (CloudFront uses it as its
// origin); there is no origin secret because a header value in the template is
// not a secret. Direct callers get the same answers and share the stage
// throttle, which is what bounds abuse and cost.
func newAPI(stack awscdk.Stack, props *BannersStackProps, table awsdynamodb.ITable) api {
	fn := awslambda.NewFunction(stack, jsii.String("ApiFunction"), &awslambda.FunctionProps{
		Description:  jsii.String("Serves the banners of a campaign (JSON) and the ad-tag redirect"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(props.LambdaDir), nil),
		// Lambda CPU scales with memory: 256 MB halves cold-start and
		// cache-miss latency compared with 128 MB for a small Go binary, and
		// leaves ample room for the in-memory banner cache.
		MemorySize: jsii.Number(256),
		// A request is one cached lookup or one DynamoDB query (milliseconds);
		// 10 s fails fast, well inside API Gateway's 29 s integration limit.
		Timeout:  awscdk.Duration_Seconds(jsii.Number(10)),
		Tracing:  awslambda.Tracing_ACTIVE,
		LogGroup: newFunctionLogGroup(stack, "ApiFunctionLogs"),
		Environment: &map[string]*string{
			"TABLE_NAME": table.TableName(),
			"CACHE_TTL":  jsii.String(props.CacheTTL),
			// Images are served by the same CloudFront domain as the page.
			"IMAGE_BASE_URL": jsii.String("/" + imagesPrefix),
		},
	})
	// Read-only: the API never writes the table.
	table.GrantReadData(fn)

	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	rest := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName: jsii.String("banners"),
		Description: jsii.String("Banners API, fronted by CloudFront"),
		// Regional: CloudFront is the edge layer; an edge-optimized API would
		// put a second, hidden CloudFront in front of it.
		EndpointConfiguration: &awsapigateway.EndpointConfiguration{
			Types: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		},
		// Access logging needs the account-level API Gateway CloudWatch role,
		// which the recommended feature flags no longer create by default.
		CloudWatchRole: jsii.Bool(true),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(props.StageName),
			TracingEnabled:       jsii.Bool(true),
			ThrottlingRateLimit:  jsii.Number(props.ThrottleRateLimit),
			ThrottlingBurstLimit: jsii.Number(float64(props.ThrottleBurstLimit)),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
			// Access logs carry what we need; execution logs cost per line.
			LoggingLevel: awsapigateway.MethodLoggingLevel_OFF,
		},
	})

	// The stack exports this URL as ApiUrl, next to the CloudFront URLs; drop
	// the construct's own unnamed copy of it.
	rest.Node().TryRemoveChild(jsii.String("Endpoint"))

	// Proxy integration: the function sees the whole request and shapes the
	// whole response, including the 302 and the banner_last cookie.
	integration := awsapigateway.NewLambdaIntegration(fn, &awsapigateway.LambdaIntegrationOptions{
		Proxy: jsii.Bool(true),
		// No console test-invoke permission: one fewer grant per method.
		AllowTestInvoke: jsii.Bool(false),
	})
	banners := rest.Root().
		AddResource(jsii.String("api"), nil).
		AddResource(jsii.String("campaigns"), nil).
		AddResource(jsii.String("{campaign_id}"), nil).
		AddResource(jsii.String("banners"), nil)
	banners.AddMethod(jsii.String("GET"), integration, nil)

	adTag := rest.Root().
		AddResource(jsii.String("campaigns"), nil).
		AddResource(jsii.String("{campaign_id}"), nil)
	adTag.AddMethod(jsii.String("GET"), integration, nil)

	return api{rest: rest, fn: fn}
}

// accessLogFormat returns the stage's JSON access-log line. It carries the
// X-Ray trace id so that a log line leads to its trace.
func accessLogFormat() string {
	fields := map[string]string{
		"requestId":          "$context.requestId",
		"xrayTraceId":        "$context.xrayTraceId",
		"requestTime":        "$context.requestTime",
		"ip":                 "$context.identity.sourceIp",
		"userAgent":          "$context.identity.userAgent",
		"httpMethod":         "$context.httpMethod",
		"path":               "$context.path",
		"resourcePath":       "$context.resourcePath",
		"status":             "$context.status",
		"responseLength":     "$context.responseLength",
		"responseLatency":    "$context.responseLatency",
		"integrationLatency": "$context.integration.latency",
		"integrationStatus":  "$context.integration.status",
		"error":              "$context.error.message",
	}
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}
