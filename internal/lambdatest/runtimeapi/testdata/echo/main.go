// Command echo is a Lambda function for runtimeapi's tests: it answers
// each event with what the invocation told it, prints one line per
// invocation, and fails when the event is the JSON string "fail".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// answer is what echo returns.
type answer struct {
	Event       json.RawMessage `json:"event"`
	RequestID   string          `json:"request_id"`
	FunctionARN string          `json:"function_arn"`
	TraceHeader string          `json:"trace_header"`
	HasDeadline bool            `json:"has_deadline"`
}

func handle(ctx context.Context, ev json.RawMessage) (answer, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Println("handled " + lc.AwsRequestID)
	if string(ev) == `"fail"` {
		return answer{}, errors.New("asked to fail")
	}
	_, hasDeadline := ctx.Deadline()
	return answer{Event: ev, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn,
		TraceHeader: os.Getenv("_X_AMZN_TRACE_ID"), HasDeadline: hasDeadline}, nil
}

func main() { lambda.Start(handle) }
