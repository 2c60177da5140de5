// Command ingest loads the banner CSV files into DynamoDB.
//
// Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it handles S3
// ObjectCreated events for "<prefix><q>/<kind>_<q>.csv" uploads, writing to
// the table named by TABLE_NAME; give the function a reserved concurrency
// of 1. Elsewhere it is a command-line loader:
//
//	go run ./functions/ingest -table NAME -data DIR [-create]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"

	"banners/internal/ingest"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		h, err := ingest.NewHandler(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingest:", err)
			os.Exit(1)
		}
		lambda.Start(h.Handle)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := ingest.CLI(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		stop()
		os.Exit(1)
	}
}
