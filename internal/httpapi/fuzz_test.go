package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzServeHTTP sends any path, query and cookie: the handler never panics,
// never answers 5xx from a healthy store, and every error is a JSON body.
func FuzzServeHTTP(f *testing.F) {
	seeds := [][3]string{
		{"/api/campaigns/10/banners", "quarter=2", "banner_last=105"},
		{"/campaigns/10", "", "banner_last=\"105\"; a=b"},
		{"/api/campaigns/%31%30/banners", "quarter=%32&quarter=2", "banner_last=-1"},
		{"/api/campaigns/10/banners", "q%75arter=9", ";;;=;banner_last"},
		{"/campaigns/0000000000000000010/", "quarter=+2", "banner_last=99999999999999999999"},
		{"/api/campaigns/\x00/banners", "quarter=\xff", "banner_last=\x00"},
		{"/campaigns/10//", "&&&=&", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	h := newHandler(store())
	f.Fuzz(func(t *testing.T, path, query, cookie string) {
		req := &http.Request{
			Method: "GET",
			URL:    &url.URL{Path: path, RawQuery: query},
			Header: http.Header{"Cookie": {cookie}},
		}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusFound:
			return
		case http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("%q?%q: status %d", path, query, rec.Code)
		}
		var body struct{ Error string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
			t.Fatalf("%q?%q: error body %q: %v", path, query, rec.Body, err)
		}
	})
}
