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
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
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

	"banners/internal/accesslog"
	"banners/internal/app"
	"banners/internal/banner"
	"banners/internal/cache"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/ingest"
	"banners/internal/memory"
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

// captureAPILines runs the API as functions/api/wire.go wires it (the access log
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
	h := accesslog.Handler(tracing.LambdaHandler(app.SegmentName, api.Handler), &l.buf, tracing.Trace)

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

// comparison is one "$.field OP value" term of a metric filter pattern: the
// field, the operator, and a quoted string, a number or * (any value).
var comparison = regexp.MustCompile(`\$\.(\w+)\s*(!=|>=|<=|=|<|>)\s*("[^"]*"|[^\s&|()}]+)`)

// TestMetricFiltersReadRealFields holds every metric filter of the template
// to the lines the real API handler and the real ingest wrote: some line of
// the filter's log group must pass every comparison of its pattern (the
// "msg" and the other strings it compares against, each field with the
// JSON type of its operand) and carry the metric value's field as a number
// and each dimension's field as a string. A renamed field or message, or a
// field that changed type, on either side, fails it.
func TestMetricFiltersReadRealFields(t *testing.T) {
	lines := map[string][]capturedLine{apiLogs: captureAPILines(t), ingestLogs: captureIngestLines(t)}
	filters := metricFilters(t, synth(t).plain, "Plain")
	require.Len(t, filters, len(logMetrics))
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			// Comparisons joined by && only: any other construct would go
			// unchecked here.
			rest := strings.NewReplacer("&&", "", " ", "").Replace(comparison.ReplaceAllString(f.pattern, ""))
			require.Equal(t, "{}", rest, "pattern %s", f.pattern)
			terms := comparison.FindAllStringSubmatch(f.pattern, -1)
			require.NotEmpty(t, terms, f.pattern)
			fed := func(c capturedLine) bool {
				var doc map[string]any
				require.NoError(t, json.Unmarshal(c.line, &doc), string(c.line))
				for _, term := range terms {
					if !passes(doc[term[1]], term[2], term[3]) {
						return false
					}
				}
				if field, ok := strings.CutPrefix(f.value, "$."); ok {
					if _, ok := doc[field].(float64); !ok {
						return false
					}
				}
				for _, sel := range f.dimensions {
					if _, ok := doc[strings.TrimPrefix(sel, "$.")].(string); !ok {
						return false
					}
				}
				return true
			}
			require.True(t, slices.ContainsFunc(lines[f.logs], fed), "no line feeds %s (pattern %s, value %s, dimensions %v):\n%s",
				name, f.pattern, f.value, f.dimensions, joinLines(lines[f.logs]))
		})
	}
}

// passes reports whether a line's value v passes the comparison op operand,
// as CloudWatch compares: a quoted operand matches only a string, a number
// only a number, and * any value.
func passes(v any, op, operand string) bool {
	if operand == "*" {
		return op == "=" && v != nil
	}
	if want, ok := strings.CutPrefix(operand, `"`); ok {
		s, ok := v.(string)
		return ok && (op == "=" || op == "!=") && (s == strings.TrimSuffix(want, `"`)) == (op == "=")
	}
	f, ok := v.(float64)
	want, err := strconv.ParseFloat(operand, 64)
	if !ok || err != nil {
		return false
	}
	switch op {
	case "=":
		return f == want
	case "!=":
		return f != want
	case "<":
		return f < want
	case "<=":
		return f <= want
	case ">":
		return f > want
	default: // >=
		return f >= want
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

// metricRead is a CloudWatch metric that an alarm or a dashboard widget
// reads.
type metricRead struct {
	namespace, name string
	dimensions      []string // names, sorted
	region          string   // "" for the stack's region
}

// alarmReads returns the metrics an alarm reads, directly or through
// metric math.
func alarmReads(props map[string]any) []metricRead {
	read := func(m map[string]any) metricRead {
		r := metricRead{namespace: fmt.Sprint(m["Namespace"]), name: fmt.Sprint(m["MetricName"])}
		dims, _ := m["Dimensions"].([]any)
		for _, d := range dims {
			r.dimensions = append(r.dimensions, fmt.Sprint(d.(map[string]any)["Name"]))
		}
		sort.Strings(r.dimensions)
		return r
	}
	if _, ok := props["MetricName"]; ok {
		return []metricRead{read(props)}
	}
	var got []metricRead
	for _, m := range props["Metrics"].([]any) {
		if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
			got = append(got, read(stat["Metric"].(map[string]any)))
		}
	}
	return got
}

// requireWritten fails unless r is a metric something writes: a metric
// filter of the stack (with its dimensions), or one of AWS's, CloudFront's
// read from us-east-1, the only region where CloudFront reports.
func requireWritten(t *testing.T, r metricRead, filters map[string]templateFilter) {
	t.Helper()
	switch {
	case r.namespace == "Banners/Plain":
		f, ok := filters[r.name]
		require.True(t, ok, "%+v: no metric filter writes it", r)
		require.Equal(t, slices.Sorted(maps.Keys(f.dimensions)), r.dimensions, "%+v: the filter's dimensions", r)
	case r.namespace == "AWS/CloudFront":
		require.Equal(t, "us-east-1", r.region, "%+v", r)
	default:
		require.True(t, strings.HasPrefix(r.namespace, "AWS/"), "%+v: nothing writes this namespace", r)
	}
}

// TestAlarms holds every alarm to what an operator relies on: it notifies
// the topic when it fires and when it clears, says what missing data means
// (an idle stack writes no lines), points to its section of the runbook,
// and watches metrics that something writes.
func TestAlarms(t *testing.T) {
	st := synth(t).plain
	topic := ref(st.one(t, "AWS::SNS::Topic", "AlarmTopic").id)
	filters := metricFilters(t, st, "Plain")
	runbook, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	require.NoError(t, err)
	alarms := st.resourcesOfType("AWS::CloudWatch::Alarm")
	require.NotEmpty(t, alarms)
	for _, a := range alarms {
		t.Run(a.id, func(t *testing.T) {
			require.Equal(t, []any{topic}, a.props["AlarmActions"])
			require.Equal(t, []any{topic}, a.props["OKActions"])
			require.Contains(t, []any{"notBreaching", "ignore"}, a.props["TreatMissingData"])
			_, section, ok := strings.Cut(fmt.Sprint(a.props["AlarmDescription"]), "docs/operations.md#")
			require.True(t, ok, "no runbook link in %q", a.props["AlarmDescription"])
			require.True(t, strings.HasPrefix(a.id, section), "the runbook section %q names alarm %s", section, a.id)
			require.Contains(t, string(runbook), `<a id="`+section+`"></a>`, "runbook section for %s", a.id)
			reads := alarmReads(a.props)
			require.NotEmpty(t, reads)
			for _, r := range reads {
				requireWritten(t, r, filters)
			}
		})
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

// TestDashboard holds the dashboard to what it must show: every alarm, and
// only metrics that something writes; and every metric a filter writes is
// on the dashboard or behind an alarm.
func TestDashboard(t *testing.T) {
	st := synth(t).plain
	dash := st.one(t, "AWS::CloudWatch::Dashboard", "Dashboard")
	var body struct {
		Widgets []struct {
			Properties struct {
				Alarms  []any   `json:"alarms"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	require.NoError(t, json.Unmarshal([]byte(renderJoin(t, dash.props["DashboardBody"])), &body))

	var alarms, shown []string
	for _, a := range st.resourcesOfType("AWS::CloudWatch::Alarm") {
		alarms = append(alarms, fmt.Sprintf("<GetAtt:%s.Arn>", a.id))
	}
	filters := metricFilters(t, st, "Plain")
	unread := maps.Clone(filters)
	for _, w := range body.Widgets {
		for _, a := range w.Properties.Alarms {
			shown = append(shown, a.(string))
		}
		// An entry is [namespace, name, dimension, value, ..., options];
		// "." repeats the previous entry's element.
		var prev []any
		for _, m := range w.Properties.Metrics {
			if _, ok := m[0].(map[string]any); ok {
				continue // an expression: its metrics are entries of their own
			}
			m = slices.Clone(m)
			for i := range m {
				if m[i] == "." && i < len(prev) {
					m[i] = prev[i]
				}
			}
			prev = m
			r := metricRead{namespace: m[0].(string), name: m[1].(string)}
			for i := 2; i+1 < len(m); i += 2 {
				if dim, ok := m[i].(string); ok {
					r.dimensions = append(r.dimensions, dim)
				}
			}
			sort.Strings(r.dimensions)
			if opts, ok := m[len(m)-1].(map[string]any); ok {
				r.region, _ = opts["region"].(string)
			}
			requireWritten(t, r, filters)
			delete(unread, r.name)
		}
	}
	sort.Strings(shown)
	require.Equal(t, alarms, shown, "the alarm widget shows every alarm")

	for _, a := range st.resourcesOfType("AWS::CloudWatch::Alarm") {
		for _, r := range alarmReads(a.props) {
			delete(unread, r.name)
		}
	}
	require.Empty(t, slices.Sorted(maps.Keys(unread)), "metrics nobody reads")
}

func TestMetricFilterDimensionsAreLowCardinality(t *testing.T) {
	for name, f := range metricFilters(t, synth(t).plain, "Plain") {
		for dim, sel := range f.dimensions {
			// The file's kind: impressions, clicks or conversions.
			require.Equal(t, map[string]string{kindDimension: "$.kind"}, map[string]string{dim: sel}, name)
		}
		require.NotContains(t, f.pattern+f.value, "campaign_id", name)
		want := "Count"
		if f.metric == "Latency" || f.metric == "InitDuration" {
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
