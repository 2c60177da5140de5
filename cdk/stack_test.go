package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
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

	"banners/internal/dynamo"
	"banners/internal/httpapi"
)

// The app is synthesized once per test binary (a synth costs seconds of
// jsii start-up) into three templates: the default one, one deployed with
// -c imagesDir=..., and one with every optional setting on. cdk-nag's AWS
// Solutions rules run on that synth, as they do in `cdk synth`.

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
	// plain is the stack with cdk.json's settings and without imagesDir;
	// images has imagesDir set; options has optionSettings.
	plain, images, options stackTemplate
}

// optionContext turns on everything that is off by default, as
// `cdk deploy -c key=value` would; optionSettings is what it must read as.
var optionContext = map[string]any{
	"cacheTtl":                  "5m",
	"cacheMaxMib":               "128",
	"apiMemoryMb":               "512",
	"apiReservedConcurrency":    "50",
	"ingestMemoryMb":            "3008",
	"ingestReservedConcurrency": "1",
	"wafRateLimit":              "2000",
	"alarmEmail":                "ops@example.com",
}

// optionSettings are the settings that optionContext sets.
var optionSettings = Settings{
	CacheTTL:                  "5m",
	CacheMaxMiB:               128,
	APIMemoryMB:               512,
	APIReservedConcurrency:    50,
	IngestMemoryMB:            3008,
	IngestReservedConcurrency: 1,
	WAFRateLimit:              2000,
	AlarmEmail:                "ops@example.com",
}

// stackTemplate is one stack's template, both as an assertions.Template and
// as plain JSON for checks that walk it, with the stack's cdk-nag errors.
type stackTemplate struct {
	tmpl assertions.Template
	json map[string]any
	// nagErrors are the unsuppressed AwsSolutions errors, one
	// "rule: path" line each.
	nagErrors []string
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
	props := func(imagesDir string, s Settings) *BannersStackProps {
		return &BannersStackProps{
			LambdaDir:       filepath.Join(root, "api"),
			IngestDir:       filepath.Join(root, "ingest"),
			SiteDir:         filepath.Join(root, "site"),
			ImagesDir:       imagesDir,
			PlaceholdersDir: filepath.Join(root, "placeholders"),
			Settings:        s,
		}
	}
	plain := NewBannersStack(app, "Plain", props("", settings))
	images := NewBannersStack(app, "Images", props(filepath.Join(root, "images"), settings))
	optCtx := maps.Clone(ctx)
	maps.Copy(optCtx, optionContext)
	options, err := settingsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &optCtx}))
	if err != nil {
		return result, err
	}
	if options != optionSettings {
		return result, fmt.Errorf("option context reads as %+v, want %+v", options, optionSettings)
	}
	optionsStack := NewBannersStack(app, "Options", props("", options))
	addNagChecks(app)
	if err := synthApp(app); err != nil {
		// An unsuppressed cdk-nag error fails the synth: say which.
		var found []string
		for _, name := range []string{"Plain", "Images", "Options"} {
			errs, _ := nagReportErrors(result.outdir, name)
			found = append(found, errs...)
		}
		return result, fmt.Errorf("%w\ncdk-nag AwsSolutions errors:\n%s", err, strings.Join(found, "\n"))
	}

	if result.plain, err = newStackTemplate(plain, result.outdir); err != nil {
		return result, err
	}
	if result.images, err = newStackTemplate(images, result.outdir); err != nil {
		return result, err
	}
	result.options, err = newStackTemplate(optionsStack, result.outdir)
	return result, err
}

// synthApp synthesizes app, returning its panic (a failed validation, such
// as a cdk-nag error) as an error.
func synthApp(app awscdk.App) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth: %v", r)
		}
	}()
	app.Synth(nil)
	return nil
}

// newStackTemplate reads stack's template, and its cdk-nag errors from the
// report that the nag pack wrote into outdir.
func newStackTemplate(stack awscdk.Stack, outdir string) (stackTemplate, error) {
	tmpl := assertions.Template_FromStack(stack, nil)
	b, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return stackTemplate{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return stackTemplate{}, err
	}
	nagErrors, err := nagReportErrors(outdir, *stack.StackName())
	if err != nil {
		return stackTemplate{}, err
	}
	return stackTemplate{tmpl: tmpl, json: m, nagErrors: nagErrors}, nil
}

// nagReportErrors returns the unsuppressed errors of the AWS Solutions
// report of stackName in outdir, as "rule resource-path" lines.
func nagReportErrors(outdir, stackName string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(outdir, "AwsSolutions-*"+stackName+"-NagReport.csv"))
	if err != nil {
		return nil, err
	}
	if len(paths) != 1 {
		return nil, fmt.Errorf("nag reports for %s in %s: %q, want one", stackName, outdir, paths)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", paths[0], err)
	}
	// Columns: Rule ID, Resource ID, Compliance, Exception Reason, Rule Level, Rule Info.
	if len(rows) < 2 || len(rows[0]) < 5 || rows[0][0] != "Rule ID" || rows[0][4] != "Rule Level" {
		return nil, fmt.Errorf("%s: not a nag report with findings", paths[0])
	}
	var got []string
	for _, r := range rows[1:] {
		if r[2] == "Non-Compliant" && r[4] == "Error" {
			got = append(got, r[0]+" "+r[1])
		}
	}
	return got, nil
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

// allStacks returns every synthesized template by name.
func allStacks(t *testing.T) map[string]stackTemplate {
	s := synth(t)
	return map[string]stackTemplate{"plain": s.plain, "images": s.images, "options": s.options}
}

func TestBucketsArePrivateEncryptedAndTLSOnly(t *testing.T) {
	st := synth(t).plain
	for _, bucket := range []string{"SiteBucket", "DataBucket", "AccessLogsBucket"} {
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

func TestBucketsLogAccess(t *testing.T) {
	st := synth(t).plain
	logs := st.one(t, "AWS::S3::Bucket", "AccessLogsBucket")
	tests := []struct {
		bucket     string
		wantPrefix string
	}{
		{"SiteBucket", "s3/site/"},
		{"DataBucket", "s3/data/"},
	}
	for _, tt := range tests {
		t.Run(tt.bucket, func(t *testing.T) {
			b := st.one(t, "AWS::S3::Bucket", tt.bucket)
			want := map[string]any{"DestinationBucketName": ref(logs.id), "LogFilePrefix": tt.wantPrefix}
			require.Equal(t, want, b.props["LoggingConfiguration"])
		})
	}
	t.Run("Distribution", func(t *testing.T) {
		cfg := st.one(t, "AWS::CloudFront::Distribution", "Distribution").props["DistributionConfig"].(map[string]any)
		require.Equal(t, map[string]any{"Bucket": getAtt(logs.id, "RegionalDomainName"), "Prefix": "cloudfront/"}, cfg["Logging"])
	})
	t.Run("AccessLogsBucket", func(t *testing.T) {
		require.Nil(t, logs.props["LoggingConfiguration"], "the log bucket must not log into itself")
		require.Equal(t, map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "ObjectWriter"}}},
			logs.props["OwnershipControls"], "CloudFront standard logs need ACLs")
		require.Equal(t, map[string]any{"Rules": []any{map[string]any{
			"Id": "expire-access-logs", "ExpirationInDays": float64(accessLogDays), "Status": "Enabled",
		}}}, logs.props["LifecycleConfiguration"])
	})
}

func TestDistributionReadsSiteBucketThroughOAC(t *testing.T) {
	st := synth(t).plain
	site := st.one(t, "AWS::S3::Bucket", "SiteBucket")
	oac := st.one(t, "AWS::CloudFront::OriginAccessControl", "SiteOriginAccessControl")

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

	// The bucket lets CloudFront read objects and, so that a missing key is
	// a 404 and not a 403, list the bucket; only for this distribution.
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
	require.Equal(t, []string{"Allow [s3:GetObject s3:ListBucket]"}, got)
	// The listing stays unreachable: GET / is the page.
	cfgDist := dist.props["DistributionConfig"].(map[string]any)
	require.Equal(t, "index.html", cfgDist["DefaultRootObject"])
}

func TestAPIFunctionURLBehindCloudFrontOnly(t *testing.T) {
	st := synth(t).plain
	fn := st.one(t, "AWS::Lambda::Function", "ApiFunction")
	url := st.one(t, "AWS::Lambda::Url", "ApiFunction")
	dist := st.one(t, "AWS::CloudFront::Distribution", "Distribution")
	oac := st.one(t, "AWS::CloudFront::OriginAccessControl", "ApiOriginAccessControl")

	require.Equal(t, "AWS_IAM", url.props["AuthType"])
	require.Equal(t, getAtt(fn.id, "Arn"), url.props["TargetFunctionArn"])
	requireMatch(t, st, "AWS::CloudFront::OriginAccessControl", map[string]any{
		"OriginAccessControlConfig": assertions.Match_ObjectLike(&map[string]any{
			"OriginAccessControlOriginType": "lambda",
			"SigningBehavior":               "always",
			"SigningProtocol":               "sigv4",
		}),
	})

	// The API origin is the URL's host, signed through the lambda OAC.
	requireMatch(t, st, "AWS::CloudFront::Distribution", map[string]any{
		"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{
			"Origins": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"DomainName": map[string]any{"Fn::Select": []any{2, map[string]any{
					"Fn::Split": []any{"/", getAtt(url.id, "FunctionUrl")},
				}}},
				"OriginAccessControlId": getAtt(oac.id, "Id"),
				"CustomOriginConfig": assertions.Match_ObjectLike(&map[string]any{
					"OriginProtocolPolicy": "https-only",
					"OriginSSLProtocols":   []any{"TLSv1.2"},
				}),
			})}),
		}),
	})

	// The resource policy: CloudFront, for this distribution only, with
	// both actions that function URLs created since October 2025 need.
	distARN := map[string]any{"Fn::Join": []any{"", []any{
		"arn:", ref("AWS::Partition"), ":cloudfront::", ref("AWS::AccountId"), ":distribution/", ref(dist.id),
	}}}
	tests := []struct {
		action string
		extra  map[string]any
	}{
		{"lambda:InvokeFunctionUrl", nil},
		{"lambda:InvokeFunction", map[string]any{"InvokedViaFunctionUrl": true}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			want := map[string]any{
				"Action":       tt.action,
				"FunctionName": getAtt(url.id, "FunctionArn"),
				"Principal":    "cloudfront.amazonaws.com",
				"SourceArn":    distARN,
			}
			for k, v := range tt.extra {
				want[k] = v
			}
			requireMatch(t, st, "AWS::Lambda::Permission", want)
		})
	}

	// Nothing else may invoke the API function.
	var got []string
	for _, p := range st.resourcesOfType("AWS::Lambda::Permission") {
		b, err := json.Marshal(p.props["FunctionName"])
		require.NoError(t, err)
		if strings.Contains(string(b), `"`+fn.id+`"`) || strings.Contains(string(b), `"`+url.id+`"`) {
			got = append(got, fmt.Sprintf("%v %v", p.props["Principal"], p.props["Action"]))
		}
	}
	sort.Strings(got)
	want := []string{"cloudfront.amazonaws.com lambda:InvokeFunction", "cloudfront.amazonaws.com lambda:InvokeFunctionUrl"}
	require.Equal(t, want, got)
}

func TestNoAPIGateway(t *testing.T) {
	for name, st := range allStacks(t) {
		t.Run(name, func(t *testing.T) {
			for id, r := range st.json["Resources"].(map[string]any) {
				typ := r.(map[string]any)["Type"].(string)
				require.False(t, strings.HasPrefix(typ, "AWS::ApiGateway"), "%s is an %s", id, typ)
			}
		})
	}
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
	getHead := []any{"GET", "HEAD"}
	// Every method: the function answers 405 itself.
	all := []any{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}

	tests := []struct {
		pattern           string
		wantOrigin        string
		wantCachePolicy   any
		wantRequestPolicy any
		wantCompress      bool
		wantMethods       []any
	}{
		{"default", "s3", pageCache, nil, true, getHead},
		{"/images/*", "s3", imageCache, nil, false, getHead},
		{"/api/*", "api", cachingDisabled, apiRequests, true, all},
		{"/campaigns/*", "api", cachingDisabled, apiRequests, true, all},
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
			require.Equal(t, tt.wantMethods, got["AllowedMethods"])
		})
	}
}

// TestErrorsAreNeverCachedNorReplaced: CloudFront keeps an error for 10 s
// unless told otherwise, and the API behaviours' cache key has neither the
// query string nor the cookie, so a cached 400 of one quarter would answer
// every quarter and a cached 5xx would outlast a blip.
func TestErrorsAreNeverCachedNorReplaced(t *testing.T) {
	st := synth(t).plain
	var mustNotCache []any
	for _, code := range []int{400, 404, 500, 502, 503, 504} {
		mustNotCache = append(mustNotCache, map[string]any{"ErrorCode": code, "ErrorCachingMinTTL": 0})
	}
	requireMatch(t, st, "AWS::CloudFront::Distribution", map[string]any{
		"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{
			"CustomErrorResponses": assertions.Match_ArrayWith(&mustNotCache),
		}),
	})

	// Every entry: TTL 0 and the origin's own answer (no page, no status
	// rewrite), so an API error is never turned into the site's page.
	cfg := st.one(t, "AWS::CloudFront::Distribution", "Distribution").props["DistributionConfig"].(map[string]any)
	for _, e := range cfg["CustomErrorResponses"].([]any) {
		entry := e.(map[string]any)
		require.Equal(t, []string{"ErrorCachingMinTTL", "ErrorCode"}, slices.Sorted(maps.Keys(entry)))
		require.Equal(t, float64(0), entry["ErrorCachingMinTTL"])
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
		{"CookiesConfig", map[string]any{"CookieBehavior": "whitelist", "Cookies": []any{httpapi.CookieName}}},
		{"HeadersConfig", map[string]any{"HeaderBehavior": "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			require.Equal(t, tt.want, cfg[tt.key])
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

func TestFunctions(t *testing.T) {
	st := synth(t).plain
	table := ref(st.one(t, "AWS::DynamoDB::Table", "Table").id)
	tests := []struct {
		function    string
		logGroup    string
		wantMemory  float64
		wantTimeout float64
		wantEnv     map[string]any
		wantLogging map[string]any // without LogGroup
	}{
		{"ApiFunction", "ApiFunctionLogs", 256, 10, map[string]any{
			"TABLE_NAME": table, "CACHE_TTL": "15m", "CACHE_MAX_MIB": "64", "IMAGE_BASE_URL": "/images/",
		}, map[string]any{"LogFormat": "JSON", "SystemLogLevel": "WARN", "ApplicationLogLevel": "INFO"}},
		{"IngestFunction", "IngestFunctionLogs", 512, 900, map[string]any{
			"TABLE_NAME": table,
		}, map[string]any{}},
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
			wantLogging := map[string]any{"LogGroup": ref(logGroup.id)}
			maps.Copy(wantLogging, tt.wantLogging)
			require.Equal(t, wantLogging, fn.props["LoggingConfig"])
			require.Equal(t, float64(30), logGroup.props["RetentionInDays"])
		})
	}
}

func TestAPISizedByContext(t *testing.T) {
	s := synth(t)
	tests := []struct {
		name        string
		st          stackTemplate
		wantMemory  float64
		wantCacheMB string
	}{
		{"defaults", s.plain, 256, "64"},
		{"-c apiMemoryMb=512 -c cacheMaxMib=128", s.options, 512, "128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.st.one(t, "AWS::Lambda::Function", "ApiFunction")
			require.Equal(t, tt.wantMemory, fn.props["MemorySize"])
			require.Equal(t, tt.wantCacheMB, fn.props["Environment"].(map[string]any)["Variables"].(map[string]any)["CACHE_MAX_MIB"])
		})
	}
}

func TestIngestSizedByContext(t *testing.T) {
	s := synth(t)
	tests := []struct {
		name       string
		st         stackTemplate
		wantMemory float64
	}{
		{"defaults", s.plain, 512},
		{"-c ingestMemoryMb=3008", s.options, 3008},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.st.one(t, "AWS::Lambda::Function", "IngestFunction")
			require.Equal(t, tt.wantMemory, fn.props["MemorySize"])
		})
	}
}

// roleGrants returns, for each action that the role's attached policies
// allow, the JSON of the resources it is allowed on, sorted by action.
func (st stackTemplate) roleGrants(t *testing.T, roleID string) []string {
	t.Helper()
	var got []string
	for _, p := range st.resourcesOfType("AWS::IAM::Policy") {
		attached := false
		for _, r := range p.props["Roles"].([]any) {
			if ref, ok := r.(map[string]any); ok && ref["Ref"] == roleID {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, s := range p.props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stmt := s.(map[string]any)
			require.Equal(t, "Allow", stmt["Effect"])
			resources, err := json.Marshal(stmt["Resource"])
			require.NoError(t, err)
			actions := stmt["Action"]
			if a, ok := actions.(string); ok {
				actions = []any{a}
			}
			for _, a := range actions.([]any) {
				got = append(got, a.(string)+" "+string(resources))
			}
		}
	}
	sort.Strings(got)
	return got
}

func TestFunctionPoliciesAreLeastPrivilege(t *testing.T) {
	st := synth(t).plain
	table := fmt.Sprintf(`{"Fn::GetAtt":["%s","Arn"]}`, st.one(t, "AWS::DynamoDB::Table", "Table").id)
	bucket := fmt.Sprintf(`{"Fn::GetAtt":["%s","Arn"]}`, st.one(t, "AWS::S3::Bucket", "DataBucket").id)
	queue := fmt.Sprintf(`{"Fn::GetAtt":["%s","Arn"]}`, st.one(t, "AWS::SQS::Queue", "IngestFailures").id)
	logs := func(prefix string) string {
		return fmt.Sprintf(`{"Fn::GetAtt":["%s","Arn"]}`, st.one(t, "AWS::Logs::LogGroup", prefix).id)
	}
	tests := []struct {
		function string
		want     []string
	}{
		{"ApiFunction", []string{
			"dynamodb:GetItem " + table,
			"logs:CreateLogStream " + logs("ApiFunctionLogs"),
			"logs:PutLogEvents " + logs("ApiFunctionLogs"),
			`xray:PutTelemetryRecords "*"`,
			`xray:PutTraceSegments "*"`,
		}},
		{"IngestFunction", []string{
			"dynamodb:BatchWriteItem " + table,
			"dynamodb:GetItem " + table,
			"dynamodb:PutItem " + table,
			"logs:CreateLogStream " + logs("IngestFunctionLogs"),
			"logs:PutLogEvents " + logs("IngestFunctionLogs"),
			`s3:GetObject {"Fn::Join":["",[` + bucket + `,"/*"]]}`,
			"s3:ListBucket " + bucket,
			"sqs:GetQueueAttributes " + queue,
			"sqs:GetQueueUrl " + queue,
			"sqs:SendMessage " + queue,
			`xray:PutTelemetryRecords "*"`,
			`xray:PutTraceSegments "*"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			fn := st.one(t, "AWS::Lambda::Function", tt.function)
			roleID := functionRole(t, fn)
			require.Equal(t, tt.want, st.roleGrants(t, roleID))
			role := st.one(t, "AWS::IAM::Role", roleID)
			require.Nil(t, role.props["ManagedPolicyArns"], "no managed policies (AWSLambdaBasicExecutionRole writes any log group)")
			require.Nil(t, role.props["Policies"], "no inline policies")
		})
	}
}

func TestNoPolicyGrantsAllDynamoDB(t *testing.T) {
	for name, st := range allStacks(t) {
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

func TestEveryFunctionLogsToAGroupWithRetention(t *testing.T) {
	for name, st := range allStacks(t) {
		t.Run(name, func(t *testing.T) {
			groups := map[string]bool{}     // log group logical IDs
			namedFor := map[string]string{} // log group ID -> function ID in its /aws/lambda/<Ref> name
			for _, g := range st.resourcesOfType("AWS::Logs::LogGroup") {
				require.NotNil(t, g.props["RetentionInDays"], "log group %s has no retention", g.id)
				groups[g.id] = true
				if name, ok := g.props["LogGroupName"]; ok {
					parts := name.(map[string]any)["Fn::Join"].([]any)[1].([]any)
					require.Equal(t, "/aws/lambda/", parts[0], "log group %s", g.id)
					namedFor[g.id] = parts[1].(map[string]any)["Ref"].(string)
				}
			}
			helpers := map[string]bool{} // functions logging to a group named after them
			for _, fnID := range namedFor {
				helpers[fnID] = true
			}
			for _, fn := range st.resourcesOfType("AWS::Lambda::Function") {
				if cfg, ok := fn.props["LoggingConfig"].(map[string]any); ok {
					lg, _ := cfg["LogGroup"].(map[string]any)
					require.True(t, groups[fmt.Sprint(lg["Ref"])], "function %s logs to %v, not a log group of the stack", fn.id, cfg["LogGroup"])
					continue
				}
				require.True(t, helpers[fn.id], "function %s has no log group of its own", fn.id)
			}
			require.NotEmpty(t, helpers)
			// Custom resources, which invoke the helper functions, wait for
			// the helpers' log groups, so that Lambda cannot create them first.
			for id, r := range st.json["Resources"].(map[string]any) {
				res := r.(map[string]any)
				if !strings.HasPrefix(res["Type"].(string), "Custom::") {
					continue
				}
				waitsFor := map[string]bool{}
				deps, _ := res["DependsOn"].([]any)
				for _, d := range deps {
					if fnID, ok := namedFor[d.(string)]; ok {
						waitsFor[fnID] = true
					}
				}
				require.Equal(t, helpers, waitsFor, "custom resource %s", id)
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
			map[string]any{"AttributeName": dynamo.PartitionKey, "KeyType": "HASH"},
			map[string]any{"AttributeName": dynamo.SortKey, "KeyType": "RANGE"},
		}},
		{"AttributeDefinitions", []any{
			map[string]any{"AttributeName": dynamo.PartitionKey, "AttributeType": "S"},
			map[string]any{"AttributeName": dynamo.SortKey, "AttributeType": "S"},
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
	joinURL := func(path string) map[string]any {
		return map[string]any{"Fn::Join": []any{"", []any{"https://", getAtt(dist, "DomainName"), path}}}
	}
	tests := []struct {
		name string
		want any
	}{
		{"BannerUrl", joinURL("/?cam-id=1")},
		{"AdTagUrl", joinURL("/campaigns/1")},
		{"DistributionId", ref(dist)},
		{"DataBucketName", ref(st.one(t, "AWS::S3::Bucket", "DataBucket").id)},
		{"TableName", ref(st.one(t, "AWS::DynamoDB::Table", "Table").id)},
		{"SiteBucketName", ref(st.one(t, "AWS::S3::Bucket", "SiteBucket").id)},
		{"IngestFailuresQueueUrl", ref(st.one(t, "AWS::SQS::Queue", "IngestFailures").id)},
		{"AccessLogsBucketName", ref(st.one(t, "AWS::S3::Bucket", "AccessLogsBucket").id)},
		{"DashboardUrl", map[string]any{"Fn::Join": []any{"", []any{
			"https://console.aws.amazon.com/cloudwatch/home?region=", ref("AWS::Region"),
			"#dashboards/dashboard/", ref(st.one(t, "AWS::CloudWatch::Dashboard", "Dashboard").id),
		}}}},
		{"AlarmTopicArn", ref(st.one(t, "AWS::SNS::Topic", "AlarmTopic").id)},
	}
	outputs := st.json["Outputs"].(map[string]any)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := outputs[tt.name].(map[string]any)
			require.True(t, ok, "no output %s", tt.name)
			require.Equal(t, tt.want, got["Value"])
		})
	}
	require.Len(t, outputs, len(tests), "no unnamed extra outputs")
}

func TestSettingsFromContext(t *testing.T) {
	ctx, err := cdkJSONContext()
	require.NoError(t, err)
	withCtx := func(overrides map[string]any) map[string]any {
		m := maps.Clone(ctx)
		maps.Copy(m, overrides)
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
			ctx: withCtx(map[string]any{
				"cacheTtl": "5m", "apiReservedConcurrency": "50", "ingestReservedConcurrency": "1", "wafRateLimit": "2000",
				"alarmEmail": "ops@example.com",
			}),
			want: Settings{CacheTTL: "5m", CacheMaxMiB: 64, APIMemoryMB: 256, IngestMemoryMB: 512, APIReservedConcurrency: 50, IngestReservedConcurrency: 1, WAFRateLimit: 2000,
				AlarmEmail: "ops@example.com"},
		},
		{
			name: "JSON numbers",
			ctx:  withCtx(map[string]any{"apiReservedConcurrency": 20.0, "wafRateLimit": 10.0}),
			want: Settings{CacheTTL: "15m", CacheMaxMiB: 64, APIMemoryMB: 256, IngestMemoryMB: 512, APIReservedConcurrency: 20, WAFRateLimit: 10},
		},
		{
			name: "sized for a million campaigns",
			ctx:  withCtx(map[string]any{"apiMemoryMb": 512.0, "cacheMaxMib": "128", "ingestMemoryMb": 3008.0}),
			want: Settings{CacheTTL: "15m", CacheMaxMiB: 128, APIMemoryMB: 512, IngestMemoryMB: 3008},
		},
		{name: "cache larger than half the memory", ctx: withCtx(map[string]any{"cacheMaxMib": 129.0}), wantErr: true},
		{name: "zero cache", ctx: withCtx(map[string]any{"cacheMaxMib": 0.0}), wantErr: true},
		{name: "memory below Lambda's minimum", ctx: withCtx(map[string]any{"apiMemoryMb": 64.0}), wantErr: true},
		{name: "memory above Lambda's maximum", ctx: withCtx(map[string]any{"apiMemoryMb": 10241.0}), wantErr: true},
		{name: "ingest memory below Lambda's minimum", ctx: withCtx(map[string]any{"ingestMemoryMb": 64.0}), wantErr: true},
		{name: "TTL without unit", ctx: withCtx(map[string]any{"cacheTtl": "60"}), wantErr: true},
		{name: "zero TTL", ctx: withCtx(map[string]any{"cacheTtl": "0s"}), wantErr: true},
		{name: "negative TTL", ctx: withCtx(map[string]any{"cacheTtl": "-1s"}), wantErr: true},
		{name: "TTL not a duration", ctx: withCtx(map[string]any{"cacheTtl": "abc"}), wantErr: true},
		{name: "TTL not a string", ctx: withCtx(map[string]any{"cacheTtl": 60.0}), wantErr: true},
		{name: "negative reservation", ctx: withCtx(map[string]any{"apiReservedConcurrency": -1.0}), wantErr: true},
		{name: "fractional reservation", ctx: withCtx(map[string]any{"ingestReservedConcurrency": "1.5"}), wantErr: true},
		{name: "reservation not a number", ctx: withCtx(map[string]any{"ingestReservedConcurrency": "one"}), wantErr: true},
		{name: "WAF limit below WAF's minimum", ctx: withCtx(map[string]any{"wafRateLimit": 9.0}), wantErr: true},
		{name: "WAF limit above WAF's maximum", ctx: withCtx(map[string]any{"wafRateLimit": 2e9 + 1}), wantErr: true},
		{name: "alarm email without @", ctx: withCtx(map[string]any{"alarmEmail": "ops"}), wantErr: true},
		{name: "alarm email without domain", ctx: withCtx(map[string]any{"alarmEmail": "ops@"}), wantErr: true},
		{name: "two alarm emails", ctx: withCtx(map[string]any{"alarmEmail": "a@example.com,b@example.com"}), wantErr: true},
		{name: "alarm email not a string", ctx: withCtx(map[string]any{"alarmEmail": 1.0}), wantErr: true},
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
		{"zero cache TTL", func(p *BannersStackProps) { p.CacheTTL = "0s" }},
		{"negative reservation", func(p *BannersStackProps) { p.IngestReservedConcurrency = -1 }},
		{"WAF limit too low", func(p *BannersStackProps) { p.WAFRateLimit = 1 }},
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

func TestReservedConcurrencyOnlyWhenAsked(t *testing.T) {
	s := synth(t)
	tests := []struct {
		name     string
		st       stackTemplate
		function string
		want     any
	}{
		{"default API", s.plain, "ApiFunction", nil},
		{"default ingest", s.plain, "IngestFunction", nil},
		{"option API", s.options, "ApiFunction", float64(optionSettings.APIReservedConcurrency)},
		{"option ingest", s.options, "IngestFunction", float64(optionSettings.IngestReservedConcurrency)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.st.one(t, "AWS::Lambda::Function", tt.function)
			require.Equal(t, tt.want, fn.props["ReservedConcurrentExecutions"])
		})
	}
	// No function of the default stack, CDK's helpers included, reserves any.
	for _, fn := range s.plain.resourcesOfType("AWS::Lambda::Function") {
		require.Nil(t, fn.props["ReservedConcurrentExecutions"], fn.id)
	}
}

func TestWAFOnlyWhenAsked(t *testing.T) {
	s := synth(t)
	t.Run("default", func(t *testing.T) {
		require.Empty(t, s.plain.resourcesOfType("AWS::WAFv2::WebACL"))
		rules, _ := s.plain.json["Rules"].(map[string]any)
		require.NotContains(t, rules, "WafNeedsUsEast1")
	})
	t.Run("wafRateLimit", func(t *testing.T) {
		st := s.options
		acl := st.one(t, "AWS::WAFv2::WebACL", "WebAcl")
		requireMatch(t, st, "AWS::WAFv2::WebACL", map[string]any{
			"Scope":         "CLOUDFRONT",
			"DefaultAction": map[string]any{"Allow": map[string]any{}},
			"Rules": []any{assertions.Match_ObjectLike(&map[string]any{
				"Action": map[string]any{"Block": map[string]any{}},
				"Statement": map[string]any{"RateBasedStatement": map[string]any{
					"Limit":               optionSettings.WAFRateLimit,
					"AggregateKeyType":    "IP",
					"EvaluationWindowSec": 300,
				}},
			})},
		})
		cfg := st.one(t, "AWS::CloudFront::Distribution", "Distribution").props["DistributionConfig"].(map[string]any)
		require.Equal(t, getAtt(acl.id, "Arn"), cfg["WebACLId"])

		// The deploy stops early outside us-east-1.
		rule := st.json["Rules"].(map[string]any)["WafNeedsUsEast1"].(map[string]any)
		assertion := rule["Assertions"].([]any)[0].(map[string]any)
		require.Equal(t, map[string]any{"Fn::Equals": []any{ref("AWS::Region"), "us-east-1"}}, assertion["Assert"])
	})
}

func TestAccountWideNamesCarryTheRegion(t *testing.T) {
	// Resource types whose names are unique per account (not per region),
	// and where each keeps its name.
	named := []struct{ typ, config, field string }{
		{"AWS::CloudFront::OriginAccessControl", "OriginAccessControlConfig", "Name"},
		{"AWS::CloudFront::CachePolicy", "CachePolicyConfig", "Name"},
		{"AWS::CloudFront::OriginRequestPolicy", "OriginRequestPolicyConfig", "Name"},
		{"AWS::CloudFront::ResponseHeadersPolicy", "ResponseHeadersPolicyConfig", "Name"},
		{"AWS::WAFv2::WebACL", "", "Name"},
	}
	// Name properties that must be left to CloudFormation.
	generated := map[string]string{
		"AWS::S3::Bucket":         "BucketName",
		"AWS::DynamoDB::Table":    "TableName",
		"AWS::Lambda::Function":   "FunctionName",
		"AWS::IAM::Role":          "RoleName",
		"AWS::IAM::Policy":        "", // PolicyName is per role
		"AWS::SQS::Queue":         "QueueName",
		"AWS::IAM::ManagedPolicy": "ManagedPolicyName",
	}
	for name, st := range allStacks(t) {
		t.Run(name, func(t *testing.T) {
			count := 0
			for _, n := range named {
				for _, r := range st.resourcesOfType(n.typ) {
					props := r.props
					if n.config != "" {
						props = props[n.config].(map[string]any)
					}
					b, err := json.Marshal(props[n.field])
					require.NoError(t, err)
					require.Contains(t, string(b), `{"Ref":"AWS::Region"}`, "%s %s name", n.typ, r.id)
					count++
				}
			}
			require.GreaterOrEqual(t, count, 6, "OACs and policies checked")
			for typ, field := range generated {
				if field == "" {
					continue
				}
				for _, r := range st.resourcesOfType(typ) {
					require.Nil(t, r.props[field], "%s %s sets %s", typ, r.id, field)
				}
			}
		})
	}
}

func TestNoUnsuppressedNagErrors(t *testing.T) {
	for name, st := range allStacks(t) {
		t.Run(name, func(t *testing.T) {
			require.Empty(t, st.nagErrors, "cdk-nag AwsSolutions errors:\n%s", strings.Join(st.nagErrors, "\n"))
		})
	}
}

func TestNagReportIsParsed(t *testing.T) {
	// Guards TestNoUnsuppressedNagErrors against a report that silently
	// stops matching: a report with a known error must yield it.
	dir := t.TempDir()
	report := "Rule ID,Resource ID,Compliance,Exception Reason,Rule Level,Rule Info\n" +
		`"AwsSolutions-S1","X/Bucket/Resource","Non-Compliant","N/A","Error","logs"` + "\n" +
		`"AwsSolutions-S2","X/Bucket/Resource","Compliant","N/A","Error","public"` + "\n" +
		`"AwsSolutions-CFR1","X/Dist/Resource","Non-Compliant","N/A","Warning","geo"` + "\n" +
		`"AwsSolutions-L1","X/Fn/Resource","Suppressed","pinned","Error","runtime"` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "AwsSolutions-X-NagReport.csv"), []byte(report), 0o644))
	got, err := nagReportErrors(dir, "X")
	require.NoError(t, err)
	require.Equal(t, []string{"AwsSolutions-S1 X/Bucket/Resource"}, got)
}

// TestCDKJSONBuildsWithoutVCSStamping: the CDK CLI runs cdk.json's build
// and app commands, and a checkout whose VCS status Go cannot read (a
// tarball, a folder owned by another user) must still synthesize. The
// build is the Makefile's (quiet: the CLI's output stays the template),
// which builds with GOFLAGS=-buildvcs=false.
func TestCDKJSONBuildsWithoutVCSStamping(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	require.NoError(t, err)
	var f struct{ App, Build string }
	require.NoError(t, json.Unmarshal(b, &f))
	require.Contains(t, f.App, "go run -buildvcs=false ")
	require.Equal(t, "make -s build", f.Build)
	makefile, err := os.ReadFile(filepath.Join("..", "Makefile"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^export GOFLAGS \??= -buildvcs=false$`, string(makefile))
}
