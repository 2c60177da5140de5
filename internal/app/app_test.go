package app_test

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"banners/internal/app"
	"banners/internal/cache"
	"banners/internal/memory"
	"banners/internal/sample"
	"banners/internal/server"
)

func TestReadLambdaEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    app.LambdaEnv
		wantErr string
	}{
		{"defaults", map[string]string{"TABLE_NAME": "t"}, app.LambdaEnv{Table: "t", CacheTTL: 60 * time.Second, CacheMaxMiB: 64}, ""},
		{"all set", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "15m", "IMAGE_BASE_URL": "https://cdn/x/", "CACHE_MAX_MIB": "128"},
			app.LambdaEnv{Table: "t", CacheTTL: 15 * time.Minute, ImageBaseURL: "https://cdn/x/", CacheMaxMiB: 128}, ""},
		{"zero cache size", map[string]string{"TABLE_NAME": "t", "CACHE_MAX_MIB": "0"}, app.LambdaEnv{}, "CACHE_MAX_MIB"},
		{"cache size above Lambda's memory", map[string]string{"TABLE_NAME": "t", "CACHE_MAX_MIB": "1048576"}, app.LambdaEnv{}, "CACHE_MAX_MIB"},
		{"cache size with unit", map[string]string{"TABLE_NAME": "t", "CACHE_MAX_MIB": "64MiB"}, app.LambdaEnv{}, "CACHE_MAX_MIB"},
		{"no table", map[string]string{"CACHE_TTL": "60s"}, app.LambdaEnv{}, "TABLE_NAME is not set"},
		{"zero TTL", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "0s"}, app.LambdaEnv{}, "CACHE_TTL"},
		{"negative TTL", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "-1s"}, app.LambdaEnv{}, "CACHE_TTL"},
		{"TTL without unit", map[string]string{"TABLE_NAME": "t", "CACHE_TTL": "60"}, app.LambdaEnv{}, "CACHE_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := app.ReadLambdaEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLambdaAWSConfig(t *testing.T) {
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
			cfg, err := app.LambdaAWSConfig(func(k string) string { return tt.env[k] })
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

func TestNewLocal(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	written := t.TempDir()
	require.NoError(t, sample.WriteDir(written))
	tests := []struct {
		name    string
		local   app.Local
		wantErr string
	}{
		{"built-in sample", app.Local{}, ""},
		{"sample written to a folder", app.Local{DataDir: written}, ""},
		{"store and data folder", app.Local{Store: memory.New(nil), DataDir: written}, "exclude each other"},
		{"missing folder", app.Local{DataDir: "/nonexistent/banners"}, "/nonexistent/banners"},
		{"bad cache setting", app.Local{Cache: cache.Config{TTL: -time.Second}}, "TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, api, err := app.NewLocal(tt.local, log)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			t.Cleanup(api.Close)
			h := server.Handler(cfg)
			for path, want := range map[string]int{
				"/api/campaigns/10/banners?quarter=2": http.StatusOK,
				"/campaigns/10?quarter=2":             http.StatusFound,
				"/images/image_100.png":               http.StatusOK,
				"/":                                   http.StatusOK,
				"/api/campaigns/99999/banners":        http.StatusNotFound,
			} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				require.Equal(t, want, rec.Code, path)
			}
		})
	}
}
