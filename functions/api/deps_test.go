package main

import (
	"errors"
	"os/exec"
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
