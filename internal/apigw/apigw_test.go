package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"banners/internal/apigw"
)

// event reads an API Gateway event from the API function's testdata.
func event(t testing.TB, name string) events.APIGatewayProxyRequest {
	t.Helper()
	b, err := os.ReadFile("../../functions/api/testdata/" + name)
	require.NoError(t, err)
	var ev events.APIGatewayProxyRequest
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

// seen is what the probe handler saw of a request.
type seen struct {
	Method, Path, RawQuery, Host, RemoteAddr string
	Query                                    map[string][]string
	Accept                                   []string
	CampaignID                               string
	LastBanner                               string
	Body                                     []byte
	TraceValue                               any
}

type ctxKey struct{}

func TestRequest(t *testing.T) {
	tests := []struct {
		name  string
		event events.APIGatewayProxyRequest
		want  seen
	}{
		{"GET banners: path parameter, multi-value query and headers, cookies", event(t, "get-banners.json"), seen{
			Method:     "GET",
			Path:       "/api/campaigns/10/banners",
			RawQuery:   "quarter=2&utm_source=newsletter&utm_source=footer",
			Host:       "a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com",
			RemoteAddr: "203.0.113.7:0",
			Query:      map[string][]string{"quarter": {"2"}, "utm_source": {"newsletter", "footer"}},
			Accept:     []string{"application/json", "text/plain;q=0.5"},
			CampaignID: "10",
			LastBanner: "105",
			Body:       []byte{},
			TraceValue: "ctx",
		}},
		{"POST with a base64 body", event(t, "post-base64.json"), seen{
			Method:     "POST",
			Path:       "/api/campaigns/10/banners",
			Host:       "a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com",
			RemoteAddr: "203.0.113.7:0",
			Query:      map[string][]string{},
			Accept:     []string{"application/json", "text/plain;q=0.5"},
			LastBanner: "105",
			Body:       []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
			TraceValue: "ctx",
		}},
		{"single-value maps only, escaped query", events.APIGatewayProxyRequest{
			HTTPMethod:            "GET",
			Path:                  "/campaigns/7",
			Headers:               map[string]string{"host": "example.test", "cookie": "banner_last=3"},
			QueryStringParameters: map[string]string{"q": "a b&c"},
		}, seen{
			Method:     "GET",
			Path:       "/campaigns/7",
			RawQuery:   "q=a+b%26c",
			Host:       "example.test",
			Query:      map[string][]string{"q": {"a b&c"}},
			LastBanner: "3",
			Body:       []byte{},
			TraceValue: "ctx",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			h := apigw.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = seen{
					Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, RemoteAddr: r.RemoteAddr,
					Query: r.URL.Query(), Accept: r.Header["Accept"], CampaignID: r.PathValue("campaign_id"),
					TraceValue: r.Context().Value(ctxKey{}),
				}
				if c, err := r.Cookie("banner_last"); err == nil {
					got.LastBanner = c.Value
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
	tests := []struct {
		name    string
		ev      events.APIGatewayProxyRequest
		wantErr string
	}{
		{"bad base64 body", events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/x", Body: "%%%", IsBase64Encoded: true}, "decode base64 body of POST /x"},
		{"invalid method", events.APIGatewayProxyRequest{HTTPMethod: "G T", Path: "/x"}, `net/http: invalid method "G T"`},
	}
	h := apigw.New(http.NotFoundHandler())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apigw.Request(context.Background(), &tt.ev)
			require.ErrorContains(t, err, tt.wantErr)

			// The invocation itself answers 400, not a Lambda error (502).
			got, err := h.Handle(context.Background(), tt.ev)
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, got.StatusCode)
			require.Equal(t, "application/json", got.Headers["Content-Type"])
			require.JSONEq(t, `{"error":"malformed request"}`, got.Body)
		})
	}
}

func TestResponse(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0}
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		want    events.APIGatewayProxyResponse
	}{
		{"JSON with two cookies", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("Set-Cookie", "a=1; Path=/")
			w.Header().Add("Set-Cookie", "b=2; Path=/; HttpOnly")
			w.Write([]byte(`{"ok":true}`))
		}, events.APIGatewayProxyResponse{
			StatusCode: 200,
			MultiValueHeaders: map[string][]string{
				"Content-Type":   {"application/json"},
				"Content-Length": {"11"},
				"Set-Cookie":     {"a=1; Path=/", "b=2; Path=/; HttpOnly"},
			},
			Body: `{"ok":true}`,
		}},
		{"binary body goes base64", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		}, events.APIGatewayProxyResponse{
			StatusCode:        200,
			MultiValueHeaders: map[string][]string{"Content-Type": {"image/png"}, "Content-Length": {"10"}},
			Body:              base64.StdEncoding.EncodeToString(png),
			IsBase64Encoded:   true,
		}},
		{"content type sniffed when unset", "GET", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}, events.APIGatewayProxyResponse{
			StatusCode:        200,
			MultiValueHeaders: map[string][]string{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {"5"}},
			Body:              "hello",
		}},
		{"invalid UTF-8 in a text type goes base64", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte{0xff, 0xfe})
		}, events.APIGatewayProxyResponse{
			StatusCode:        200,
			MultiValueHeaders: map[string][]string{"Content-Type": {"text/plain"}, "Content-Length": {"2"}},
			Body:              "//4=",
			IsBase64Encoded:   true,
		}},
		{"redirect without body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/images/image_5.png")
			w.WriteHeader(http.StatusFound)
		}, events.APIGatewayProxyResponse{
			StatusCode:        302,
			MultiValueHeaders: map[string][]string{"Location": {"/images/image_5.png"}},
		}},
		{"HEAD drops the body", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "11")
			w.Write([]byte(`{"ok":true}`))
		}, events.APIGatewayProxyResponse{
			StatusCode:        200,
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "Content-Length": {"11"}},
		}},
		{"first status wins", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.WriteHeader(http.StatusOK)
		}, events.APIGatewayProxyResponse{
			StatusCode:        503,
			MultiValueHeaders: map[string][]string{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := apigw.New(tt.handler)
			got, err := h.Handle(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: tt.method, Path: "/"})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	ev := event(b, "get-banners.json")
	body := []byte(`{"campaign_id":10,"quarter":2,"banners":[{"id":101,"image_url":"/images/image_101.png"}]}` + "\n")
	h := apigw.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Set-Cookie"] = []string{"banner_last=101; Path=/"}
		w.Write(body)
	}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
