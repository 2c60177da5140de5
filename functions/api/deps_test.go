package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLambdaLinksNoLocalOnlyPackages keeps out of the function's build what
// only the local server and the ingest need: the SDK's default
// configuration loader and the credential clients it links (their package
// initialisation cost about 2 ms of every cold start), attributevalue with
// the dynamodbstreams packages it pulls in, and the local server with its
// data, images and site; and the AWS SDK v1, which is out of support.
func TestLambdaLinksNoLocalOnlyPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "banners/functions/api").Output()
	require.NoError(t, err, "go list: %s", errOutput(err))
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/aws/aws-sdk-go-v2/service/dynamodb", "the list is the function's")

	const sdk = "github.com/aws/aws-sdk-go-v2/"
	tests := []struct {
		pkg  string // with its subpackages
		want []string
	}{
		{sdk + "config", nil},
		{sdk + "service/sts", nil},
		{sdk + "service/sso", nil},
		{sdk + "service/ssooidc", nil},
		{sdk + "service/signin", nil},
		{sdk + "feature/ec2/imds", nil},
		{sdk + "feature/dynamodb/attributevalue", nil},
		{sdk + "service/dynamodbstreams", nil},
		{"github.com/aws/aws-sdk-go", nil},
		{"banners/internal/server", nil},
		{"banners/internal/sample", nil},
		{"banners/internal/csvload", nil},
		{"banners/internal/memory", nil},
		{"banners/internal/images", nil},
		{"banners/site", nil},
		{"testing/fstest", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			var got []string
			for _, d := range deps {
				if d == tt.pkg || strings.HasPrefix(d, tt.pkg+"/") {
					got = append(got, d)
				}
			}
			require.Equal(t, tt.want, got, "functions/api links %s", tt.pkg)
		})
	}
}

// errOutput returns the standard error of a failed command.
func errOutput(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// TestLambdaLinksOnlyTheOperationsItCalls: the function's binary holds the
// DynamoDB client's code for the operations internal/dynamo calls, not for
// all of the service's. (The X-Ray SDK links html/template, whose
// reflection keeps every method of a type reachable through an interface;
// internal/dynamo holds the client's methods as values to escape it: a
// binary 1.4 MB smaller to ship.)
func TestLambdaLinksOnlyTheOperationsItCalls(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "banners/functions/api")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	nm, err := exec.Command("go", "tool", "nm", bin).Output()
	require.NoError(t, err, "go tool nm: %s", errOutput(err))

	const prefix = "github.com/aws/aws-sdk-go-v2/service/dynamodb.(*Client)."
	var got []string
	for _, line := range strings.Split(string(nm), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[2], prefix) {
			continue
		}
		if m := strings.TrimPrefix(f[2], prefix); m != "" && m[0] >= 'A' && m[0] <= 'Z' && !strings.ContainsAny(m, ".-") {
			got = append(got, m)
		}
	}
	slices.Sort(got)
	// DescribeEndpoints is the SDK's own, for endpoint discovery.
	want := []string{"BatchWriteItem", "CreateTable", "DescribeEndpoints", "DescribeTable", "GetItem", "PutItem"}
	require.Equal(t, want, got)
}
