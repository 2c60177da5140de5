package tracing

import (
	"context"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// InstrumentAWS makes every AWS call made with cfg inside a traced request
// or run open a subsegment of the caller's (sub)segment, as the X-Ray
// console shows AWS calls: named after the service ("DynamoDB"), in the
// namespace "aws", with aws.operation, aws.region, aws.request_id, the
// table (aws.table_name; aws.table_names for a batch), the HTTP status and
// a fault when the call fails; with the service's lower-case annotation
// whose value is the operation (`annotation.dynamodb = "GetItem"`), and
// the metadata "key", the item key as strings, which tells a generation
// read (pk "GEN") from a campaign read (pk "C#<id>"). A call outside a
// traced request or run (the cache's background reads) is not traced and
// logs nothing, even under Lambda's AWS_XRAY_CONTEXT_MISSING=LOG_ERROR.
func InstrumentAWS(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, addAWSMiddleware)
}

// awsSubsegmentKey holds, in an AWS call's context, its subsegment.
type awsSubsegmentKey struct{}

func addAWSMiddleware(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("XRaySubsegment", beginAWSCall), middleware.After); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("XRayResponse", recordAWSResponse), middleware.Before)
}

// beginAWSCall runs an AWS call in its subsegment when ctx is traced.
func beginAWSCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error) {
	if !traced(ctx) {
		return next.HandleInitialize(ctx, in)
	}
	service := awsmiddleware.GetServiceID(ctx)
	ctx, seg := xray.BeginSubsegment(ctx, service)
	operation := awsmiddleware.GetOperationName(ctx)
	tables, key := awsInput(in.Parameters)
	seg.Lock()
	seg.Namespace = "aws"
	fields := seg.GetAWS()
	fields["region"] = awsmiddleware.GetRegion(ctx)
	fields["operation"] = operation
	switch {
	case len(tables) == 1:
		fields["table_name"] = tables[0]
	case len(tables) > 1:
		fields["table_names"] = tables
	}
	seg.Unlock()
	seg.AddAnnotation(strings.ToLower(strings.ReplaceAll(service, " ", "_")), operation) //nolint:errcheck // a string never fails
	if key != nil {
		seg.AddMetadata("key", key) //nolint:errcheck // never fails
	}

	out, md, err := next.HandleInitialize(context.WithValue(ctx, awsSubsegmentKey{}, seg), in)
	seg.Close(err)
	return out, md, err
}

// recordAWSResponse passes the call's trace header downstream and records
// the response's status, length and request ID on the call's subsegment.
func recordAWSResponse(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error) {
	seg, _ := ctx.Value(awsSubsegmentKey{}).(*xray.Segment)
	if seg == nil {
		return next.HandleDeserialize(ctx, in)
	}
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		req.Header.Set(xray.TraceIDHeaderKey, seg.DownstreamHeader().String())
	}
	out, md, err := next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok {
		return out, md, err
	}
	seg.Lock()
	seg.GetHTTP().GetResponse().ContentLength = int(resp.ContentLength)
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		seg.GetAWS()["request_id"] = id
	}
	seg.Unlock()
	xray.HttpCaptureResponse(seg, resp.StatusCode)
	return out, md, err
}

// awsInput returns the tables and the item key (its string and number
// parts) an operation's input names, from the fields the SDK's inputs
// share: TableName, RequestItems (by table name, in batches) and Key.
func awsInput(params any) (tables []string, key map[string]string) {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, nil
	}
	v = v.Elem()
	if name, _ := field(v, "TableName").(*string); name != nil {
		tables = append(tables, *name)
	}
	if f := v.FieldByName("RequestItems"); f.Kind() == reflect.Map && f.Type().Key().Kind() == reflect.String {
		for _, k := range f.MapKeys() {
			tables = append(tables, k.String())
		}
		slices.Sort(tables)
	}
	if k, _ := field(v, "Key").(map[string]types.AttributeValue); len(k) > 0 {
		key = make(map[string]string, len(k))
		for name, av := range k {
			switch av := av.(type) {
			case *types.AttributeValueMemberS:
				key[name] = av.Value
			case *types.AttributeValueMemberN:
				key[name] = av.Value
			}
		}
	}
	return tables, key
}

// field returns the exported field name of the struct v, or nil.
func field(v reflect.Value, name string) any {
	if f := v.FieldByName(name); f.IsValid() && f.CanInterface() {
		return f.Interface()
	}
	return nil
}

// traced reports whether ctx holds a segment or a Lambda invocation's trace
// header (from which the SDK builds the function's facade segment).
func traced(ctx context.Context) bool {
	return xray.GetSegment(ctx) != nil || ctx.Value(xray.LambdaTraceHeaderKey) != nil
}
