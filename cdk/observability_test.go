package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/ingest"
	"banners/internal/memory"
	"banners/internal/server"
	"banners/internal/testkit"
	"banners/internal/tracing"
)

// The metrics come from log lines, so a renamed field would silently empty
// a dashboard. These tests capture the lines the real API handler and the
// real ingest write, and match every metric filter of the synthesized
// template against them.

// capturedLine is one log line, with the scenario that wrote it.
type capturedLine struct {
	scenario string
	line     []byte
}

// quarterCSV is quarter 1 of a small dataset. Campaign 1 has converting
// banners; clicks has a duplicate click and a row with a column missing,
// conversions a revenue out of range and a conversion of an unknown
// click: 6 rows accepted, 4 rejected, 3 of them invalid.
var quarterCSV = map[csvload.Kind]string{
	csvload.Impressions: "banner_id,campaign_id\n100,1\n101,1\n102,1\n200,2\n",
	csvload.Clicks:      "click_id,banner_id,campaign_id\n1,100,1\n2,101,1\n2,101,1\n3,101\n",
	csvload.Conversions: "conversion_id,click_id,revenue\n1,1,0.5\n2,2,-3\n3,99,1.0\n",
}

// switchableStore is a store that fails while failing is set, as DynamoDB
// does in an outage.
type switchableStore struct {
	banner.Store
	failing atomic.Bool
}

func (s *switchableStore) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	if s.failing.Load() {
		return nil, errors.New("dynamodb: connection refused")
	}
	return s.Store.Campaign(ctx, k)
}

// lineLog collects JSON log lines and splits them by scenario.
type lineLog struct {
	buf   bytes.Buffer
	lines []capturedLine
}

// cut assigns the lines written since the last cut to scenario.
func (l *lineLog) cut(scenario string) {
	sc := bufio.NewScanner(&l.buf)
	for sc.Scan() {
		l.lines = append(l.lines, capturedLine{scenario: scenario, line: bytes.Clone(sc.Bytes())})
	}
	l.buf.Reset()
}

// captureAPILines runs the API as app.NewLambda wires it (the access log
// around the Lambda tracing wrapper around the handler over the cache),
// over an in-memory store that can fail, with the Lambda's logger, and
// returns the lines each request wrote, and the cold start line.
func captureAPILines(t *testing.T) []capturedLine {
	t.Helper()
	var l lineLog
	// functions/api/main.go: the Lambda's logger.
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&l.buf, nil)))

	q := csvload.NewQuarter(1)
	for _, k := range csvload.Kinds {
		require.NoError(t, q.Read(k, csvload.Path(k, 1), strings.NewReader(quarterCSV[k])))
	}
	store := &switchableStore{Store: memory.New(q.Campaigns())}
	clock := testkit.NewClock(time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC))
	require.NoError(t, tracing.Configure(tracing.Config{Logger: log}))
	api, err := app.New(store, app.Config{Cache: cache.Config{Now: clock.Now}, Now: clock.Now, Traced: true, Logger: log})
	require.NoError(t, err)
	t.Cleanup(api.Close)
	h := server.AccessLog(tracing.LambdaHandler(app.SegmentName, api.Handler), &l.buf, tracing.TraceID)

	steps := []struct {
		scenario   string
		method     string
		path       string
		before     func()
		wantStatus int
	}{
		{scenario: "miss", method: "GET", path: "/api/campaigns/1/banners?quarter=1", wantStatus: 200},
		{scenario: "hit", method: "GET", path: "/api/campaigns/1/banners?quarter=1", wantStatus: 200},
		{scenario: "ad tag hit", method: "GET", path: "/campaigns/1?quarter=1", wantStatus: 302},
		{scenario: "unknown campaign", method: "GET", path: "/api/campaigns/999/banners?quarter=1", wantStatus: 404},
		{scenario: "bad id", method: "GET", path: "/api/campaigns/abc/banners", wantStatus: 400},
		{scenario: "wrong method", method: "POST", path: "/api/campaigns/1/banners", wantStatus: 405},
		{scenario: "stale", method: "GET", path: "/api/campaigns/1/banners?quarter=1", wantStatus: 200, before: func() {
			clock.Add(2 * time.Minute) // past the 60 s TTL, inside the stale window
			store.failing.Store(true)
		}},
		{scenario: "unavailable", method: "GET", path: "/api/campaigns/2/banners?quarter=1", wantStatus: 503},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(s.method, s.path, nil))
		require.Equal(t, s.wantStatus, rec.Code, "%s: %s", s.scenario, rec.Body)
		api.Cache.Wait()
		l.cut(s.scenario)
	}

	// functions/api/main.go logs its cold start with this call after
	// wiring; TestColdStartLineIsTheLambdas holds the two together.
	start := time.Now()
	time.Sleep(time.Millisecond)
	log.Info("cold start", "init_duration_ms", float64(time.Since(start).Microseconds())/1000)
	l.cut("cold start")
	return l.lines
}

// TestColdStartLineIsTheLambdas guards the copy of the cold start call in
// captureAPILines: functions/api/main.go must make the same call.
func TestColdStartLineIsTheLambdas(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "functions", "api", "main.go"))
	require.NoError(t, err)
	require.Contains(t, string(b), `log.Info("cold start", "init_duration_ms", float64(time.Since(start).Microseconds())/1000)`)
}

// fakeS3 serves objects from a map, and NoSuchKey for the rest.
type fakeS3 map[string]string

func (f fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	body, ok := f[*in.Key]
	if !ok {
		return nil, &s3types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(body))}, nil
}

// tableWriter stands in for the table: it takes every quarter.
type tableWriter struct{}

func (tableWriter) PutQuarter(_ context.Context, q banner.Quarter, campaigns []banner.Campaign) (dynamo.WriteStats, error) {
	return dynamo.WriteStats{Quarter: q, Put: len(campaigns)}, nil
}

// captureIngestLines runs the ingest handler as functions/ingest wires it
// (JSON lines) on an upload of quarter 1, and returns its lines.
func captureIngestLines(t *testing.T) []capturedLine {
	t.Helper()
	var l lineLog
	objects := fakeS3{}
	for k, body := range quarterCSV {
		objects[csvload.Path(k, 1)] = body
	}
	h := &ingest.Handler{Store: tableWriter{}, S3: objects, Log: slog.New(slog.NewJSONHandler(&l.buf, nil))}
	var ev events.S3Event
	var rec events.S3EventRecord
	rec.EventName = "ObjectCreated:Put"
	rec.S3.Bucket.Name = "data"
	rec.S3.Object.Key = csvload.Path(csvload.Conversions, 1)
	ev.Records = append(ev.Records, rec)
	require.NoError(t, h.Handle(t.Context(), ev))
	l.cut("upload")
	return l.lines
}

// templateFilter is a metric filter of the template.
type templateFilter struct {
	metric, logs, pattern, value string
	dimensions                   map[string]string // name → selector
	unit                         string
}

// metricFilters returns the template's metric filters by metric name,
// with the log group each reads (apiLogs or ingestLogs).
func metricFilters(t *testing.T, st stackTemplate, stackName string) map[string]templateFilter {
	t.Helper()
	groups := map[string]string{
		st.one(t, "AWS::Logs::LogGroup", "ApiFunctionLogs").id:    apiLogs,
		st.one(t, "AWS::Logs::LogGroup", "IngestFunctionLogs").id: ingestLogs,
	}
	got := map[string]templateFilter{}
	for _, r := range st.resourcesOfType("AWS::Logs::MetricFilter") {
		trans := r.props["MetricTransformations"].([]any)
		require.Len(t, trans, 1, r.id)
		tr := trans[0].(map[string]any)
		f := templateFilter{
			metric:  tr["MetricName"].(string),
			logs:    groups[r.props["LogGroupName"].(map[string]any)["Ref"].(string)],
			pattern: r.props["FilterPattern"].(string),
			value:   tr["MetricValue"].(string),
			unit:    fmt.Sprint(tr["Unit"]),
		}
		require.NotEmpty(t, f.logs, "%s reads an unknown log group", r.id)
		require.Equal(t, "Banners/"+stackName, tr["MetricNamespace"], r.id)
		require.Nil(t, tr["DefaultValue"], "%s: no default value: an idle stack has no data, not zeros", r.id)
		if dims, ok := tr["Dimensions"].([]any); ok {
			f.dimensions = map[string]string{}
			for _, d := range dims {
				dm := d.(map[string]any)
				f.dimensions[dm["Key"].(string)] = dm["Value"].(string)
			}
		}
		_, dup := got[f.metric]
		require.False(t, dup, "two filters for %s", f.metric)
		got[f.metric] = f
	}
	return got
}

// TestMetricFiltersMatchCapturedLines runs every metric filter of the
// template over the lines the API and the ingest wrote, and checks what
// each metric receives per scenario: which lines count, with what value
// and dimension. Each filter must also parse as a JSON pattern.
func TestMetricFiltersMatchCapturedLines(t *testing.T) {
	st := synth(t).plain
	lines := map[string][]capturedLine{apiLogs: captureAPILines(t), ingestLogs: captureIngestLines(t)}

	// durationOf reads a number from the line of scenario with message msg,
	// for the metrics whose value is a duration.
	durationOf := func(logs, scenario, msg, field string) float64 {
		for _, c := range lines[logs] {
			var doc map[string]any
			require.NoError(t, json.Unmarshal(c.line, &doc))
			if c.scenario == scenario && doc["msg"] == msg {
				v, ok := doc[field].(float64)
				require.True(t, ok, "%s: %s has no number %s: %s", scenario, msg, field, c.line)
				require.Positive(t, v)
				return v
			}
		}
		t.Fatalf("no %q line for %s", msg, scenario)
		return 0
	}
	dur := func(scenario string) float64 { return durationOf(apiLogs, scenario, "request", "duration_ms") }
	one := func(scenarios ...string) map[string]float64 {
		m := map[string]float64{}
		for _, s := range scenarios {
			m[s] = 1
		}
		return m
	}
	everyRequest := []string{"miss", "hit", "ad tag hit", "unknown campaign", "bad id", "wrong method", "stale", "unavailable"}
	latency := map[string]float64{}
	for _, s := range everyRequest {
		latency[s] = dur(s)
	}

	// want is, per metric, the sum it receives per scenario (and per
	// dimension value, as "scenario Kind=value").
	want := map[string]map[string]float64{
		mRequests:     one(everyRequest...),
		mClientErrors: one("unknown campaign", "bad id", "wrong method"),
		mServerErrors: one("unavailable"),
		mLatency:      latency,
		mCacheHits:    one("hit", "ad tag hit"),
		mCacheMisses:  one("miss", "unknown campaign", "unavailable"),
		mStaleServes:  one("stale"),
		mColdStarts:   one("cold start"),
		mInitDuration: {"cold start": durationOf(apiLogs, "cold start", "cold start", "init_duration_ms")},
		mIngestLoads:  one("upload"),
		mRowsAccepted: {"upload Kind=impressions": 4, "upload Kind=clicks": 2, "upload Kind=conversions": 1},
		mRowsRejected: {"upload Kind=impressions": 0, "upload Kind=clicks": 2, "upload Kind=conversions": 2},
		mRowsInvalid:  {"upload Kind=impressions": 0, "upload Kind=clicks": 2, "upload Kind=conversions": 1},
	}

	filters := metricFilters(t, st, "Plain")
	var names []string
	for name := range filters {
		names = append(names, name)
	}
	sort.Strings(names)
	var wantNames []string
	for name := range want {
		wantNames = append(wantNames, name)
	}
	sort.Strings(wantNames)
	require.Equal(t, wantNames, names, "every metric filter is checked here, and only those")

	for _, name := range names {
		f := filters[name]
		t.Run(name, func(t *testing.T) {
			pattern, err := parseJSONFilter(f.pattern)
			require.NoError(t, err)
			got := map[string]float64{}
			for _, c := range lines[f.logs] {
				if !pattern.matchLine(c.line) {
					continue
				}
				key := c.scenario
				for dim, sel := range f.dimensions {
					v, err := dimensionValueOf(sel, c.line)
					require.NoError(t, err)
					key += " " + dim + "=" + v
				}
				v, err := metricValueOf(f.value, c.line)
				require.NoError(t, err)
				got[key] += v
			}
			require.Equal(t, want[name], got, "pattern %s over:\n%s", f.pattern, joinLines(lines[f.logs]))
		})
	}
}

// joinLines prints captured lines for a failure message.
func joinLines(lines []capturedLine) string {
	var b strings.Builder
	for _, c := range lines {
		fmt.Fprintf(&b, "%-16s %s\n", c.scenario, c.line)
	}
	return b.String()
}

// TestCapturedLinesAreTheRealOnes guards the capture itself: the stale
// serve logged the cache's warning, and every request line carries the
// fields the filters read.
func TestCapturedLinesAreTheRealOnes(t *testing.T) {
	lines := captureAPILines(t)
	var stale, requests int
	for _, c := range lines {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(c.line, &doc), string(c.line))
		switch doc["msg"] {
		case "store failed, serving stale banners":
			require.Equal(t, "stale", c.scenario)
			stale++
		case "request":
			requests++
			for _, field := range []string{"method", "path", "status", "bytes", "duration_ms"} {
				require.Contains(t, doc, field, c.scenario)
			}
		}
	}
	require.Equal(t, 1, stale, joinLines(lines))
	require.Equal(t, 8, requests, joinLines(lines))
}

// renderJoin renders a template string that may be an Fn::Join, writing
// each reference as <Ref:id> or <GetAtt:id.attr>.
func renderJoin(t *testing.T, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return s
	}
	join := v.(map[string]any)["Fn::Join"].([]any)
	var b strings.Builder
	for i, part := range join[1].([]any) {
		if i > 0 {
			b.WriteString(join[0].(string))
		}
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case map[string]any:
			if r, ok := p["Ref"]; ok {
				fmt.Fprintf(&b, "<Ref:%s>", r)
			} else if ga, ok := p["Fn::GetAtt"].([]any); ok {
				fmt.Fprintf(&b, "<GetAtt:%s.%s>", ga[0], ga[1])
			} else {
				t.Fatalf("unexpected part %v", p)
			}
		}
	}
	return b.String()
}

// alarmMetrics returns what an alarm watches: "Namespace/MetricName stat
// period" for a plain metric, or, for metric math, the returned expression
// followed by each metric it reads, sorted.
func alarmMetrics(t *testing.T, props map[string]any) []string {
	t.Helper()
	if name, ok := props["MetricName"].(string); ok {
		return []string{fmt.Sprintf("%s/%s %s %v", props["Namespace"], name, props["Statistic"], props["Period"])}
	}
	var expression string
	var reads []string
	for _, m := range props["Metrics"].([]any) {
		mm := m.(map[string]any)
		if mm["ReturnData"] == true {
			expression, _ = mm["Expression"].(string) // "" for a plain metric
		}
		if ms, ok := mm["MetricStat"].(map[string]any); ok {
			metric := ms["Metric"].(map[string]any)
			dims := ""
			if d, ok := metric["Dimensions"].([]any); ok {
				for _, x := range d {
					dm := x.(map[string]any)
					dims += fmt.Sprintf(" %v=%v", dm["Name"], dm["Value"])
				}
			}
			reads = append(reads, fmt.Sprintf("%s=%s%s %s %v", mm["Id"], metric["MetricName"], dims, ms["Stat"], ms["Period"]))
		}
	}
	sort.Strings(reads)
	return append([]string{expression}, reads...)
}

func TestAlarms(t *testing.T) {
	st := synth(t).plain
	topic := ref(st.one(t, "AWS::SNS::Topic", "AlarmTopic").id)
	kindReads := func(kind string) []string {
		return []string{
			"accepted_" + kind + "=RowsAccepted Kind=" + kind + " Sum 300",
			"invalid_" + kind + "=RowsInvalid Kind=" + kind + " Sum 300",
			"rejected_" + kind + "=RowsRejected Kind=" + kind + " Sum 300",
		}
	}
	invalidReads := append(append(kindReads("clicks"), kindReads("conversions")...), kindReads("impressions")...)
	sort.Strings(invalidReads)
	tests := []struct {
		id                 string
		metrics            []string
		threshold          float64
		periods, toAlarm   float64
		treatMissingData   string
		descriptionContent string
	}{
		{"ApiServerErrors", []string{"IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)",
			"errors=ServerErrors Sum 60", "requests=Requests Sum 60"}, 1, 5, 3, "notBreaching", "5xx"},
		{"ApiLatencyP99", []string{"", "m1=Latency p99 60"}, 500, 5, 5, "notBreaching", "p99"},
		{"ApiStaleServes", []string{"", "m1=StaleServes Sum 60"}, 1, 5, 5, "notBreaching", "stale"},
		{"ApiFunctionErrors", []string{"AWS/Lambda/Errors Sum 300"}, 5, 1, 1, "notBreaching", "failed"},
		{"ApiFunctionThrottles", []string{"AWS/Lambda/Throttles Sum 60"}, 1, 3, 3, "notBreaching", "throttled"},
		{"IngestFailuresQueued", []string{"AWS/SQS/ApproximateNumberOfMessagesVisible Maximum 300"}, 1, 1, 1, "ignore", "queue"},
		{"IngestInvalidRows", append([]string{"MAX([share_impressions, share_clicks, share_conversions])"}, invalidReads...),
			1, 1, 1, "notBreaching", "rows"},
	}
	require.Len(t, st.resourcesOfType("AWS::CloudWatch::Alarm"), len(tests), "every alarm is checked here")
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a := st.one(t, "AWS::CloudWatch::Alarm", tt.id).props
			require.Equal(t, tt.metrics, alarmMetrics(t, a))
			require.Equal(t, tt.threshold, a["Threshold"])
			require.Equal(t, tt.periods, a["EvaluationPeriods"])
			require.Equal(t, tt.toAlarm, a["DatapointsToAlarm"])
			require.Equal(t, "GreaterThanOrEqualToThreshold", a["ComparisonOperator"])
			require.Equal(t, tt.treatMissingData, a["TreatMissingData"])
			require.Equal(t, []any{topic}, a["AlarmActions"])
			require.Equal(t, []any{topic}, a["OKActions"])
			require.Contains(t, a["AlarmDescription"], tt.descriptionContent)
			require.Contains(t, a["AlarmDescription"], "docs/operations.md#"+tt.id)
		})
	}
	// The runbook has a section per alarm, where the description points.
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	require.NoError(t, err)
	for _, tt := range tests {
		require.Contains(t, string(doc), `<a id="`+tt.id+`"></a>`, "runbook section for %s", tt.id)
	}
}

func TestAlarmTopic(t *testing.T) {
	s := synth(t)
	for name, st := range allStacks(t) {
		t.Run(name, func(t *testing.T) {
			topic := st.one(t, "AWS::SNS::Topic", "AlarmTopic")
			requireMatch(t, st, "AWS::SNS::TopicPolicy", map[string]any{
				"Topics": []any{ref(topic.id)},
				"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
					"Sid": "AllowPublishThroughSSLOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
					"Resource":  ref(topic.id),
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}}},
			})
			subs := st.resourcesOfType("AWS::SNS::Subscription")
			if st.tmpl == s.options.tmpl {
				require.Len(t, subs, 1)
				require.Equal(t, map[string]any{"Protocol": "email", "Endpoint": optionSettings.AlarmEmail, "TopicArn": ref(topic.id)}, subs[0].props)
				return
			}
			require.Empty(t, subs, "no subscription without -c alarmEmail")
		})
	}
}

func TestDashboard(t *testing.T) {
	st := synth(t).plain
	dash := st.one(t, "AWS::CloudWatch::Dashboard", "Dashboard")
	var body struct {
		Widgets []struct {
			Type       string `json:"type"`
			X, Y       int
			Width      int `json:"width"`
			Properties struct {
				Title   string  `json:"title"`
				Alarms  []any   `json:"alarms"`
				Metrics [][]any `json:"metrics"`
				Region  string  `json:"region"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	require.NoError(t, json.Unmarshal([]byte(renderJoin(t, dash.props["DashboardBody"])), &body))

	type placed struct {
		y     int
		title string
	}
	var got []placed
	for _, w := range body.Widgets {
		got = append(got, placed{w.Y, w.Properties.Title})
	}
	want := []placed{
		{0, "Right now (last minute): are visitors getting banners?"}, {0, "Alarms"},
		{4, "API requests and errors per minute"}, {4, "API latency in the function (ms)"}, {4, "CloudFront requests and error rate"},
		{10, "Cache hit ratio (%) and stale serves"}, {10, "DynamoDB reads: cache misses and read units"}, {10, "DynamoDB throttles and errors"},
		{16, "API function errors and throttles"}, {16, "Cold starts and their init (ms)"}, {16, "API concurrent executions"},
		{22, "Ingest: quarter loads and function errors (5 min)"}, {22, "Ingest: rejected and invalid rows per kind (5 min)"},
		{22, "Failed-ingest queue depth"},
	}
	require.Equal(t, want, got)

	// The alarm widget shows every alarm.
	var alarms []string
	for _, a := range st.resourcesOfType("AWS::CloudWatch::Alarm") {
		alarms = append(alarms, fmt.Sprintf("<GetAtt:%s.Arn>", a.id))
	}
	var shown []string
	for _, a := range body.Widgets[1].Properties.Alarms {
		shown = append(shown, a.(string))
	}
	sort.Strings(shown)
	require.Equal(t, alarms, shown)

	// What the first row and a few others plot, as "namespace metric" (or
	// the expression); CloudFront's metrics come from us-east-1.
	plotted := func(i int) []string {
		var out []string
		for _, m := range body.Widgets[i].Properties.Metrics {
			if opts, ok := m[0].(map[string]any); ok {
				out = append(out, opts["expression"].(string))
				continue
			}
			if m[0] == "." {
				continue // the same metric again, with other options
			}
			line := fmt.Sprint(m[0], " ", m[1])
			if last, ok := m[len(m)-1].(map[string]any); ok {
				if r, ok := last["region"]; ok {
					line += " in " + r.(string)
				}
			}
			out = append(out, line)
		}
		return out
	}
	ns := "Banners/Plain"
	require.Equal(t, []string{
		ns + " Requests",
		"IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)", ns + " ServerErrors", // Requests: shown once
		"latency_p99", ns + " Latency",
		ns + " StaleServes",
		"AWS/CloudFront 5xxErrorRate in us-east-1",
	}, plotted(0))
	require.Equal(t, []string{"AWS/CloudFront Requests in us-east-1", "AWS/CloudFront 4xxErrorRate in us-east-1",
		"AWS/CloudFront 5xxErrorRate in us-east-1"}, plotted(4))
	require.Equal(t, []string{"100 * FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0) + FILL(stale, 0))",
		ns + " CacheHits", ns + " CacheMisses", ns + " StaleServes"}, plotted(5)) // stale: one entry, plotted on the right
	require.Equal(t, []string{ns + " CacheMisses", "AWS/DynamoDB ConsumedReadCapacityUnits"}, plotted(6))
	require.Equal(t, []string{"AWS/DynamoDB ReadThrottleEvents", "AWS/DynamoDB WriteThrottleEvents", "AWS/DynamoDB SystemErrors"}, plotted(7))
	require.Equal(t, []string{ns + " ColdStarts", "initduration_p50", ns + " InitDuration",
		"initduration_maximum", ns + " InitDuration"}, plotted(9))
	require.Equal(t, []string{"AWS/SQS ApproximateNumberOfMessagesVisible"}, plotted(13))
}

func TestMetricFilterDimensionsAreLowCardinality(t *testing.T) {
	for name, f := range metricFilters(t, synth(t).plain, "Plain") {
		for dim, sel := range f.dimensions {
			// The file's kind: impressions, clicks or conversions.
			require.Equal(t, map[string]string{kindDimension: "$.kind"}, map[string]string{dim: sel}, name)
		}
		require.NotContains(t, f.pattern+f.value, "campaign_id", name)
		want := "Count"
		if f.metric == mLatency || f.metric == mInitDuration {
			want = "Milliseconds"
		}
		require.Equal(t, want, f.unit, name)
	}
}

func TestXRay(t *testing.T) {
	st := synth(t).plain
	fn := st.one(t, "AWS::Lambda::Function", "ApiFunction").id
	rule := st.one(t, "AWS::XRay::SamplingRule", "ApiSamplingRule").props["SamplingRule"].(map[string]any)
	require.Equal(t, map[string]any{
		"RuleName": "Plain-api", "Priority": 100.0, "ReservoirSize": 1.0, "FixedRate": 0.01,
		"ServiceName": ref(fn), "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "ResourceARN": "*", "Version": 1.0,
	}, rule)

	tests := []struct{ group, filter string }{
		{"Plain-stale", `annotation.cache = "stale"`},
		{"Plain-errors", `annotation.status >= 500 OR service("<Ref:` + fn + `>") { fault = true }`},
		{"Plain-slow", `service("<Ref:` + fn + `>") { responsetime >= 0.5 }`},
	}
	groups := map[string]map[string]any{}
	for _, g := range st.resourcesOfType("AWS::XRay::Group") {
		groups[g.props["GroupName"].(string)] = g.props
	}
	require.Len(t, groups, len(tests))
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			g, ok := groups[tt.group]
			require.True(t, ok)
			require.Equal(t, tt.filter, renderJoin(t, g["FilterExpression"]))
			require.Equal(t, map[string]any{"InsightsEnabled": true, "NotificationsEnabled": false}, g["InsightsConfiguration"])
		})
	}
}

func TestXRayName(t *testing.T) {
	tests := []struct{ stack, suffix, want string }{
		{"BannersStack", "errors", "BannersStack-errors"},
		{"ABannersStackWithAVeryLongNameIndeed", "errors", "ABannersStackWithAVeryLon-errors"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			got := xrayName(awscdk.NewStack(awscdk.NewApp(nil), jsii.String(tt.stack), nil), tt.suffix)
			require.Equal(t, tt.want, got)
			require.LessOrEqual(t, len(got), xrayNameMax)
		})
	}
}
