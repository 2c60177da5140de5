package funcurl_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/funcurl"
	"banners/internal/httpapi"
	"banners/internal/lambdatest"
	"banners/internal/memory"
)

// seen is what the probe handler saw of a request.
type seen struct {
	Method, Path, RawPath, RawQuery, RequestURI, Host, RemoteAddr string
	TLS                                                           bool
	Query                                                         map[string][]string
	Accept                                                        []string
	HostHeader                                                    []string
	ForwardedFor                                                  string
	Cookies                                                       []string
	Body                                                          []byte
	ContentLength                                                 int64
	ContextValue                                                  any
}

type ctxKey struct{}

func TestRequest(t *testing.T) {
	tests := []struct {
		name  string
		event events.LambdaFunctionURLRequest
		want  seen
	}{
		{"GET banners as CloudFront sends it through OAC", lambdatest.URLEvent(t, "get-banners.json"), seen{
			Method:       "GET",
			Path:         "/api/campaigns/10/banners",
			RawQuery:     "quarter=2&utm_source=newsletter&utm_source=footer",
			RequestURI:   "/api/campaigns/10/banners?quarter=2&utm_source=newsletter&utm_source=footer",
			Host:         "abcdefg1234567hijklmnopqrs.lambda-url.eu-central-1.on.aws",
			RemoteAddr:   "130.176.212.18:0",
			TLS:          true,
			Query:        map[string][]string{"quarter": {"2"}, "utm_source": {"newsletter", "footer"}},
			Accept:       []string{"application/json, text/plain;q=0.5"},
			ForwardedFor: "203.0.113.7, 130.176.212.18",
			Cookies:      []string{"_ga=GA1.1.1234567890.1795688000", "banner_last=105"},
			Body:         []byte{},
			ContextValue: "ctx",
		}},
		{"POST with a base64 body", lambdatest.URLEvent(t, "post-base64.json"), seen{
			Method:        "POST",
			Path:          "/api/campaigns/10/banners",
			RequestURI:    "/api/campaigns/10/banners",
			Host:          "abcdefg1234567hijklmnopqrs.lambda-url.eu-central-1.on.aws",
			RemoteAddr:    "130.176.212.18:0",
			TLS:           true,
			Query:         map[string][]string{},
			Accept:        []string{"application/json, text/plain;q=0.5"},
			ForwardedFor:  "203.0.113.7, 130.176.212.18",
			Cookies:       []string{"banner_last=105"},
			Body:          []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
			ContentLength: 8,
			ContextValue:  "ctx",
		}},
		{"raw path and query kept verbatim, IPv6 source, no host header", events.LambdaFunctionURLRequest{
			RawPath:        "/api/campaigns/%31%30/banners",
			RawQueryString: "q=a+b%26c&quarter=%32&x",
			Headers:        map[string]string{"cookie": "a=1"},
			Cookies:        []string{"banner_last=3"},
			RequestContext: events.LambdaFunctionURLRequestContext{
				DomainName: "u.lambda-url.eu-central-1.on.aws",
				HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: "HEAD", SourceIP: "2001:db8::1"},
			},
		}, seen{
			Method:       "HEAD",
			Path:         "/api/campaigns/10/banners",
			RawPath:      "/api/campaigns/%31%30/banners",
			RawQuery:     "q=a+b%26c&quarter=%32&x",
			RequestURI:   "/api/campaigns/%31%30/banners?q=a+b%26c&quarter=%32&x",
			Host:         "u.lambda-url.eu-central-1.on.aws",
			RemoteAddr:   "[2001:db8::1]:0",
			TLS:          true,
			Query:        map[string][]string{"q": {"a b&c"}, "quarter": {"2"}, "x": {""}},
			Cookies:      []string{"a=1", "banner_last=3"},
			Body:         []byte{},
			ContextValue: "ctx",
		}},
		{"empty path is the root", events.LambdaFunctionURLRequest{
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}},
		}, seen{
			Method:       "GET",
			Path:         "/",
			RequestURI:   "/",
			TLS:          true,
			Query:        map[string][]string{},
			Body:         []byte{},
			ContextValue: "ctx",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			h := funcurl.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = seen{
					Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery,
					RequestURI: r.RequestURI, Host: r.Host, RemoteAddr: r.RemoteAddr, TLS: r.TLS != nil,
					Query: r.URL.Query(), Accept: r.Header["Accept"], HostHeader: r.Header["Host"], ForwardedFor: r.Header.Get("X-Forwarded-For"),
					ContentLength: r.ContentLength, ContextValue: r.Context().Value(ctxKey{}),
				}
				for _, c := range r.Cookies() {
					got.Cookies = append(got.Cookies, c.String())
				}
				var err error
				got.Body, err = io.ReadAll(r.Body)
				require.NoError(t, err)
			}))
			ctx := context.WithValue(context.Background(), ctxKey{}, "ctx")
			_, err := h.Handle(ctx, tt.event)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMalformedEvents(t *testing.T) {
	get := events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}
	tests := []struct {
		name    string
		ev      events.LambdaFunctionURLRequest
		wantErr string
	}{
		{"not a function URL event", events.LambdaFunctionURLRequest{RawPath: "/x"}, "no requestContext.http.method"},
		{"bad base64 body", events.LambdaFunctionURLRequest{RawPath: "/x", Body: "%%%", IsBase64Encoded: true,
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}}},
			`decode base64 body of POST "/x"`},
		{"invalid method", events.LambdaFunctionURLRequest{RawPath: "/x",
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "G T"}}},
			`net/http: invalid method "G T"`},
		{"badly escaped path", events.LambdaFunctionURLRequest{RawPath: "/campaigns/%zz",
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: get}},
			`path of GET "/campaigns/%zz"`},
		{"HEAD with a bad base64 body", events.LambdaFunctionURLRequest{RawPath: "/x", Body: "%%%", IsBase64Encoded: true,
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "HEAD"}}},
			`decode base64 body of HEAD "/x"`},
	}
	h := funcurl.New(http.NotFoundHandler())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := funcurl.Request(context.Background(), &tt.ev)
			require.ErrorContains(t, err, tt.wantErr)

			// The invocation itself answers 400, not a Lambda error (502);
			// with no body to a HEAD request.
			got, err := h.Handle(context.Background(), tt.ev)
			require.NoError(t, err)
			want := events.LambdaFunctionURLResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
				Body:       `{"error":"malformed request"}` + "\n",
			}
			if tt.ev.RequestContext.HTTP.Method == http.MethodHead {
				want.Body = ""
			}
			require.Equal(t, want, got)
		})
	}
}

// TestHandlerPanic: a handler that panics answers 500 without failing the
// invocation (which would end the process and its warm cache); a second
// invocation is served.
func TestHandlerPanic(t *testing.T) {
	calls := 0
	h := funcurl.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	tests := []struct {
		name       string
		wantStatus int
		wantBody   string
	}{
		{"panics", http.StatusInternalServerError, `{"error":"internal error"}` + "\n"},
		{"served after", http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		got, err := h.Handle(context.Background(), lambdatest.URLEvent(t, "get-banners.json"))
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.wantStatus, got.StatusCode, tt.name)
		require.Equal(t, tt.wantBody, got.Body, tt.name)
	}
}

func TestResponse(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0}
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		want    events.LambdaFunctionURLResponse
	}{
		{"JSON with two cookies and a repeated header", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Path: "/", HttpOnly: true})
			w.Header().Add("Vary", "Cookie")
			w.Header().Add("Vary", "Accept-Encoding")
			w.Write([]byte(`{"ok":true}`))
		}, events.LambdaFunctionURLResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "application/json", "Content-Length": "11", "Vary": "Cookie, Accept-Encoding"},
			Cookies:    []string{"a=1; Path=/", "b=2; Path=/; HttpOnly"},
			Body:       `{"ok":true}`,
		}},
		{"binary body goes base64", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		}, events.LambdaFunctionURLResponse{
			StatusCode:      200,
			Headers:         map[string]string{"Content-Type": "image/png", "Content-Length": "10"},
			Body:            base64.StdEncoding.EncodeToString(png),
			IsBase64Encoded: true,
		}},
		{"content type sniffed when unset", "GET", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}, events.LambdaFunctionURLResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "5"},
			Body:       "hello",
		}},
		{"invalid UTF-8 in a text type goes base64", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte{0xff, 0xfe})
		}, events.LambdaFunctionURLResponse{
			StatusCode:      200,
			Headers:         map[string]string{"Content-Type": "text/plain", "Content-Length": "2"},
			Body:            "//4=",
			IsBase64Encoded: true,
		}},
		{"redirect with a cookie and no body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/images/image_5.png")
			w.Header().Set("Set-Cookie", "banner_last=5; Path=/; Secure; SameSite=None; Partitioned")
			w.WriteHeader(http.StatusFound)
		}, events.LambdaFunctionURLResponse{
			StatusCode: 302,
			Headers:    map[string]string{"Location": "/images/image_5.png", "Content-Length": "0"},
			Cookies:    []string{"banner_last=5; Path=/; Secure; SameSite=None; Partitioned"},
		}},
		{"HEAD drops the body, keeps its length", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "11")
			w.Write([]byte(`{"ok":true}`))
		}, events.LambdaFunctionURLResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "application/json", "Content-Length": "11"},
		}},
		{"first status wins", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.WriteHeader(http.StatusOK)
		}, events.LambdaFunctionURLResponse{
			StatusCode: 503,
			Headers:    map[string]string{"Content-Length": "0"},
		}},
		{"no Content-Length where no body is allowed", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, events.LambdaFunctionURLResponse{
			StatusCode: 204,
			Headers:    map[string]string{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := funcurl.New(tt.handler)
			got, err := h.Handle(context.Background(), events.LambdaFunctionURLRequest{
				RawPath:        "/",
				RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: tt.method}},
			})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// BenchmarkRoundTrip is the adapter alone, around a trivial handler: the
// event decoded from JSON, served, and the response encoded, as the Lambda
// runtime does per invocation.
func BenchmarkRoundTrip(b *testing.B) {
	raw, err := os.ReadFile("../../functions/api/testdata/get-banners.json")
	require.NoError(b, err)
	body := []byte(`{"campaign_id":10,"quarter":2,"banners":[{"id":101,"image_url":"/images/image_101.png"}]}` + "\n")
	h := funcurl.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Set-Cookie"] = []string{"banner_last=101; Path=/"}
		w.Write(body)
	}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var ev events.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		resp, err := h.Handle(ctx, ev)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSameAnswersAsLocalServer sends the same requests to the API handler
// through the adapter and through net/http's own HTTPS server, as the local
// server runs it, and requires the same status, headers and body. Campaign
// 30 has a single banner, so its answers do not vary.
func TestSameAnswersAsLocalServer(t *testing.T) {
	tally := banner.NewTally()
	tally.Revenue[5] = 1
	tally.Banners[5] = struct{}{}
	api := httpapi.New(memory.New([]banner.Campaign{tally.Campaign(banner.Key{CampaignID: 30, Quarter: 2})}),
		httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	local := httptest.NewTLSServer(api)
	defer local.Close()
	adapter := funcurl.New(api)

	tests := []struct {
		method, rawPath, rawQuery string
		cookie                    string
		wantStatus                int
	}{
		{"GET", "/api/campaigns/30/banners", "quarter=2", "banner_last=5", 200},
		{"HEAD", "/api/campaigns/30/banners", "quarter=2", "", 200},
		{"GET", "/campaigns/30", "quarter=2&ord=123", "", 302},
		{"GET", "/campaigns/%33%30", "quarter=%32", "", 302},
		{"HEAD", "/campaigns/30/", "quarter=2", "", 302},
		{"GET", "/api/campaigns/31/banners", "quarter=2", "", 404},
		{"GET", "/nowhere", "", "", 404},
		{"HEAD", "/nowhere", "", "", 404},
		{"GET", "/api/campaigns/30", "", "", 404},
		{"POST", "/api/campaigns/30/banners", "", "", 405},
		{"DELETE", "/campaigns/30", "", "", 405},
		{"OPTIONS", "/campaigns/30", "", "", 405},
		{"GET", "/api/campaigns/abc/banners", "", "", 400},
		{"GET", "/campaigns/-1", "", "", 400},
		{"GET", "/campaigns/30", "quarter=9", "", 400},
	}
	// answer is what a client sees, without the Date net/http adds.
	type answer struct {
		Status int
		Header map[string]string
		Body   string
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.rawPath+"?"+tt.rawQuery, func(t *testing.T) {
			target := local.URL + tt.rawPath
			if tt.rawQuery != "" {
				target += "?" + tt.rawQuery
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, target, nil)
			require.NoError(t, err)
			if tt.cookie != "" {
				req.Header.Set("Cookie", tt.cookie)
			}
			client := local.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := client.Do(req)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			want := answer{Status: resp.StatusCode, Header: map[string]string{}, Body: string(b)}
			for k, v := range resp.Header {
				if k != "Date" {
					want.Header[k] = strings.Join(v, ", ")
				}
			}
			require.Equal(t, tt.wantStatus, want.Status)

			ev := events.LambdaFunctionURLRequest{
				RawPath:        tt.rawPath,
				RawQueryString: tt.rawQuery,
				Headers:        map[string]string{"host": "abc.lambda-url.eu-central-1.on.aws"},
				RequestContext: events.LambdaFunctionURLRequestContext{
					HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: tt.method},
				},
			}
			if tt.cookie != "" {
				ev.Cookies = []string{tt.cookie}
			}
			out, err := adapter.Handle(t.Context(), ev)
			require.NoError(t, err)
			got := answer{Status: out.StatusCode, Header: out.Headers, Body: out.Body}
			if len(out.Cookies) > 0 {
				got.Header["Set-Cookie"] = strings.Join(out.Cookies, ", ")
			}
			require.False(t, out.IsBase64Encoded)
			require.Equal(t, want, got)
		})
	}
}
