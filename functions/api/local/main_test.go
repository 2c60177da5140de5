package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/dynamo"
	"banners/internal/dynamo/dynamotest"
	"banners/internal/httpapi"
	"banners/internal/testkit"
)

func TestRunFlags(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for none
		want    string // a file run must have written, under dir
	}{
		{"help", []string{"-h"}, flag.ErrHelp.Error(), ""},
		{"data and table", []string{"-data", dir, "-table", "banners"}, "-data and -table exclude each other", ""},
		{"bad cache TTL", []string{"-cache-ttl", "0s"}, "-cache-ttl", ""},
		{"unknown flag", []string{"-port", "1"}, "-port", ""},
		{"write data", []string{"-write-data", filepath.Join(dir, "data")}, "", "data/1/impressions_1.csv"},
		{"write placeholders", []string{"-write-placeholders", filepath.Join(dir, "images")}, "", "images/image_100.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, slog.New(slog.DiscardHandler), io.Discard)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			_, err = os.Stat(filepath.Join(dir, tt.want))
			require.NoError(t, err)
		})
	}
}

// TestRunTable serves from a DynamoDB table on dynalite, with the SDK's
// configuration from the environment as a developer's shell would set it.
func TestRunTable(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Dynalite)
	client := srv.Client()
	table := srv.NewTable(t, client)
	c := banner.NewTally()
	c.Revenue[101], c.Banners[101] = 5, struct{}{}
	_, err := dynamo.New(client, table).PutQuarter(t.Context(), 2, []banner.Campaign{c.Campaign(banner.Key{CampaignID: 10, Quarter: 2})})
	require.NoError(t, err)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "")

	port, err := testkit.FreePort()
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-table", table}, slog.New(slog.DiscardHandler), io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get("http://" + addr + "/api/campaigns/10/banners?quarter=2")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got httpapi.Answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.Len(t, got.Banners, 1)
	require.Equal(t, int64(101), got.Banners[0].ID)
}
