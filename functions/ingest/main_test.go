package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/lambdatest"
	"banners/internal/testkit"
)

// files is a small quarter 1: campaign 1 has converting and clicked
// banners, campaign 2 clicked ones only, campaign 3 impressions only; two
// rows are rejected.
var files = map[csvload.Kind]string{
	csvload.Impressions: "banner_id,campaign_id\n100,1\n101,1\n102,1\n103,1\n104,1\n105,1\n200,2\n201,2\n300,3\n301,3\n300,3\n",
	csvload.Clicks:      "click_id,banner_id,campaign_id\n1,100,1\n2,100,1\n3,101,1\n4,102,1\n5,103,1\n6,200,2\n7,200,2\n8,201,2\n8,201,2\n",
	csvload.Conversions: "conversion_id,click_id,revenue\n1,1,0.5\n2,2,0.25\n3,3,1.5\n4,99,1.0\n",
}

// event returns testdata/s3-put.json for bucket and the URL-encoded key.
func event(t *testing.T, bucket, key string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/s3-put.json")
	require.NoError(t, err)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(b, &ev))
	s3 := ev["Records"].([]any)[0].(map[string]any)["s3"].(map[string]any)
	s3["bucket"].(map[string]any)["name"] = bucket
	s3["bucket"].(map[string]any)["arn"] = "arn:aws:s3:::" + bucket
	s3["object"].(map[string]any)["key"] = key
	b, err = json.Marshal(ev)
	require.NoError(t, err)
	return b
}

// TestLambdaUnderRIE runs the ingest bootstrap under the Lambda runtime
// interface emulator against moto (S3 and DynamoDB on one port), invokes
// it with a real S3 ObjectCreated event and checks the table.
func TestLambdaUnderRIE(t *testing.T) {
	ctx := t.Context()
	srv := dynamotest.Start(t, dynamotest.Moto)
	client := srv.Client()
	table := srv.NewTable(t, client)

	const bucket, prefix = "banners-data", "up loads/"
	s3c := s3.NewFromConfig(srv.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(dynamotest.Region),
		},
	})
	require.NoError(t, err)
	l := csvload.NewQuarter(1)
	for _, k := range csvload.Kinds {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket),
			Key:    aws.String(prefix + csvload.Path(k, 1)),
			Body:   strings.NewReader(files[k]),
		})
		require.NoError(t, err)
		require.NoError(t, l.Read(k, csvload.Path(k, 1), strings.NewReader(files[k])))
	}
	want := l.Campaigns()
	require.Len(t, want, 3)

	fn := lambdatest.Start(t, lambdatest.Build(t, "."), append(srv.Env(), "TABLE_NAME="+table)...)

	tests := []struct {
		name  string
		key   string // as S3 sends it, URL-encoded
		items int    // campaign items, manifests and pages afterwards
	}{
		{"foreign key ignored", "up+loads/readme.txt", 0},
		{"quarter loaded", "up+loads/1/conversions_1.csv", 3 + 1 + 1},
		{"same quarter again", "up+loads/1/clicks_1.csv", 3 + 1 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := fn.Invoke(ctx, event(t, bucket, tt.key))
			require.NoError(t, err)
			require.False(t, lambdatest.FunctionError(out), "function error: %s\n%s", out, fn.Logs())
			items, _ := dynamotest.Scan(t, client, table, 0)
			require.Len(t, items, tt.items)
		})
	}

	store := dynamo.New(client, table)
	testkit.RequireCampaigns(t, store, want)
	_, err = store.Campaign(ctx, banner.Key{CampaignID: 1, Quarter: 2})
	require.ErrorIs(t, err, banner.ErrNotFound)

	logs := fn.Logs()
	t.Logf("function logs:\n%s", logs)
	for _, want := range []string{`"msg":"row rejected"`, `"at":"up loads/1/clicks_1.csv:10"`, `"at":"up loads/1/conversions_1.csv:5"`, `"msg":"quarter loaded"`} {
		require.Contains(t, logs, want)
	}
	require.False(t, bytes.Contains([]byte(logs), []byte("segment cannot be found")), "X-Ray complained:\n%s", logs)
}

// writeData writes files as quarter 1, and header-only files for quarters
// 2 to 4, under a new temporary directory.
func writeData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		for _, k := range csvload.Kinds {
			body, _, _ := strings.Cut(files[k], "\n")
			if q == 1 {
				body = files[k]
			}
			p := filepath.Join(dir, csvload.Path(k, q))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(body+"\n"), 0o644))
		}
	}
	return dir
}

// TestCLI runs the command-line loader against dynalite, one step after
// the other on the same table.
func TestCLI(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "")
	t.Setenv("TABLE_NAME", "")
	dir := writeData(t)
	broken := writeData(t)
	require.NoError(t, os.Remove(filepath.Join(broken, "3", "clicks_3.csv")))

	tests := []struct {
		name    string
		args    []string
		wantOut string // in stdout
		wantErr string // in the error
		items   int    // in the table afterwards: campaigns, 4 manifests, 1 page (quarters 2 to 4 are empty)
	}{
		{"no table", []string{"-data", dir}, "", "both -table (or TABLE_NAME) and -data are needed", 0},
		{"no such table", []string{"-table", "banners", "-data", dir}, "", "put quarter 1: table banners does not exist", 0},
		{"create and load", []string{"-table", "banners", "-data", dir, "-create"},
			"quarter 1: 3 items put, 0 deleted, unchanged false", "", 3 + 4 + 1},
		{"reload writes nothing", []string{"-table", "banners", "-data", dir},
			"items written: 0 put, 0 deleted", "", 3 + 4 + 1},
		{"missing file", []string{"-table", "banners", "-data", broken}, "", "open 3/clicks_3.csv", 3 + 4 + 1},
	}
	client := srv.Client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			if tt.wantErr == "" {
				require.NoError(t, err, stderr.String())
			} else {
				require.ErrorContains(t, err, tt.wantErr)
			}
			require.Contains(t, stdout.String(), tt.wantOut)
			require.NotContains(t, stderr.String(), "segment", "no X-Ray complaints outside Lambda")
			if tt.items > 0 {
				items, _ := dynamotest.Scan(t, client, "banners", 0)
				require.Len(t, items, tt.items)
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		env    map[string]string
		want   int64
		wantOK bool
	}{
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008"}, 2_838_704_940, true}, // 90% of 3008 MiB
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}, 483_183_819, true},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008", "GOMEMLIMIT": "1GiB"}, 0, false},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 0, false},
		{map[string]string{}, 0, false},
	}
	for _, tt := range tests {
		got, ok := memoryLimit(func(k string) string { return tt.env[k] })
		require.Equal(t, tt.wantOK, ok, "%v", tt.env)
		require.Equal(t, tt.want, got, "%v", tt.env)
	}
}
