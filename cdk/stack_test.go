package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// The stack is synthesized once per test binary (a synth costs seconds of
// jsii start-up) into two templates: the default one, and one deployed with
// -c imagesDir=... .

// fixtureRoot holds the fake asset folders and the cloud assembly; TestMain
// creates and removes it.
var fixtureRoot string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "banners-cdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	fixtureRoot = dir
	defer jsii.Close()
	return m.Run()
}

// synthesized is the result of one synth of the app.
type synthesized struct {
	outdir string
	// plain is the stack without imagesDir; images has it set.
	plain, images stackTemplate
}

// stackTemplate is one stack's template, both as an assertions.Template and
// as plain JSON for checks that walk it.
type stackTemplate struct {
	tmpl assertions.Template
	json map[string]any
}

var (
	synthOnce   sync.Once
	synthResult synthesized
	synthErr    error
)

// synth returns the templates, synthesizing them on first use.
func synth(t *testing.T) synthesized {
	t.Helper()
	synthOnce.Do(func() { synthResult, synthErr = synthesize(fixtureRoot) })
	require.NoError(t, synthErr)
	return synthResult
}

// synthesize builds fake assets under root and synthesizes the app with the
// context of ../cdk.json, as `npx cdk synth` would.
func synthesize(root string) (result synthesized, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth panicked: %v", r)
		}
	}()
	files := map[string]string{
		"api/bootstrap":            "fake api",
		"ingest/bootstrap":         "fake ingest",
		"site/index.html":          "<!doctype html>",
		"site/app.js":              "// app",
		"site/style.css":           "/* style */",
		"site/embed.go":            "package site",
		"site/fs_test.go":          "package site",
		"site/testdata/page.html":  "fixture",
		"images/image_1.png":       "\xff\xd8\xff fake jpeg",
		"images/image_2.png":       "\xff\xd8\xff fake jpeg",
		"placeholders/image_1.png": "<svg/>",
	}
	for name, body := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return result, err
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return result, err
		}
	}

	ctx, err := cdkJSONContext()
	if err != nil {
		return result, err
	}
	result.outdir = filepath.Join(root, "cdk.out")
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(result.outdir)})
	settings, err := settingsFromContext(app)
	if err != nil {
		return result, err
	}
	props := func(imagesDir string) *BannersStackProps {
		return &BannersStackProps{
			LambdaDir:       filepath.Join(root, "api"),
			IngestDir:       filepath.Join(root, "ingest"),
			SiteDir:         filepath.Join(root, "site"),
			ImagesDir:       imagesDir,
			PlaceholdersDir: filepath.Join(root, "placeholders"),
			Settings:        settings,
		}
	}
	plain := NewBannersStack(app, "Plain", props(""))
	images := NewBannersStack(app, "Images", props(filepath.Join(root, "images")))
	app.Synth(nil)

	if result.plain, err = newStackTemplate(plain); err != nil {
		return result, err
	}
	result.images, err = newStackTemplate(images)
	return result, err
}

func newStackTemplate(stack awscdk.Stack) (stackTemplate, error) {
	tmpl := assertions.Template_FromStack(stack, nil)
	b, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return stackTemplate{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return stackTemplate{}, err
	}
	return stackTemplate{tmpl: tmpl, json: m}, nil
}

// cdkJSONContext returns the "context" block of the repository's cdk.json:
// the feature flags and the default settings.
func cdkJSONContext() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return f.Context, nil
}

// requireMatch fails the test unless the template has a resource of type typ
// whose properties match props (assertions.Match semantics: objects match
// as subsets, arrays exactly).
func requireMatch(t *testing.T, st stackTemplate, typ string, props any) {
	t.Helper()
	require.NotPanics(t, func() { st.tmpl.HasResourceProperties(jsii.String(typ), props) })
}

// resource is one entry of a template's Resources.
type resource struct {
	id    string
	typ   string
	props map[string]any
	raw   map[string]any
}

// resourcesOfType returns the resources of type typ, sorted by logical ID.
func (st stackTemplate) resourcesOfType(typ string) []resource {
	var got []resource
	for id, r := range st.json["Resources"].(map[string]any) {
		raw := r.(map[string]any)
		if raw["Type"] != typ {
			continue
		}
		props, _ := raw["Properties"].(map[string]any)
		got = append(got, resource{id: id, typ: typ, props: props, raw: raw})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].id < got[j].id })
	return got
}

// one returns the only resource of type typ whose logical ID starts with
// prefix (the construct ID).
func (st stackTemplate) one(t *testing.T, typ, prefix string) resource {
	t.Helper()
	var got []resource
	for _, r := range st.resourcesOfType(typ) {
		if strings.HasPrefix(r.id, prefix) {
			got = append(got, r)
		}
	}
	require.Len(t, got, 1, "%s resources with logical ID prefix %q", typ, prefix)
	return got[0]
}

// roleActions returns every action that the role's attached AWS::IAM::Policy
// resources allow.
func (st stackTemplate) roleActions(roleID string) []string {
	var got []string
	for _, p := range st.resourcesOfType("AWS::IAM::Policy") {
		attached := false
		for _, r := range p.props["Roles"].([]any) {
			if ref, ok := r.(map[string]any); ok && ref["Ref"] == roleID {
				attached = true
			}
		}
		if attached {
			got = append(got, statementActions(p.props["PolicyDocument"])...)
		}
	}
	return got
}

// functionRole returns the logical ID of the function's execution role.
func functionRole(t *testing.T, fn resource) string {
	t.Helper()
	getAtt := fn.props["Role"].(map[string]any)["Fn::GetAtt"].([]any)
	return getAtt[0].(string)
}

// statementActions returns the Allow actions of a policy document.
func statementActions(doc any) []string {
	var got []string
	d, _ := doc.(map[string]any)
	stmts, _ := d["Statement"].([]any)
	for _, s := range stmts {
		stmt := s.(map[string]any)
		if stmt["Effect"] != "Allow" {
			continue
		}
		switch a := stmt["Action"].(type) {
		case string:
			got = append(got, a)
		case []any:
			for _, x := range a {
				got = append(got, x.(string))
			}
		}
	}
	return got
}

// allPolicyDocuments returns every identity and resource policy document in
// the template, keyed by "logicalID" or "logicalID/inlineName".
func (st stackTemplate) allPolicyDocuments() map[string]any {
	docs := map[string]any{}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"} {
		for _, r := range st.resourcesOfType(typ) {
			docs[r.id] = r.props["PolicyDocument"]
		}
	}
	for _, r := range st.resourcesOfType("AWS::IAM::Role") {
		inline, _ := r.props["Policies"].([]any)
		for _, p := range inline {
			pol := p.(map[string]any)
			docs[fmt.Sprintf("%s/%v", r.id, pol["PolicyName"])] = pol["PolicyDocument"]
		}
	}
	return docs
}

// behaviors returns the distribution's cache behaviours keyed by path
// pattern; the default behaviour is under "default".
func (st stackTemplate) behaviors(t *testing.T) map[string]map[string]any {
	t.Helper()
	dist := st.one(t, "AWS::CloudFront::Distribution", "Distribution")
	cfg := dist.props["DistributionConfig"].(map[string]any)
	got := map[string]map[string]any{"default": cfg["DefaultCacheBehavior"].(map[string]any)}
	for _, b := range cfg["CacheBehaviors"].([]any) {
		behavior := b.(map[string]any)
		got[behavior["PathPattern"].(string)] = behavior
	}
	return got
}

// ref returns {"Ref": id}, the template form of a reference.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// getAtt returns {"Fn::GetAtt": [id, attr]}.
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

func TestBucketsArePrivateEncryptedAndTLSOnly(t *testing.T) {
	st := synth(t).plain
	for _, bucket := range []string{"SiteBucket", "DataBucket"} {
		t.Run(bucket, func(t *testing.T) {
			b := st.one(t, "AWS::S3::Bucket", bucket)
			want := map[string]any{
				"BlockPublicAcls":       true,
				"BlockPublicPolicy":     true,
				"IgnorePublicAcls":      true,
				"RestrictPublicBuckets": true,
			}
			require.Equal(t, want, b.props["PublicAccessBlockConfiguration"])

			enc := b.props["BucketEncryption"].(map[string]any)["ServerSideEncryptionConfiguration"].([]any)
			got := enc[0].(map[string]any)["ServerSideEncryptionByDefault"].(map[string]any)["SSEAlgorithm"]
			require.Equal(t, "AES256", got)

			requireMatch(t, st, "AWS::S3::BucketPolicy", map[string]any{
				"Bucket": ref(b.id),
				"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{
					"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
						"Effect":    "Deny",
						"Action":    "s3:*",
						"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
					})}),
				}),
			})
		})
	}
}

func TestDistributionReadsSiteBucketThroughOAC(t *testing.T) {
	st := synth(t).plain
	site := st.one(t, "AWS::S3::Bucket", "SiteBucket")
	oac := st.one(t, "AWS::CloudFront::OriginAccessControl", "Distribution")

	cfg := oac.props["OriginAccessControlConfig"].(map[string]any)
	require.Equal(t, "s3", cfg["OriginAccessControlOriginType"])
	require.Equal(t, "always", cfg["SigningBehavior"])
	require.Equal(t, "sigv4", cfg["SigningProtocol"])
	require.Empty(t, st.resourcesOfType("AWS::CloudFront::CloudFrontOriginAccessIdentity"), "no legacy OAI")

	requireMatch(t, st, "AWS::CloudFront::Distribution", map[string]any{
		"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{
			"Origins": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"DomainName":            getAtt(site.id, "RegionalDomainName"),
				"OriginAccessControlId": getAtt(oac.id, "Id"),
				"S3OriginConfig":        map[string]any{"OriginAccessIdentity": ""},
			})}),
		}),
	})

	// The bucket lets CloudFront read objects, and only for this distribution.
	dist := st.one(t, "AWS::CloudFront::Distribution", "Distribution")
	policy := st.one(t, "AWS::S3::BucketPolicy", "SiteBucketPolicy")
	var got []string
	for _, s := range policy.props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		stmt := s.(map[string]any)
		if !reflect.DeepEqual(stmt["Principal"], map[string]any{"Service": "cloudfront.amazonaws.com"}) {
			continue
		}
		cond, err := json.Marshal(stmt["Condition"])
		require.NoError(t, err)
		require.Contains(t, string(cond), `"AWS:SourceArn"`)
		require.Contains(t, string(cond), `{"Ref":"`+dist.id+`"}`)
		got = append(got, fmt.Sprintf("%v %v", stmt["Effect"], stmt["Action"]))
	}
	require.Equal(t, []string{"Allow s3:GetObject"}, got)
}

func TestDistributionRedirectsToHTTPS(t *testing.T) {
	behaviors := synth(t).plain.behaviors(t)
	require.Len(t, behaviors, 4)
	for pattern, b := range behaviors {
		t.Run(pattern, func(t *testing.T) {
			require.Equal(t, "redirect-to-https", b["ViewerProtocolPolicy"])
		})
	}
}

func TestDistributionSettings(t *testing.T) {
	st := synth(t).plain
	cfg := st.one(t, "AWS::CloudFront::Distribution", "Distribution").props["DistributionConfig"].(map[string]any)
	tests := []struct {
		key  string
		want any
	}{
		{"DefaultRootObject", "index.html"},
		{"HttpVersion", "http2and3"},
		{"Enabled", true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			require.Equal(t, tt.want, cfg[tt.key])
		})
	}
}

func TestDistributionBehaviors(t *testing.T) {
	st := synth(t).plain
	behaviors := st.behaviors(t)
	cfg := st.one(t, "AWS::CloudFront::Distribution", "Distribution").props["DistributionConfig"].(map[string]any)
	originKind := map[string]string{} // origin ID -> "s3" or "api"
	for _, o := range cfg["Origins"].([]any) {
		origin := o.(map[string]any)
		kind := "api"
		if _, ok := origin["S3OriginConfig"]; ok {
			kind = "s3"
		}
		originKind[origin["Id"].(string)] = kind
	}

	const cachingDisabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" // managed CachingDisabled
	pageCache := ref(st.one(t, "AWS::CloudFront::CachePolicy", "PageCachePolicy").id)
	imageCache := ref(st.one(t, "AWS::CloudFront::CachePolicy", "ImageCachePolicy").id)
	apiRequests := ref(st.one(t, "AWS::CloudFront::OriginRequestPolicy", "ApiOriginRequestPolicy").id)
	headers := ref(st.one(t, "AWS::CloudFront::ResponseHeadersPolicy", "SecurityHeaders").id)

	tests := []struct {
		pattern           string
		wantOrigin        string
		wantCachePolicy   any
		wantRequestPolicy any
		wantCompress      bool
	}{
		{"default", "s3", pageCache, nil, true},
		{"/images/*", "s3", imageCache, nil, false},
		{"/api/*", "api", cachingDisabled, apiRequests, true},
		{"/campaigns/*", "api", cachingDisabled, apiRequests, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, ok := behaviors[tt.pattern]
			require.True(t, ok, "no behaviour for %s", tt.pattern)
			require.Equal(t, tt.wantOrigin, originKind[got["TargetOriginId"].(string)])
			require.Equal(t, tt.wantCachePolicy, got["CachePolicyId"])
			require.Equal(t, tt.wantRequestPolicy, got["OriginRequestPolicyId"])
			require.Equal(t, headers, got["ResponseHeadersPolicyId"])
			require.Equal(t, tt.wantCompress, got["Compress"])
			require.Equal(t, []any{"GET", "HEAD"}, got["AllowedMethods"])
		})
	}
}

func TestAPIOriginRequestPolicyForwardsOnlyQueryAndVisitorCookie(t *testing.T) {
	st := synth(t).plain
	p := st.one(t, "AWS::CloudFront::OriginRequestPolicy", "ApiOriginRequestPolicy")
	cfg := p.props["OriginRequestPolicyConfig"].(map[string]any)
	tests := []struct {
		key  string
		want any
	}{
		{"QueryStringsConfig", map[string]any{"QueryStringBehavior": "all"}},
		{"CookiesConfig", map[string]any{"CookieBehavior": "whitelist", "Cookies": []any{"banner_last"}}},
		{"HeadersConfig", map[string]any{"HeaderBehavior": "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			require.Equal(t, tt.want, cfg[tt.key])
		})
	}
}

func TestCachePolicyLifetimes(t *testing.T) {
	st := synth(t).plain
	const day = 24 * 60 * 60
	tests := []struct {
		policy         string
		wantDefaultTTL float64
		wantMaxTTL     float64
	}{
		{"PageCachePolicy", 5 * 60, 10 * 60},
		{"ImageCachePolicy", 7 * day, 365 * day},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			cfg := st.one(t, "AWS::CloudFront::CachePolicy", tt.policy).props["CachePolicyConfig"].(map[string]any)
			require.Equal(t, tt.wantDefaultTTL, cfg["DefaultTTL"])
			require.Equal(t, tt.wantMaxTTL, cfg["MaxTTL"])
		})
	}
}

func TestSecurityHeadersPolicy(t *testing.T) {
	st := synth(t).plain
	requireMatch(t, st, "AWS::CloudFront::ResponseHeadersPolicy", map[string]any{
		"ResponseHeadersPolicyConfig": assertions.Match_ObjectLike(&map[string]any{
			"SecurityHeadersConfig": map[string]any{
				"StrictTransportSecurity": map[string]any{
					"AccessControlMaxAgeSec": 730 * 24 * 60 * 60,
					"IncludeSubdomains":      true,
					"Override":               true,
				},
				"ContentSecurityPolicy": map[string]any{
					"ContentSecurityPolicy": contentSecurityPolicy,
					"Override":              true,
				},
				"ContentTypeOptions": map[string]any{"Override": true},
				"FrameOptions":       map[string]any{"FrameOption": "DENY", "Override": true},
				"ReferrerPolicy":     map[string]any{"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": true},
			},
		}),
	})
}

func TestRestAPIRoutes(t *testing.T) {
	st := synth(t).plain
	requireMatch(t, st, "AWS::ApiGateway::RestApi", map[string]any{
		"EndpointConfiguration": map[string]any{"Types": []any{"REGIONAL"}},
	})
	api := st.one(t, "AWS::ApiGateway::RestApi", "Api")
	fn := st.one(t, "AWS::Lambda::Function", "ApiFunction")

	// Rebuild each method's full path from the resource tree.
	parts := map[string]struct {
		parent any
		part   string
	}{}
	for _, r := range st.resourcesOfType("AWS::ApiGateway::Resource") {
		parts[r.id] = struct {
			parent any
			part   string
		}{r.props["ParentId"], r.props["PathPart"].(string)}
	}
	path := func(resourceID any) string {
		var segments []string
		for {
			r, ok := resourceID.(map[string]any)
			if !ok || r["Ref"] == nil {
				break // Fn::GetAtt [api, RootResourceId]
			}
			p := parts[r["Ref"].(string)]
			segments = append([]string{p.part}, segments...)
			resourceID = p.parent
		}
		return "/" + strings.Join(segments, "/")
	}

	var got []string
	for _, m := range st.resourcesOfType("AWS::ApiGateway::Method") {
		require.Equal(t, ref(api.id), m.props["RestApiId"])
		integration := m.props["Integration"].(map[string]any)
		require.Equal(t, "AWS_PROXY", integration["Type"])
		uri, err := json.Marshal(integration["Uri"])
		require.NoError(t, err)
		require.Contains(t, string(uri), fn.id)
		got = append(got, fmt.Sprintf("%v %s", m.props["HttpMethod"], path(m.props["ResourceId"])))
	}
	sort.Strings(got)
	want := []string{"GET /api/campaigns/{campaign_id}/banners", "GET /campaigns/{campaign_id}"}
	require.Equal(t, want, got)
}

func TestStageTracingThrottlingAndAccessLogs(t *testing.T) {
	st := synth(t).plain
	want := DefaultSettings()
	stage := st.one(t, "AWS::ApiGateway::Stage", "ApiDeploymentStage")
	require.Equal(t, want.StageName, stage.props["StageName"])
	require.Equal(t, true, stage.props["TracingEnabled"])

	settings := stage.props["MethodSettings"].([]any)
	require.Len(t, settings, 1)
	got := settings[0].(map[string]any)
	require.Equal(t, "*", got["HttpMethod"])
	require.Equal(t, "/*", got["ResourcePath"])
	require.Equal(t, want.ThrottleRateLimit, got["ThrottlingRateLimit"])
	require.Equal(t, float64(want.ThrottleBurstLimit), got["ThrottlingBurstLimit"])

	logs := stage.props["AccessLogSetting"].(map[string]any)
	require.Contains(t, logs["Format"], "$context.xrayTraceId")
	arn, err := json.Marshal(logs["DestinationArn"])
	require.NoError(t, err)
	require.Contains(t, string(arn), st.one(t, "AWS::Logs::LogGroup", "ApiAccessLogs").id)
	// Access logs need the account's API Gateway CloudWatch role.
	require.Len(t, st.resourcesOfType("AWS::ApiGateway::Account"), 1)
}

func TestFunctions(t *testing.T) {
	st := synth(t).plain
	table := ref(st.one(t, "AWS::DynamoDB::Table", "Table").id)
	tests := []struct {
		function    string
		logGroup    string
		wantMemory  float64
		wantTimeout float64
		wantEnv     map[string]any
	}{
		{"ApiFunction", "ApiFunctionLogs", 256, 10, map[string]any{
			"TABLE_NAME": table, "CACHE_TTL": "60s", "IMAGE_BASE_URL": "/images/",
		}},
		{"IngestFunction", "IngestFunctionLogs", 512, 300, map[string]any{
			"TABLE_NAME": table,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			fn := st.one(t, "AWS::Lambda::Function", tt.function)
			require.Equal(t, "provided.al2023", fn.props["Runtime"])
			require.Equal(t, []any{"arm64"}, fn.props["Architectures"])
			require.Equal(t, "bootstrap", fn.props["Handler"])
			require.Equal(t, map[string]any{"Mode": "Active"}, fn.props["TracingConfig"])
			require.Equal(t, tt.wantMemory, fn.props["MemorySize"])
			require.Equal(t, tt.wantTimeout, fn.props["Timeout"])
			require.Equal(t, tt.wantEnv, fn.props["Environment"].(map[string]any)["Variables"])

			logGroup := st.one(t, "AWS::Logs::LogGroup", tt.logGroup)
			require.Equal(t, map[string]any{"LogGroup": ref(logGroup.id)}, fn.props["LoggingConfig"])
			require.Equal(t, float64(30), logGroup.props["RetentionInDays"])

			actions := st.roleActions(functionRole(t, fn))
			require.Contains(t, actions, "xray:PutTraceSegments")
		})
	}
}

// dynamoDBWrites are the actions that change table data.
var dynamoDBWrites = []string{
	"dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:TransactWriteItems", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
}

func TestFunctionPoliciesAreLeastPrivilege(t *testing.T) {
	st := synth(t).plain
	tests := []struct {
		function    string
		wantAllowed []string
		wantDenied  []string
	}{
		{
			function:    "ApiFunction",
			wantAllowed: []string{"dynamodb:Query", "dynamodb:GetItem"},
			wantDenied:  append([]string{"s3:GetObject*", "s3:PutObject", "sqs:SendMessage"}, dynamoDBWrites...),
		},
		{
			function:    "IngestFunction",
			wantAllowed: []string{"dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "s3:GetObject*", "sqs:SendMessage"},
			wantDenied:  []string{"s3:PutObject", "s3:DeleteObject*", "dynamodb:Scan", "dynamodb:Query", "dynamodb:DeleteTable", "dynamodb:UpdateItem"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			got := st.roleActions(functionRole(t, st.one(t, "AWS::Lambda::Function", tt.function)))
			for _, a := range tt.wantAllowed {
				require.Contains(t, got, a)
			}
			for _, a := range tt.wantDenied {
				require.NotContains(t, got, a)
			}
		})
	}
}

func TestNoPolicyGrantsAllDynamoDB(t *testing.T) {
	for name, st := range map[string]stackTemplate{"plain": synth(t).plain, "images": synth(t).images} {
		t.Run(name, func(t *testing.T) {
			docs := st.allPolicyDocuments()
			require.NotEmpty(t, docs)
			for id, doc := range docs {
				for _, a := range statementActions(doc) {
					wildcard := a == "*" || (strings.HasPrefix(strings.ToLower(a), "dynamodb:") && strings.Contains(a, "*"))
					require.False(t, wildcard, "%s allows %q", id, a)
				}
			}
		})
	}
}

func TestTableIsOnDemandWithPITRAndRetained(t *testing.T) {
	st := synth(t).plain
	table := st.one(t, "AWS::DynamoDB::Table", "Table")
	require.Equal(t, "Retain", table.raw["DeletionPolicy"])
	require.Equal(t, "Retain", table.raw["UpdateReplacePolicy"])
	tests := []struct {
		key  string
		want any
	}{
		{"BillingMode", "PAY_PER_REQUEST"},
		{"PointInTimeRecoverySpecification", map[string]any{"PointInTimeRecoveryEnabled": true}},
		{"KeySchema", []any{
			map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
			map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
		}},
		{"AttributeDefinitions", []any{
			map[string]any{"AttributeName": "pk", "AttributeType": "S"},
			map[string]any{"AttributeName": "sk", "AttributeType": "S"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			require.Equal(t, tt.want, table.props[tt.key])
		})
	}
}

func TestCSVUploadsTriggerIngest(t *testing.T) {
	st := synth(t).plain
	bucket := st.one(t, "AWS::S3::Bucket", "DataBucket")
	fn := st.one(t, "AWS::Lambda::Function", "IngestFunction")
	requireMatch(t, st, "Custom::S3BucketNotifications", map[string]any{
		"BucketName": ref(bucket.id),
		"NotificationConfiguration": map[string]any{
			"LambdaFunctionConfigurations": []any{map[string]any{
				"Events": []any{"s3:ObjectCreated:*"},
				"Filter": map[string]any{"Key": map[string]any{
					"FilterRules": []any{map[string]any{"Name": "suffix", "Value": ".csv"}},
				}},
				"LambdaFunctionArn": getAtt(fn.id, "Arn"),
			}},
		},
	})
}

func TestFailedIngestEventsGoToQueue(t *testing.T) {
	st := synth(t).plain
	fn := st.one(t, "AWS::Lambda::Function", "IngestFunction")
	queue := st.one(t, "AWS::SQS::Queue", "IngestFailures")
	cfg := st.one(t, "AWS::Lambda::EventInvokeConfig", "IngestFunction")
	require.Equal(t, ref(fn.id), cfg.props["FunctionName"])
	require.Equal(t, float64(2), cfg.props["MaximumRetryAttempts"])
	want := map[string]any{"OnFailure": map[string]any{"Destination": getAtt(queue.id, "Arn")}}
	require.Equal(t, want, cfg.props["DestinationConfig"])
	require.Equal(t, float64(14*24*60*60), queue.props["MessageRetentionPeriod"])
}

func TestSiteDeployment(t *testing.T) {
	s := synth(t)
	st := s.plain
	deploy := st.one(t, "Custom::CDKBucketDeployment", "DeploySite")
	require.Equal(t, ref(st.one(t, "AWS::S3::Bucket", "SiteBucket").id), deploy.props["DestinationBucketName"])
	require.Equal(t, true, deploy.props["Prune"])
	require.Equal(t, []any{"images/*"}, deploy.props["Exclude"], "page deploys must not prune images")

	// The staged site asset holds the page and nothing from the Go side.
	keys := deploy.props["SourceObjectKeys"].([]any)
	require.Len(t, keys, 1)
	hash := strings.TrimSuffix(keys[0].(string), ".zip")
	var got []string
	dir := filepath.Join(s.outdir, "asset."+hash)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	require.NoError(t, err)
	slices.Sort(got)
	require.Equal(t, []string{"app.js", "index.html", "style.css"}, got)
}

func TestImagesDeployment(t *testing.T) {
	tests := []struct {
		name          string
		st            stackTemplate
		wantDeploys   int
		wantImageMeta map[string]any
	}{
		{name: "without imagesDir: placeholders", st: synth(t).plain, wantDeploys: 2, wantImageMeta: map[string]any{
			"content-type":  "image/svg+xml",
			"cache-control": "public, max-age=300",
		}},
		{name: "with imagesDir", st: synth(t).images, wantDeploys: 2, wantImageMeta: map[string]any{
			"content-type":  "image/jpeg",
			"cache-control": "public, max-age=604800",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Len(t, tt.st.resourcesOfType("Custom::CDKBucketDeployment"), tt.wantDeploys)
			if tt.wantImageMeta == nil {
				return
			}
			deploy := tt.st.one(t, "Custom::CDKBucketDeployment", "DeployImages")
			require.Equal(t, "images/", deploy.props["DestinationBucketKeyPrefix"])
			require.Equal(t, tt.wantImageMeta, deploy.props["SystemMetadata"])
			require.Equal(t, []any{"/images/*"}, deploy.props["DistributionPaths"])
		})
	}
}

func TestOutputs(t *testing.T) {
	st := synth(t).plain
	dist := st.one(t, "AWS::CloudFront::Distribution", "Distribution").id
	api := st.one(t, "AWS::ApiGateway::RestApi", "Api").id
	tests := []struct {
		name string
		want any
	}{
		{"BannerUrl", map[string]any{"Fn::Join": []any{"", []any{"https://", getAtt(dist, "DomainName"), "/?cam-id=1"}}}},
		{"AdTagUrlPattern", map[string]any{"Fn::Join": []any{"", []any{"https://", getAtt(dist, "DomainName"), "/campaigns/{campaign_id}"}}}},
		{"DataBucketName", ref(st.one(t, "AWS::S3::Bucket", "DataBucket").id)},
		{"TableName", ref(st.one(t, "AWS::DynamoDB::Table", "Table").id)},
		{"SiteBucketName", ref(st.one(t, "AWS::S3::Bucket", "SiteBucket").id)},
		{"IngestFailuresQueueUrl", ref(st.one(t, "AWS::SQS::Queue", "IngestFailures").id)},
	}
	outputs := st.json["Outputs"].(map[string]any)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := outputs[tt.name].(map[string]any)
			require.True(t, ok, "no output %s", tt.name)
			require.Equal(t, tt.want, got["Value"])
		})
	}
	t.Run("ApiUrl", func(t *testing.T) {
		got, err := json.Marshal(outputs["ApiUrl"].(map[string]any)["Value"])
		require.NoError(t, err)
		require.Contains(t, string(got), `{"Ref":"`+api+`"}`)
		require.Contains(t, string(got), ".execute-api.")
	})
	require.Len(t, outputs, len(tests)+1, "no unnamed extra outputs")
}

func TestSettingsFromContext(t *testing.T) {
	ctx, err := cdkJSONContext()
	require.NoError(t, err)
	withCtx := func(overrides map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range ctx {
			m[k] = v
		}
		for k, v := range overrides {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		ctx     map[string]any
		want    Settings
		wantErr bool
	}{
		{name: "cdk.json repeats the defaults", ctx: ctx, want: DefaultSettings()},
		{name: "no context", ctx: map[string]any{}, want: DefaultSettings()},
		{
			name: "-c strings",
			ctx:  withCtx(map[string]any{"stageName": "dev", "cacheTtl": "5m", "throttleRateLimit": "5.5", "throttleBurstLimit": "10"}),
			want: Settings{StageName: "dev", CacheTTL: "5m", ThrottleRateLimit: 5.5, ThrottleBurstLimit: 10},
		},
		{name: "bad stage name", ctx: withCtx(map[string]any{"stageName": "a/b"}), wantErr: true},
		{name: "bad TTL", ctx: withCtx(map[string]any{"cacheTtl": "60"}), wantErr: true},
		{name: "zero rate", ctx: withCtx(map[string]any{"throttleRateLimit": 0.0}), wantErr: true},
		{name: "rate not a number", ctx: withCtx(map[string]any{"throttleRateLimit": "fast"}), wantErr: true},
		{name: "fractional burst", ctx: withCtx(map[string]any{"throttleBurstLimit": "1.5"}), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Context: &tt.ctx})
			got, err := settingsFromContext(app)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNewBannersStackRejectsInvalidProps(t *testing.T) {
	valid := BannersStackProps{LambdaDir: "api", IngestDir: "ingest", SiteDir: "site", Settings: DefaultSettings()}
	tests := []struct {
		name   string
		change func(p *BannersStackProps)
	}{
		{"no LambdaDir", func(p *BannersStackProps) { p.LambdaDir = "" }},
		{"no IngestDir", func(p *BannersStackProps) { p.IngestDir = "" }},
		{"no SiteDir", func(p *BannersStackProps) { p.SiteDir = "" }},
		{"bad cache TTL", func(p *BannersStackProps) { p.CacheTTL = "soon" }},
		{"no burst", func(p *BannersStackProps) { p.ThrottleBurstLimit = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := valid
			tt.change(&props)
			require.Error(t, props.validate())
			require.Panics(t, func() { NewBannersStack(awscdk.NewApp(nil), "Invalid", &props) })
		})
	}
	require.NoError(t, valid.validate())
}

func TestIngestRunsOneLoadAtATime(t *testing.T) {
	fn := synth(t).plain.one(t, "AWS::Lambda::Function", "IngestFunction")
	require.Equal(t, float64(1), fn.props["ReservedConcurrentExecutions"])
}
