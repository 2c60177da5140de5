package apigw_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"banners/internal/apigw"
	"banners/internal/banner"
	"banners/internal/httpapi"
	"banners/internal/memory"
)

// FuzzHandle feeds API Gateway events with any method, path, query, cookie
// and body to the real API handler: no panic, no failed invocation, a
// known status, a text body unless flagged base64, and a JSON error body.
func FuzzHandle(f *testing.F) {
	f.Add("GET", "/api/campaigns/10/banners", "quarter", "2", "banner_last=101", "", false)
	f.Add("GET", "/campaigns/10", "quarter", "9", "banner_last=x; a=b", "", false)
	f.Add("POST", "/campaigns/10", "", "", "", "aGVsbG8=", true)
	f.Add("HEAD", "/api/campaigns/%2F/banners", "q\x00", "\xff", ";;=", "%%%", true)
	f.Add("G T", "", "", "", "", "", false)

	t := banner.NewTally()
	for id := int64(101); id <= 112; id++ {
		t.Revenue[id] = id
		t.Banners[id] = struct{}{}
	}
	store := memory.New([]banner.Campaign{t.Campaign(banner.Key{CampaignID: 10, Quarter: 2})})
	h := apigw.New(httpapi.New(store, httpapi.Options{Logger: slog.New(slog.DiscardHandler)}))

	f.Fuzz(func(t *testing.T, method, path, qkey, qvalue, cookie, body string, b64 bool) {
		ev := events.APIGatewayProxyRequest{
			HTTPMethod:                      method,
			Path:                            path,
			MultiValueQueryStringParameters: map[string][]string{qkey: {qvalue}},
			MultiValueHeaders:               map[string][]string{"Cookie": {cookie}},
			Body:                            body,
			IsBase64Encoded:                 b64,
		}
		got, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("invocation failed: %v", err)
		}
		switch got.StatusCode {
		case http.StatusOK, http.StatusFound:
			return
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("%s %q: status %d", method, path, got.StatusCode)
		}
		if got.IsBase64Encoded || !utf8.ValidString(got.Body) {
			t.Fatalf("error body not plain text: %+v", got)
		}
		var e struct{ Error string }
		if method != http.MethodHead {
			if err := json.Unmarshal([]byte(got.Body), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %q: error body %q: %v", method, path, got.Body, err)
			}
		}
	})
}
