package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/stretchr/testify/require"

	"banners/internal/testkit"
	"banners/internal/tracing"
	"banners/internal/tracing/tracingtest"
)

// fakeDynamoDB answers every DynamoDB call with an empty JSON object and a
// request ID, or with a 400 error when fail is set, and remembers the
// X-Amzn-Trace-Id header of each request.
type fakeDynamoDB struct {
	fail bool
	mu   sync.Mutex
	hdrs []string
}

func (f *fakeDynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hdrs = append(f.hdrs, r.Header.Get("X-Amzn-Trace-Id"))
	f.mu.Unlock()
	w.Header().Set("X-Amzn-RequestId", "REQ1")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if f.fail {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}`)) //nolint:errcheck // test server
		return
	}
	w.Write([]byte(`{}`)) //nolint:errcheck // test server
}

func (f *fakeDynamoDB) traceHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.hdrs...)
}

// instrumentedClient returns a DynamoDB client of f, instrumented.
func instrumentedClient(t *testing.T, f *fakeDynamoDB) *dynamodb.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "eu-central-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	tracing.InstrumentAWS(&cfg)
	return dynamodb.NewFromConfig(cfg)
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func TestInstrumentAWS(t *testing.T) {
	daemon := tracingtest.Start(t)
	tests := []struct {
		name      string
		fail      bool
		call      func(ctx context.Context, c *dynamodb.Client) error
		wantAWS   map[string]any
		wantKey   map[string]any // metadata "key"; nil for none
		wantFault bool
	}{
		{
			name: "generation read",
			call: func(ctx context.Context, c *dynamodb.Client) error {
				_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("banners"), Key: key("GEN", "Q#2")})
				return err
			},
			wantAWS: map[string]any{"operation": "GetItem", "region": "eu-central-1", "request_id": "REQ1", "table_name": "banners"},
			wantKey: map[string]any{"pk": "GEN", "sk": "Q#2"},
		},
		{
			name: "campaign read",
			call: func(ctx context.Context, c *dynamodb.Client) error {
				_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("banners"), Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "C#10"}, "n": &types.AttributeValueMemberN{Value: "2"}}})
				return err
			},
			wantAWS: map[string]any{"operation": "GetItem", "region": "eu-central-1", "request_id": "REQ1", "table_name": "banners"},
			wantKey: map[string]any{"pk": "C#10", "n": "2"},
		},
		{
			name: "batch write",
			call: func(ctx context.Context, c *dynamodb.Client) error {
				put := []types.WriteRequest{{PutRequest: &types.PutRequest{Item: key("C#1", "Q#1")}}}
				_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"b": put, "a": put}})
				return err
			},
			wantAWS: map[string]any{"operation": "BatchWriteItem", "region": "eu-central-1", "request_id": "REQ1", "table_names": []any{"a", "b"}},
		},
		{
			name: "failed call",
			fail: true,
			call: func(ctx context.Context, c *dynamodb.Client) error {
				_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("gone")})
				return err
			},
			wantAWS:   map[string]any{"operation": "DescribeTable", "region": "eu-central-1", "request_id": "REQ1", "table_name": "gone"},
			wantFault: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDynamoDB{fail: tt.fail}
			c := instrumentedClient(t, f)
			ctx, seg := xray.BeginSegment(context.Background(), "test")
			err := tt.call(ctx, c)
			seg.Close(nil)
			require.Equal(t, tt.fail, err != nil, "error: %v", err)

			got := daemon.Next(t)
			ddb := got.Find("DynamoDB")
			require.NotNil(t, ddb, "no DynamoDB subsegment in %s", got.JSON)
			require.Equal(t, "aws", ddb.Namespace)
			require.Equal(t, tt.wantAWS, ddb.AWS)
			require.Equal(t, map[string]any{"dynamodb": tt.wantAWS["operation"]}, ddb.Annotations)
			if tt.wantKey == nil {
				require.Nil(t, ddb.Metadata["default"]["key"])
			} else {
				require.Equal(t, tt.wantKey, ddb.Metadata["default"]["key"])
			}
			require.Equal(t, tt.wantFault || tt.fail, ddb.Fault || ddb.Error)
			if tt.fail {
				require.Equal(t, http.StatusBadRequest, ddb.HTTP.Response.Status)
			} else {
				require.Equal(t, http.StatusOK, ddb.HTTP.Response.Status)
			}
			hdrs := f.traceHeaders()
			require.Len(t, hdrs, 1)
			require.True(t, strings.HasPrefix(hdrs[0], "Root="+got.TraceID+";Parent="+ddb.ID), "downstream trace header %q", hdrs[0])
		})
	}
}

// TestInstrumentAWSOutsideASegment: a call outside any request, as the
// cache's background reads make, is not traced and logs nothing, even
// with Lambda's AWS_XRAY_CONTEXT_MISSING=LOG_ERROR.
func TestInstrumentAWSOutsideASegment(t *testing.T) {
	daemon := tracingtest.Start(t)
	t.Setenv("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
	var logs testkit.Buffer
	require.NoError(t, tracing.Configure(tracing.Config{DaemonAddr: daemon.Addr(), Sampling: tracingtest.SampleAll(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}))

	f := &fakeDynamoDB{}
	c := instrumentedClient(t, f)
	_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("banners"), Key: key("GEN", "Q#2")})
	require.NoError(t, err)
	require.Equal(t, []string{""}, f.traceHeaders(), "no trace header downstream")
	require.Empty(t, logs.String())
	daemon.None(t, 100*time.Millisecond)
}
