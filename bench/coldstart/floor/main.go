// Command floor is the smallest Lambda function that does the API
// function's job in form: it answers every function URL event with a
// constant JSON body of a real answer's size. It is not deployed;
// bench/coldstart builds it to measure the floor of a Go Lambda's cold
// start, binary size and invoke overhead on the same machine, in the same
// run, as functions/api.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// body is a median-sized answer of GET /api/campaigns/{id}/banners.
const body = `{"campaign_id":10,"quarter":2,"banners":[{"id":123,"image_url":"/images/image_123.png"},{"id":456,"image_url":"/images/image_456.png"},{"id":178,"image_url":"/images/image_178.png"},{"id":301,"image_url":"/images/image_301.png"},{"id":222,"image_url":"/images/image_222.png"}]}` + "\n"

func handle(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return events.LambdaFunctionURLResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Cookies:    []string{"banner_last=123; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned"},
		Body:       body,
	}, nil
}

func main() { lambda.Start(handle) }
