// Command ingest loads the banner CSV files into DynamoDB.
//
// Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it handles S3
// ObjectCreated events for "<prefix><q>/<kind>_<q>.csv" uploads, writing to
// the table named by TABLE_NAME; give the function a reserved concurrency
// of 1. Elsewhere it is a command-line loader:
//
//	go run ./functions/ingest -table NAME -data DIR [-create]
//
// Both take the endpoint from the SDK's standard settings, such as
// AWS_ENDPOINT_URL_DYNAMODB, and trace with X-Ray (the command line only
// when AWS_XRAY_DAEMON_ADDRESS is set).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		h, err := newHandler(context.Background(), os.Getenv)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingest:", err)
			os.Exit(1)
		}
		lambda.Start(h.Handle)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}
