package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsxray"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"banners/internal/csvload"
)

// The operators' view of the stack: metrics taken from the log lines the
// code already writes (metric filters: no extra line and no PutMetricData
// per request), one dashboard, alarms to one SNS topic, and X-Ray sampling
// and groups. docs/operations.md is the runbook.

// Log groups a metric filter reads.
const (
	apiLogs    = "api"    // the API function: one "request" line per request, one "cold start" line
	ingestLogs = "ingest" // the ingest function: "file read" per file, "quarter loaded" per load
)

// logMetric is a metric taken from one kind of log line by a metric filter.
type logMetric struct {
	// name is the metric's name in the stack's namespace.
	name string
	// logs names the log group: apiLogs or ingestLogs.
	logs string
	// pattern is the JSON filter pattern that selects the lines; it names
	// every field that value and the dimension read, as CloudWatch requires.
	pattern string
	// value is what a matching line adds: "1", or "$.field" (a number).
	value string
	// byKind gives the metric the kindDimension, valued from the line's
	// kind field (three values: never the campaign ID).
	byKind bool
	// unit is the metric's unit. Durations are milliseconds: the lines carry
	// duration_ms and init_duration_ms, and a filter can only copy a number.
	unit awscloudwatch.Unit
}

// kindDimension is the ingest metrics' dimension: the file's kind.
const kindDimension = "Kind"

// request selects the API's access log line, one per request.
const request = `$.msg = "request"`

// logMetrics are all metrics taken from log lines. TestMetricFiltersReadRealFields
// holds each pattern to lines the real handler and the real ingest wrote.
var logMetrics = []logMetric{
	{name: "Requests", logs: apiLogs, pattern: `{ ` + request + ` }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	{name: "ClientErrors", logs: apiLogs, pattern: `{ ` + request + ` && $.status >= 400 && $.status < 500 }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	{name: "ServerErrors", logs: apiLogs, pattern: `{ ` + request + ` && $.status >= 500 }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	// Time in the function per request, start to answer (ms); not CloudFront's.
	{name: "Latency", logs: apiLogs, pattern: `{ ` + request + ` && $.duration_ms >= 0 }`, value: "$.duration_ms", unit: awscloudwatch.Unit_MILLISECONDS},
	{name: "CacheHits", logs: apiLogs, pattern: `{ ` + request + ` && $.cache = "hit" }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	// A miss asked DynamoDB (concurrent misses of one key share one GetItem).
	{name: "CacheMisses", logs: apiLogs, pattern: `{ ` + request + ` && $.cache = "miss" }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	// DynamoDB failed and an expired entry answered.
	{name: "StaleServes", logs: apiLogs, pattern: `{ ` + request + ` && $.cache = "stale" }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	{name: "ColdStarts", logs: apiLogs, pattern: `{ $.msg = "cold start" }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	// The wiring at cold start (functions/api/wire.go), in milliseconds;
	// Lambda's own INIT (loading the binary) comes before it.
	{name: "InitDuration", logs: apiLogs, pattern: `{ $.msg = "cold start" && $.init_duration_ms >= 0 }`, value: "$.init_duration_ms", unit: awscloudwatch.Unit_MILLISECONDS},

	// One per quarter load that wrote its quarter.
	{name: "IngestLoads", logs: ingestLogs, pattern: `{ $.msg = "quarter loaded" }`, value: "1", unit: awscloudwatch.Unit_COUNT},
	{name: "RowsAccepted", logs: ingestLogs, pattern: `{ $.msg = "file read" && $.kind = * && $.accepted >= 0 }`, value: "$.accepted", byKind: true, unit: awscloudwatch.Unit_COUNT},
	{name: "RowsRejected", logs: ingestLogs, pattern: `{ $.msg = "file read" && $.kind = * && $.rejected >= 0 }`, value: "$.rejected", byKind: true, unit: awscloudwatch.Unit_COUNT},
	// Rejected rows that are wrong in themselves: all but conversions of a
	// click not (yet) uploaded, which resolve when the clicks arrive.
	{name: "RowsInvalid", logs: ingestLogs, pattern: `{ $.msg = "file read" && $.kind = * && $.invalid >= 0 }`, value: "$.invalid", byKind: true, unit: awscloudwatch.Unit_COUNT},
}

// Alarm thresholds, for the assignment's 5,000 requests a minute, each a
// cache hit (well under a millisecond) or one GetItem (about 10 ms).
const (
	// serverErrorPercent: 1% is 50 visitors a minute without banners. The
	// handler answers 5xx only when DynamoDB fails with nothing cached (503)
	// or on a bug (500), so a healthy stack stays at 0.
	serverErrorPercent = 1
	// minRequestsForRatio: below 10 requests a minute one error is 10% or
	// more; such minutes do not count towards the 5xx alarm.
	minRequestsForRatio = 10
	// p99LatencyMs: 500 ms, fifty times a cache miss; a p99 there means
	// DynamoDB calls wait on retries or the 2 s cache read deadline.
	p99LatencyMs = 500
	// invalidRowPercent: the real dataset loads with 0 rejected rows, so
	// 1% of a file's rows wrong in themselves means a broken export.
	invalidRowPercent = 1
)

// Sampling of the API's traces in X-Ray. At 5,000 requests a minute (216
// million a month), 1 trace a second plus 1% of the rest is 1.8 a second, 4.7
// million a month: $23 at $5 per million, against $66 for X-Ray's default (1
// a second plus 5%) and $1,080 for every request. That fills the service map
// with hits and misses; stale serves and errors come in bursts when DynamoDB
// fails, so even 2% of them are dozens of traces a minute.
const (
	samplingReservoir = 1    // traces a second, before the rate applies
	samplingRate      = 0.01 // of the requests beyond the reservoir
)

// observability is what newObservability defines, for the stack's outputs
// and the tests.
type observability struct {
	topic     awssns.Topic
	dashboard awscloudwatch.Dashboard
}

// newObservability defines the metric filters, the alarms and their SNS topic
// (mailing props.AlarmEmail if set), the dashboard, and the API's X-Ray setup.
func newObservability(stack awscdk.Stack, props *BannersStackProps, api api, d data, dist awscloudfront.Distribution) observability {
	// Per stack, so that two stacks in one region keep their metrics apart.
	namespace := "Banners/" + *stack.StackName()
	m := newLogMetrics(stack, namespace, map[string]awslogs.ILogGroup{apiLogs: api.logs, ingestLogs: d.ingestLogs})

	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Banners alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(topic, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SNS2"),
		Reason: jsii.String("Alarm notifications carry alarm names and numbers only; CloudWatch cannot publish to a topic " +
			"under the AWS-managed SNS key, and a customer-managed key would cost more than the topic"),
	}}, nil)
	if props.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.AlarmEmail), nil))
	}

	alarms := newAlarms(stack, m, api, d)
	action := awscloudwatchactions.NewSnsAction(topic)
	for _, a := range alarms {
		a.AddAlarmAction(action)
		a.AddOkAction(action) // the all-clear, so nobody keeps watching a recovered stack
	}
	dashboard := newDashboard(stack, m, api, d, dist, alarms)
	newXRay(stack, api)
	return observability{topic: topic, dashboard: dashboard}
}

// metrics are the stack's log metrics in namespace ns, as CloudWatch
// metrics of one-minute periods.
type metrics struct{ ns string }

// newLogMetrics defines a metric filter per logMetrics entry on its log group.
func newLogMetrics(stack awscdk.Stack, namespace string, groups map[string]awslogs.ILogGroup) metrics {
	for _, lm := range logMetrics {
		props := &awslogs.MetricFilterProps{
			LogGroup:        groups[lm.logs],
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(lm.pattern)),
			MetricNamespace: jsii.String(namespace),
			MetricName:      jsii.String(lm.name),
			MetricValue:     jsii.String(lm.value),
			Unit:            lm.unit,
		}
		if lm.byKind {
			props.Dimensions = &map[string]*string{kindDimension: jsii.String("$.kind")}
		}
		awslogs.NewMetricFilter(stack, jsii.String(lm.name+"Filter"), props)
	}
	return metrics{ns: namespace}
}

// metric returns the log metric name with statistic stat over one
// minute, for the given kind when the metric has the kind dimension. A
// name that no logMetrics entry has fails the synth.
func (m metrics) metric(name, stat, label string, kind ...csvload.Kind) awscloudwatch.Metric {
	if !slices.ContainsFunc(logMetrics, func(lm logMetric) bool { return lm.name == name }) {
		panic("no log metric " + name)
	}
	props := &awscloudwatch.MetricProps{
		Namespace:  jsii.String(m.ns),
		MetricName: jsii.String(name),
		Statistic:  jsii.String(stat),
		Period:     awscdk.Duration_Minutes(jsii.Number(1)),
		Label:      jsii.String(label),
	}
	if len(kind) > 0 {
		props.DimensionsMap = &map[string]*string{kindDimension: jsii.String(string(kind[0]))}
	}
	return awscloudwatch.NewMetric(props)
}

// expr returns a metric math expression over using, with one-minute
// periods unless period is given.
func expr(expression, label string, using map[string]awscloudwatch.IMetric, period ...awscdk.Duration) awscloudwatch.MathExpression {
	p := awscdk.Duration_Minutes(jsii.Number(1))
	if len(period) > 0 {
		p = period[0]
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(expression),
		Label:        jsii.String(label),
		UsingMetrics: &using,
		Period:       p,
	})
}

// serverErrorRate is the percentage of requests answered 5xx in a minute,
// missing for minutes with fewer than minRequestsForRatio requests.
func (m metrics) serverErrorRate() awscloudwatch.MathExpression {
	return expr(fmt.Sprintf("IF(requests >= %d, 100 * FILL(errors, 0) / requests, 0)", minRequestsForRatio), "5xx %",
		map[string]awscloudwatch.IMetric{
			"requests": m.metric("Requests", "Sum", "requests"),
			"errors":   m.metric("ServerErrors", "Sum", "5xx"),
		})
}

// invalidRowRate is, per five minutes, the highest share of invalid rows
// among the kinds of file loaded, in percent.
func (m metrics) invalidRowRate() awscloudwatch.MathExpression {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	using := map[string]awscloudwatch.IMetric{}
	var shares []string
	for _, k := range csvload.Kinds {
		id := string(k)
		// Metric IDs are global to the alarm: one set per kind.
		acc, rej, inv := "accepted_"+id, "rejected_"+id, "invalid_"+id
		rows := fmt.Sprintf("(FILL(%s, 0) + FILL(%s, 0))", acc, rej)
		share := expr(fmt.Sprintf("IF(%s > 0, 100 * FILL(%s, 0) / %s, 0)", rows, inv, rows), "invalid % "+id,
			map[string]awscloudwatch.IMetric{
				acc: m.metric("RowsAccepted", "Sum", "accepted "+id, k).With(&awscloudwatch.MetricOptions{Period: five}),
				rej: m.metric("RowsRejected", "Sum", "rejected "+id, k).With(&awscloudwatch.MetricOptions{Period: five}),
				inv: m.metric("RowsInvalid", "Sum", "invalid "+id, k).With(&awscloudwatch.MetricOptions{Period: five}),
			}, five)
		using["share_"+id] = share
		shares = append(shares, "share_"+id)
	}
	return expr("MAX(["+strings.Join(shares, ", ")+"])", "invalid rows % (worst kind)", using, five)
}

// newAlarms defines the alarms. Each treats missing data on purpose: an idle
// stack writes no log lines, and no data must read as "nothing wrong".
func newAlarms(stack awscdk.Stack, m metrics, api api, d data) []awscloudwatch.Alarm {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold, periods, toAlarm float64,
		missing awscloudwatch.TreatMissingData) awscloudwatch.Alarm {
		return awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description + " Runbook: docs/operations.md#" + id),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			DatapointsToAlarm:  jsii.Number(toAlarm),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   missing,
		})
	}
	notBreaching := awscloudwatch.TreatMissingData_NOT_BREACHING
	return []awscloudwatch.Alarm{
		// 3 of 5 minutes: a single bad minute (a deploy, one throttled
		// burst) does not page; a failure that lasts does, within 5 minutes.
		alarm("ApiServerErrors", "5xx answers are 1% or more of API requests in 3 of 5 minutes.",
			m.serverErrorRate(), serverErrorPercent, 5, 3, notBreaching),
		// 5 minutes in a row: one slow minute (cold starts after a deploy,
		// a burst of misses) is noise; five are a slow dependency.
		alarm("ApiLatencyP99", "p99 time in the API function is 500 ms or more for 5 minutes in a row.",
			m.metric("Latency", "p99", "p99 latency (ms)"), p99LatencyMs, 5, 5, notBreaching),
		// Stale serves happen only when DynamoDB fails: one minute can be a
		// blip the retries hide, five in a row are DynamoDB trouble.
		alarm("ApiStaleServes", "The API served stale banners (DynamoDB failing) in each of 5 minutes in a row.",
			m.metric("StaleServes", "Sum", "stale serves"), 1, 5, 5, notBreaching),
		// The handler answers every failure itself: a function error is a crash,
		// timeout or out-of-memory (a 502). Five skip a lone runtime hiccup.
		alarm("ApiFunctionErrors", "The API function failed (crash, timeout, memory) 5 times or more in 5 minutes.",
			api.fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 5, 1, 1, notBreaching),
		// A throttled invocation is a visitor without banners; 3 minutes in
		// a row is the concurrency limit being hit, not one burst.
		alarm("ApiFunctionThrottles", "Lambda throttled the API function in each of 3 minutes in a row.",
			api.fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}), 1, 3, 3, notBreaching),
		// An event lands in the queue after Lambda's two retries: a load is
		// lost until someone replays it, so one period is enough. Missing
		// data keeps the state: SQS stops reporting an idle queue after 6
		// hours, which must not clear the alarm; a new queue reports 0 at once.
		alarm("IngestFailuresQueued", "Failed ingest events are waiting in the failure queue.",
			d.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
			1, 1, 1, awscloudwatch.TreatMissingData_IGNORE),
		// One period: a load takes seconds, so an upload's rows fall into one
		// or two; the alarm clears once no bad file is loaded (no data).
		alarm("IngestInvalidRows", "1% or more of an uploaded file's rows were wrong in themselves (not merely waiting for their clicks).",
			m.invalidRowRate(), invalidRowPercent, 1, 1, notBreaching),
	}
}

// newXRay defines the API's sampling rule and X-Ray groups with insights on;
// the README and docs/operations.md show the groups' filters to type.
func newXRay(stack awscdk.Stack, api api) {
	fnName := *api.fn.FunctionName() // a token: resolved by CloudFormation
	awsxray.NewCfnSamplingRule(stack, jsii.String("ApiSamplingRule"), &awsxray.CfnSamplingRuleProps{
		SamplingRule: &awsxray.CfnSamplingRule_SamplingRuleProperty{
			RuleName:      jsii.String(xrayName(stack, "api")),
			Priority:      jsii.Number(100),
			ReservoirSize: jsii.Number(samplingReservoir),
			FixedRate:     jsii.Number(samplingRate),
			ServiceName:   jsii.String(fnName),
			ServiceType:   jsii.String("*"),
			Host:          jsii.String("*"),
			HttpMethod:    jsii.String("*"),
			UrlPath:       jsii.String("*"),
			ResourceArn:   jsii.String("*"),
			Version:       jsii.Number(1),
		},
	})
	groups := []struct{ suffix, filter string }{
		// Requests served from an expired cache entry because DynamoDB
		// failed (the cache annotation, internal/tracing).
		{"stale", `annotation.cache = "stale"`},
		// internal/tracing annotates every request with its status; a crash
		// or timeout marks the function's own segment as a fault.
		{"errors", `annotation.status >= 500 OR service("` + fnName + `") { fault = true }`},
		// The p99 alarm's threshold, in seconds.
		{"slow", `service("` + fnName + `") { responsetime >= ` + fmt.Sprint(p99LatencyMs/1000.0) + ` }`},
	}
	for _, g := range groups {
		awsxray.NewCfnGroup(stack, jsii.String("XRayGroup"+g.suffix), &awsxray.CfnGroupProps{
			GroupName:        jsii.String(xrayName(stack, g.suffix)),
			FilterExpression: jsii.String(g.filter),
			InsightsConfiguration: &awsxray.CfnGroup_InsightsConfigurationProperty{
				InsightsEnabled:      jsii.Bool(true),
				NotificationsEnabled: jsii.Bool(false),
			},
		})
	}
}

// xrayNameMax is the longest X-Ray group or sampling rule name.
const xrayNameMax = 32

// xrayName returns "<stack name>-<suffix>", cut to X-Ray's 32 characters
// from the stack name's end. Group and rule names are unique per region.
func xrayName(stack awscdk.Stack, suffix string) string {
	name := *stack.StackName()
	if max := xrayNameMax - len(suffix) - 1; len(name) > max {
		name = name[:max]
	}
	return name + "-" + suffix
}
