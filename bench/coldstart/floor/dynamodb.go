//go:build dynamodbsdk

package main

import "github.com/aws/aws-sdk-go-v2/service/dynamodb"

// Built with -tags dynamodbsdk (with xraysdk: bench/coldstart's
// floor+sdks), the floor also links the DynamoDB client and builds one at
// start, as a function reading DynamoDB does, but never calls it: with the
// X-Ray SDK, the share of the API's cold start and size that the two SDKs
// the product is built on take before any of its own code runs.
var getItem = dynamodb.New(dynamodb.Options{Region: "us-east-1"}).GetItem
