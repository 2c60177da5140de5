// Package localdb gives the measuring commands a DynamoDB table on
// dynalite, started from the module's node_modules.
package localdb

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/dynamo"
	"banners/internal/testkit"
)

// Region is the region of every client of the table.
const Region = "eu-central-1"

// Table is the table's name.
const Table = "banners"

// Start runs dynalite, creates Table in it (the store's own CreateTable)
// and returns dynalite's URL, the store on the table and the function that
// stops dynalite. The store's client has static credentials and the
// production retryer.
func Start(ctx context.Context) (url string, store *dynamo.Store, stop func(), err error) {
	root, err := testkit.ModuleRoot()
	if err != nil {
		return "", nil, nil, err
	}
	url, stop, err = testkit.StartDynalite(root, nil)
	if err != nil {
		return "", nil, nil, err
	}
	client := dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      dynamo.NewRetryer(),
	})
	store = dynamo.New(client, Table)
	if err := store.CreateTable(ctx); err != nil {
		stop()
		return "", nil, nil, err
	}
	return url, store, stop, nil
}
