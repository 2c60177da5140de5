//go:build dynamodbsdk

package main

// Built with -tags dynamodbsdk (with xraysdk: `make coldstart`'s
// floor+sdks), the floor links the DynamoDB client package of the AWS SDK
// and runs its package initialisation (its endpoint tables and schemas),
// and nothing else of it: with the X-Ray SDK, the share of the API's cold
// start that the two SDKs the product is built on take before any of its
// own code runs.
import _ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
