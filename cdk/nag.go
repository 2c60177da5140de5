package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// addNagChecks runs cdk-nag's AWS Solutions rules on every stack of app
// when it synthesizes. An unsuppressed error fails the synth; the report
// lands in the cloud assembly as AwsSolutions-<stack>-NagReport.csv.
func addNagChecks(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Reports: jsii.Bool(true),
	}), nil)
}

// helperSuppressions are the findings on CDK's own helper functions
// (BucketDeployment, bucket notifications) by construct ID prefix. Their code,
// runtime and policies belong to aws-cdk-lib; each says why the finding stands.
var helperSuppressions = map[string][]*cdknag.NagPackSuppression{
	"Custom::CDKBucketDeployment": {
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("CDK's deploy helper: AWSLambdaBasicExecutionRole only lets it write its logs")},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("CDK's grants: read the asset bucket's objects, write and prune this stack's site bucket, invalidate this distribution")},
		{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("CDK pins its helper's Python runtime; it moves with aws-cdk-lib")},
	},
	"BucketNotificationsHandler": {
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("CDK's notifications helper: AWSLambdaBasicExecutionRole only lets it write its logs")},
	},
}

// suppressHelperFindings applies helperSuppressions to the CDK helper
// constructs at the top of stack.
func suppressHelperFindings(stack awscdk.Stack) {
	for _, c := range *stack.Node().Children() {
		for prefix, s := range helperSuppressions {
			if strings.HasPrefix(*c.Node().Id(), prefix) {
				cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
			}
		}
	}
}
