package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"banners/internal/dynamo/dynamotest"
	"banners/internal/httpapi"
	"banners/internal/lambdatest"
)

// TestLambdaEndToEnd builds the function's bootstrap, runs it under the
// Lambda Runtime Interface Emulator against moto holding the dataset, and
// replays the function URL events in testdata, as CloudFront sends them
// through its Origin Access Control.
func TestLambdaEndToEnd(t *testing.T) {
	srv := dynamotest.Start(t, dynamotest.Moto)
	table := loadDataset(t, srv)
	bootstrap := lambdatest.Build(t, ".")
	st, err := os.Stat(bootstrap)
	require.NoError(t, err)
	fn := lambdatest.Start(t, bootstrap,
		append(srv.Env(), "TABLE_NAME="+table, "CACHE_TTL=30s", "IMAGE_BASE_URL=https://cdn.example.test/banners/")...)
	// The emulator starts the function's process on the first invoke, so
	// the first invoke's time is process start + cold-start wiring + the
	// first answer (a cache miss reading moto).
	var invokes []time.Duration

	campaign10 := []int64{101, 102, 103, 104, 105, 106, 107}
	tests := []struct {
		event      string
		wantStatus int
		// wantBanners are the banners the answer must hold, in any order;
		// for the ad tag, the banners the redirect may point to.
		wantBanners []int64
		last        int64 // the banner the event's cookie names
		wantBody    bool  // false for HEAD
		wantError   string
		wantAllow   string
	}{
		{"get-banners.json", 200, campaign10, 105, true, "", ""},
		{"head-banners.json", 200, nil, 105, false, "", ""},
		{"ad-tag.json", 302, campaign10, 107, false, "", ""},
		{"unknown-campaign.json", 404, nil, 0, true, "campaign 424242 has no banners in quarter 2", ""},
		{"unknown-path.json", 404, nil, 0, true, "not found", ""},
		{"bad-id.json", 400, nil, 0, true, "campaign_id must be a positive integer below 10^18", ""},
		{"post-base64.json", 405, nil, 0, true, `method "POST" not allowed, use GET`, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			ev, err := os.ReadFile("testdata/" + tt.event)
			require.NoError(t, err)
			start := time.Now()
			payload, err := fn.Invoke(context.Background(), ev)
			invokes = append(invokes, time.Since(start))
			require.NoError(t, err)
			require.False(t, lambdatest.FunctionError(payload), "%s", payload)
			var resp events.LambdaFunctionURLResponse
			require.NoError(t, json.Unmarshal(payload, &resp))
			require.Equal(t, tt.wantStatus, resp.StatusCode, "%s", payload)
			require.Equal(t, "no-store", resp.Headers["Cache-Control"])
			require.Equal(t, tt.wantAllow, resp.Headers["Allow"])
			require.False(t, resp.IsBase64Encoded)
			if !tt.wantBody {
				require.Empty(t, resp.Body)
			}

			switch tt.wantStatus {
			case 200:
				require.Equal(t, "application/json", resp.Headers["Content-Type"])
				id := cookieBanner(t, resp)
				require.NotEqual(t, tt.last, id, "the banner served last time comes first")
				if !tt.wantBody {
					require.NotEmpty(t, resp.Headers["Content-Length"])
					return
				}
				require.Equal(t, strconv.Itoa(len(resp.Body)), resp.Headers["Content-Length"])
				var got httpapi.Answer
				require.NoError(t, json.Unmarshal([]byte(resp.Body), &got))
				require.Equal(t, int64(10), got.CampaignID)
				require.Equal(t, 2, got.Quarter)
				var ids []int64
				for _, b := range got.Banners {
					ids = append(ids, b.ID)
					require.Equal(t, "https://cdn.example.test/banners/image_"+strconv.FormatInt(b.ID, 10)+".png", b.ImageURL)
				}
				require.Equal(t, ids[0], id, "the cookie remembers the first banner")
				slices.Sort(ids)
				require.Equal(t, tt.wantBanners, ids)
			case 302:
				loc := resp.Headers["Location"]
				id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(loc, "https://cdn.example.test/banners/image_"), ".png"), 10, 64)
				require.NoError(t, err, loc)
				require.Contains(t, tt.wantBanners, id)
				require.NotEqual(t, tt.last, id)
				require.Equal(t, id, cookieBanner(t, resp), "the cookie remembers the banner shown")
			default:
				require.Equal(t, "application/json", resp.Headers["Content-Type"])
				var got struct{ Error string }
				require.NoError(t, json.Unmarshal([]byte(resp.Body), &got), resp.Body)
				require.Equal(t, tt.wantError, got.Error)
				require.Empty(t, resp.Cookies)
			}
		})
	}

	// One access log line per invocation, in order, with its status.
	var wantStatuses, gotStatuses []int
	for _, tt := range tests {
		wantStatuses = append(wantStatuses, tt.wantStatus)
	}
	require.Eventually(t, func() bool {
		gotStatuses = nil
		for line := range strings.Lines(fn.Logs()) {
			var rec struct {
				Msg    string
				Status int
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" {
				gotStatuses = append(gotStatuses, rec.Status)
			}
		}
		return len(gotStatuses) >= len(wantStatuses)
	}, 5*time.Second, 10*time.Millisecond, "access log lines in:\n%s", fn.Logs())
	require.Equal(t, wantStatuses, gotStatuses)

	m := regexp.MustCompile(`"msg":"cold start","init_duration_ms":([0-9.]+)`).FindStringSubmatch(fn.Logs())
	require.NotNil(t, m, "cold start logged in:\n%s", fn.Logs())
	ns, _ := strconv.ParseInt(m[1], 10, 64)
	t.Logf("bootstrap %.1f MB (host build); first invoke %.1f ms, of which wiring before lambda.Start %.1f ms; next invokes %v",
		float64(st.Size())/(1<<20), ms(invokes[0]), float64(ns)/1e6, invokes[1:])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cookieBanner asserts the answer sets exactly one last-banner cookie, for
// an ad tag embedded in any site over HTTPS (function URLs are HTTPS only):
// Secure, SameSite=None and Partitioned (CHIPS); it returns its banner.
func cookieBanner(t *testing.T, resp events.LambdaFunctionURLResponse) int64 {
	t.Helper()
	require.Len(t, resp.Cookies, 1)
	require.Empty(t, resp.Headers["Set-Cookie"])
	m := regexp.MustCompile(`^banner_last=(\d+); Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned$`).FindStringSubmatch(resp.Cookies[0])
	require.NotNil(t, m, resp.Cookies[0])
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}
