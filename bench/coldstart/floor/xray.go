//go:build xraysdk

package main

// Built with -tags xraysdk, the floor links the X-Ray SDK's xray package
// and runs its package initialisation, and nothing else of it:
// bench/coldstart reports this build beside the floor and the API to show
// which share of the API's cold start and size is the SDK's alone.
import _ "github.com/aws/aws-xray-sdk-go/v2/xray"
