package main

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"banners/internal/app"
	"banners/internal/cache"
)

func TestReadEnv(t *testing.T) {
	// settings is what the function's environment sets: the cache's TTL
	// and bound, and the image base URL.
	settings := func(ttl time.Duration, maxMiB int64, imageBaseURL string) app.Config {
		return app.Config{Cache: cache.Config{TTL: ttl, MaxBytes: maxMiB << 20, Prewarm: cache.Prewarm{TopK: 1000}},
			ImageBaseURL: imageBaseURL, Traced: true}
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    app.Config
		wantErr string
	}{
		{"defaults", map[string]string{"TABLE_NAME": "t"}, settings(60*time.Second, 64, ""), ""},
		{"all set", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "15m", "IMAGE_BASE_URL": "https://cdn/x/", "CACHE_MAX_MIB": "128"},
			settings(15*time.Minute, 128, "https://cdn/x/"), ""},
		{"zero cache size", map[string]string{"TABLE_NAME": "t", "CACHE_MAX_MIB": "0"}, app.Config{}, "CACHE_MAX_MIB"},
		{"cache size above Lambda's memory", map[string]string{"TABLE_NAME": "t", "CACHE_MAX_MIB": "1048576"}, app.Config{}, "CACHE_MAX_MIB"},
		{"cache size with unit", map[string]string{"TABLE_NAME": "t", "CACHE_MAX_MIB": "64MiB"}, app.Config{}, "CACHE_MAX_MIB"},
		{"no table", map[string]string{"CACHE_TTL": "60s"}, app.Config{}, "TABLE_NAME is not set"},
		{"zero TTL", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "0s"}, app.Config{}, "CACHE_TTL"},
		{"negative TTL", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "-1s"}, app.Config{}, "CACHE_TTL"},
		{"TTL without unit", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "60"}, app.Config{}, "CACHE_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, got, err := readEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "t", table)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAWSConfig(t *testing.T) {
	lambdaEnv := map[string]string{"AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}
	with := func(kv ...string) map[string]string {
		env := maps.Clone(lambdaEnv)
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name         string
		env          map[string]string
		wantEndpoint string // "" for the SDK's own
		wantToken    string
		wantErr      string
	}{
		{"as in Lambda", lambdaEnv, "", "token", ""},
		{"without session token", with("AWS_SESSION_TOKEN", ""), "", "", ""},
		{"DynamoDB endpoint", with("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4567"), "http://127.0.0.1:4567", "token", ""},
		{"global endpoint", with("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"), "http://127.0.0.1:4566", "token", ""},
		{"DynamoDB endpoint before the global one", with("AWS_ENDPOINT_URL", "http://a", "AWS_ENDPOINT_URL_DYNAMODB", "http://b"), "http://b", "token", ""},
		{"no region", with("AWS_REGION", ""), "", "", "AWS_REGION is not set"},
		{"no key ID", with("AWS_ACCESS_KEY_ID", ""), "", "", "AWS_ACCESS_KEY_ID is not set"},
		{"no secret", with("AWS_SECRET_ACCESS_KEY", ""), "", "", "AWS_SECRET_ACCESS_KEY is not set"},
		{"nothing", map[string]string{}, "", "", "AWS_REGION is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := awsConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "eu-central-1", cfg.Region)
			creds, err := cfg.Credentials.Retrieve(context.Background())
			require.NoError(t, err)
			require.Equal(t, tt.env["AWS_ACCESS_KEY_ID"], creds.AccessKeyID)
			require.Equal(t, tt.env["AWS_SECRET_ACCESS_KEY"], creds.SecretAccessKey)
			require.Equal(t, tt.wantToken, creds.SessionToken)
			require.Equal(t, tt.wantEndpoint, aws.ToString(cfg.BaseEndpoint))
			require.NotNil(t, cfg.Retryer)
			require.Equal(t, 10, cfg.Retryer().MaxAttempts(), "dynamo.NewRetryer's")
		})
	}
}
