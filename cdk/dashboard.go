package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"banners/internal/csvload"
)

// newDashboard defines the dashboard. Its first row answers "are visitors
// getting banners right now?"; the rows below explain why not.
func newDashboard(stack awscdk.Stack, m metrics, api api, d data, dist awscloudfront.Distribution, alarms []awscloudwatch.Alarm) awscloudwatch.Dashboard {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	ms := func(name, stat, label string) awscloudwatch.MathExpression {
		// IDs are global to a widget: one per metric and statistic.
		id := strings.ToLower(name) + "_" + strings.ToLower(stat)
		return expr(id, label, map[string]awscloudwatch.IMetric{id: m.metric(name, stat, stat)})
	}
	graph := func(title string, width float64, left []awscloudwatch.IMetric, right ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		props := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
		if len(right) > 0 {
			props.Right = &right
		}
		return awscloudwatch.NewGraphWidget(props)
	}
	cacheHitRatio := expr("100 * FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0) + FILL(stale, 0))", "cache hit %",
		map[string]awscloudwatch.IMetric{
			"hits":   m.metric("CacheHits", "Sum", "hits"),
			"misses": m.metric("CacheMisses", "Sum", "misses"),
			"stale":  m.metric("StaleServes", "Sum", "stale"),
		})
	tableMetric := func(name, label string) awscloudwatch.IMetric {
		return d.table.Metric(jsii.String(name), &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute, Label: jsii.String(label)})
	}
	// CloudFront reports its metrics in us-east-1 only, whatever the
	// stack's region; a dashboard may show them, an alarm here could not.
	cloudFront := func(name, stat, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/CloudFront"), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"DistributionId": dist.DistributionId(), "Region": jsii.String("Global")},
			Statistic:     jsii.String(stat), Period: minute, Label: jsii.String(label), Region: jsii.String("us-east-1"),
		})
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	var rows, invalid []awscloudwatch.IMetric
	for _, k := range csvload.Kinds {
		rows = append(rows, m.metric("RowsRejected", "Sum", "rejected "+string(k), k).With(&awscloudwatch.MetricOptions{Period: five}))
		invalid = append(invalid, m.metric("RowsInvalid", "Sum", "invalid "+string(k), k).With(&awscloudwatch.MetricOptions{Period: five}))
	}
	var alarmRefs []interfacesawscloudwatch.IAlarmRef
	for _, a := range alarms {
		alarmRefs = append(alarmRefs, a)
	}

	widgets := [][]awscloudwatch.IWidget{
		// Row 1: are visitors getting banners right now?
		{
			awscloudwatch.NewSingleValueWidget(&awscloudwatch.SingleValueWidgetProps{
				Title: jsii.String("Right now (last minute): are visitors getting banners?"),
				Width: jsii.Number(16), Height: jsii.Number(4), Sparkline: jsii.Bool(true),
				Metrics: &[]awscloudwatch.IMetric{
					m.metric("Requests", "Sum", "requests/min"),
					m.serverErrorRate(),
					ms("Latency", "p99", "p99 ms"),
					m.metric("StaleServes", "Sum", "stale serves/min"),
					cloudFront("5xxErrorRate", "Average", "CloudFront 5xx %"),
				},
			}),
			awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("Alarms"), Width: jsii.Number(8), Height: jsii.Number(4), Alarms: &alarmRefs,
			}),
		},
		// Row 2: traffic and answers.
		{
			graph("API requests and errors per minute", 8, []awscloudwatch.IMetric{
				m.metric("Requests", "Sum", "requests"),
				m.metric("ClientErrors", "Sum", "4xx"),
				m.metric("ServerErrors", "Sum", "5xx"),
			}),
			graph("API latency in the function (ms)", 8, []awscloudwatch.IMetric{
				ms("Latency", "p50", "p50"), ms("Latency", "p99", "p99"),
			}),
			graph("CloudFront requests and error rate", 8,
				[]awscloudwatch.IMetric{cloudFront("Requests", "Sum", "requests")},
				cloudFront("4xxErrorRate", "Average", "4xx %"), cloudFront("5xxErrorRate", "Average", "5xx %")),
		},
		// Row 3: the cache and DynamoDB behind it.
		{
			graph("Cache hit ratio (%) and stale serves", 8, []awscloudwatch.IMetric{cacheHitRatio},
				m.metric("StaleServes", "Sum", "stale serves")),
			graph("DynamoDB reads: cache misses and read units", 8, []awscloudwatch.IMetric{
				m.metric("CacheMisses", "Sum", "cache misses (a GetItem each, or a share of one)"),
				tableMetric("ConsumedReadCapacityUnits", "read units consumed"),
			}),
			graph("DynamoDB throttles and errors", 8, []awscloudwatch.IMetric{
				tableMetric("ReadThrottleEvents", "read throttles"),
				tableMetric("WriteThrottleEvents", "write throttles"),
				tableMetric("SystemErrors", "DynamoDB errors"),
			}),
		},
		// Row 4: the API function.
		{
			graph("API function errors and throttles", 8, []awscloudwatch.IMetric{
				api.fn.MetricErrors(&awscloudwatch.MetricOptions{Period: minute, Label: jsii.String("errors")}),
				api.fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: minute, Label: jsii.String("throttles")}),
			}, api.fn.MetricInvocations(&awscloudwatch.MetricOptions{Period: minute, Label: jsii.String("invocations")})),
			graph("Cold starts and their init (ms)", 8,
				[]awscloudwatch.IMetric{m.metric("ColdStarts", "Sum", "cold starts")},
				ms("InitDuration", "p50", "init p50 ms"), ms("InitDuration", "Maximum", "init max ms")),
			graph("API concurrent executions", 8, []awscloudwatch.IMetric{
				api.fn.Metric(jsii.String("ConcurrentExecutions"), &awscloudwatch.MetricOptions{
					Statistic: jsii.String("Maximum"), Period: minute, Label: jsii.String("concurrent executions"),
				}),
			}),
		},
		// Row 5: loading the data.
		{
			graph("Ingest: quarter loads and function errors (5 min)", 8, []awscloudwatch.IMetric{
				m.metric("IngestLoads", "Sum", "quarter loads").With(&awscloudwatch.MetricOptions{Period: five}),
				d.ingest.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String("failed attempts (retried)")}),
			}),
			graph("Ingest: rejected and invalid rows per kind (5 min)", 8, append(rows, invalid...)),
			graph("Failed-ingest queue depth", 8, []awscloudwatch.IMetric{
				d.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String("events waiting")}),
			}),
		},
	}
	dash := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	for _, row := range widgets {
		dash.AddWidgets(row...)
	}
	return dash
}
