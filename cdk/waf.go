package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
)

// wafRegion is the only region where a web ACL for CloudFront can live.
const wafRegion = "us-east-1"

// newWAF attaches to the distribution a web ACL whose rate-based rule blocks
// (403) a client IP above limit requests in 5 minutes until its rate falls
// below. A template rule stops the deploy outside us-east-1, its only region.
func newWAF(stack awscdk.Stack, dist awscloudfront.Distribution, limit int) {
	awscdk.NewCfnRule(stack, jsii.String("WafNeedsUsEast1"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert:            awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(wafRegion)),
			AssertDescription: jsii.String("wafRateLimit needs the stack in us-east-1 (a CloudFront web ACL lives there); deploy there or drop -c wafRateLimit"),
		}},
	})
	visibility := func(metric string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(metric),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		// Web ACL names are unique per account and scope: carry the region.
		Name:             regionalName(stack, "rate-limit"),
		Description:      jsii.String("Banners: blocks a client IP above the rate limit"),
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility("banners-web-acl"),
		Rules: &[]any{&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String("rate-limit-per-ip"),
			Priority: jsii.Number(0),
			Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]any{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
					Limit:               jsii.Number(float64(limit)),
					AggregateKeyType:    jsii.String("IP"),
					EvaluationWindowSec: jsii.Number(300),
				},
			},
			VisibilityConfig: visibility("banners-rate-limit-per-ip"),
		}},
	})
	dist.AttachWebAclId(acl.AttrArn())
}

// regionalName returns "<stack name>-<suffix>-<region>": a name of account-wide
// resources (CloudFront policies, OACs, web ACLs) unique across regions.
func regionalName(stack awscdk.Stack, suffix string) *string {
	return awscdk.Fn_Join(jsii.String("-"), jsii.Strings(*stack.StackName(), suffix, *stack.Region()))
}
