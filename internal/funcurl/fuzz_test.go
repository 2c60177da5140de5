package funcurl_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"banners/internal/banner"
	"banners/internal/funcurl"
	"banners/internal/httpapi"
	"banners/internal/memory"
)

// FuzzHandle feeds function URL events with any method, raw path, raw
// query, cookie and body to the real API handler: no panic, no failed
// invocation, a known status, a text body unless flagged base64, a JSON
// error body, and a cookie only with a banner.
func FuzzHandle(f *testing.F) {
	f.Add("GET", "/api/campaigns/10/banners", "quarter=2", "banner_last=101", "", false)
	f.Add("GET", "/campaigns/10", "quarter=9", "banner_last=x; a=b", "", false)
	f.Add("POST", "/campaigns/10", "", "", "aGVsbG8=", true)
	f.Add("HEAD", "/api/campaigns/%2F/banners", "q\x00=\xff", ";;=", "%%%", true)
	f.Add("GET", "/campaigns/%zz", "quarter=%zz", "", "", false)
	f.Add("G T", "", "", "", "", false)
	f.Add("", "/campaigns/10", "", "", "", false)

	t := banner.NewTally()
	for id := int64(101); id <= 112; id++ {
		t.Revenue[id] = id
		t.Banners[id] = struct{}{}
	}
	store := memory.New([]banner.Campaign{t.Campaign(banner.Key{CampaignID: 10, Quarter: 2})})
	h := funcurl.New(httpapi.New(store, httpapi.Options{Logger: slog.New(slog.DiscardHandler)}))

	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery, cookie, body string, b64 bool) {
		ev := events.LambdaFunctionURLRequest{
			RawPath:         rawPath,
			RawQueryString:  rawQuery,
			Cookies:         []string{cookie},
			Body:            body,
			IsBase64Encoded: b64,
			RequestContext: events.LambdaFunctionURLRequestContext{
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method},
			},
		}
		got, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("invocation failed: %v", err)
		}
		switch got.StatusCode {
		case http.StatusOK, http.StatusFound:
			if len(got.Cookies) != 1 {
				t.Fatalf("%s %q: cookies %q", method, rawPath, got.Cookies)
			}
			return
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("%s %q: status %d", method, rawPath, got.StatusCode)
		}
		if len(got.Cookies) != 0 {
			t.Fatalf("%s %q: error sets cookies %q", method, rawPath, got.Cookies)
		}
		if got.IsBase64Encoded || !utf8.ValidString(got.Body) {
			t.Fatalf("error body not plain text: %+v", got)
		}
		if method == http.MethodHead {
			if got.Body != "" {
				t.Fatalf("HEAD %q: body %q", rawPath, got.Body)
			}
			return
		}
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(got.Body), &e); err != nil || e.Error == "" {
			t.Fatalf("%s %q: error body %q: %v", method, rawPath, got.Body, err)
		}
	})
}
