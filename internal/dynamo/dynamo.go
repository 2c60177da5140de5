// Package dynamo stores the banner read model in DynamoDB: one item per
// (campaign, quarter) holding the ranked banners, so serving a campaign is a
// single GetItem, and a manifest per quarter whose pages list the campaigns
// written, so a reload deletes the campaigns that vanished.
//
// The table has a String partition key "pk" and a String sort key "sk".
// docs/dynamodb.md describes the design and compares it with the seed's.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"banners/internal/banner"
)

// Key attribute names of the table.
const (
	// PartitionKey is the table's String partition key.
	PartitionKey = "pk"
	// SortKey is the table's String sort key.
	SortKey = "sk"
)

// MaxFill is the most Fill banners kept in an item. Fill is only stored for
// campaigns with fewer than five clicked or converting banners, and a random
// pick among 1,000 is as good as one among all; the cap bounds the item at
// about 20 KB, far below DynamoDB's 400 KB item limit, whatever the data.
const MaxFill = 1000

// Store reads and writes the read model in one DynamoDB table. It is safe
// for concurrent use by readers; PutQuarter calls for the same quarter must
// not run concurrently (the manifest detects it and fails the later one).
type Store struct {
	ops      operations
	table    string
	retry    backoff
	progress func(Progress) // see WithProgress
}

// operations are the calls the store makes, as method values of the SDK's
// client rather than the client itself. The X-Ray SDK links html/template,
// whose reflection makes the linker keep every exported method of any type
// reachable through an interface: a *dynamodb.Client field of Store (a
// banner.Store) would keep all the client's operations in the API function,
// 1.4 MB more (bench/coldstart). TestLambdaLinksOnlyTheOperationsItCalls
// guards it.
type operations struct {
	getItem        func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	putItem        func(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	createTable    func(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	describeTable  describeTable
	batchWriteItem func(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// describeTable is DescribeTable as the SDK's table waiter takes it.
type describeTable func(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)

func (f describeTable) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return f(ctx, in, optFns...)
}

// New returns a Store on table, using client. The client's endpoint, region
// and retryer come from the caller's aws.Config (see NewRetryer).
func New(client *dynamodb.Client, table string) *Store {
	ops := operations{
		getItem:        client.GetItem,
		putItem:        client.PutItem,
		createTable:    client.CreateTable,
		describeTable:  client.DescribeTable,
		batchWriteItem: client.BatchWriteItem,
	}
	return &Store{ops: ops, table: table, retry: defaultBackoff}
}

// NewRetryer returns the SDK retryer the service uses (as aws.Config's
// Retryer): the standard one with 10 attempts instead of 3, backoff capped
// at 5 s, and no client-side retry quota, so calls throttled together slow
// down instead of failing with "retry quota exceeded". A quarter's batch
// writes retry themselves (see PutQuarter).
func NewRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 10
		o.MaxBackoff = 5 * time.Second
		o.RateLimiter = ratelimit.None
	})
}

// Table returns the name of the table the store uses.
func (s *Store) Table() string { return s.table }

// quarterSK returns the sort key of a quarter: "Q#<q>".
func quarterSK(q banner.Quarter) string { return "Q#" + strconv.Itoa(int(q)) }

// itemKey returns the primary key (pk, sk).
func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{PartitionKey: str(pk), SortKey: str(sk)}
}

// keyOf returns the primary key of k's item: ("C#<campaign>", "Q#<q>").
func keyOf(k banner.Key) map[string]types.AttributeValue {
	return itemKey("C#"+strconv.FormatInt(k.CampaignID, 10), quarterSK(k.Quarter))
}

// Campaign returns the read model for k with one eventually consistent
// GetItem, or banner.ErrNotFound when the table holds no item for k. Any
// other error is the SDK's (after its retries), wrapped with the key.
func (s *Store) Campaign(ctx context.Context, k banner.Key) (*banner.Campaign, error) {
	out, err := s.ops.getItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key:       keyOf(k),
	})
	if err != nil {
		return nil, fmt.Errorf("get campaign %d quarter %d: %w", k.CampaignID, k.Quarter, err)
	}
	if out.Item == nil {
		return nil, banner.ErrNotFound
	}
	c, err := decodeCampaign(k, out.Item)
	if err != nil {
		return nil, fmt.Errorf("decode campaign %d quarter %d: %w", k.CampaignID, k.Quarter, err)
	}
	return c, nil
}

// getConsistent reads the item at key with a strongly consistent GetItem;
// it is nil when there is none.
func (s *Store) getConsistent(ctx context.Context, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.ops.getItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// GenerationPK is the partition key of the per-quarter generation items;
// their sort key is the quarter's, "Q#<q>".
const GenerationPK = "GEN"

func generationKey(q banner.Quarter) map[string]types.AttributeValue {
	return itemKey(GenerationPK, quarterSK(q))
}

// Generation returns quarter q's generation, naming the last load of q
// whose items were all written (its data's digest and run), or "" when no
// load has finished since generation items exist. It changes exactly when
// a load changes q's data, so a cache can keep q's entries until it does.
// It is one strongly consistent GetItem of a ~50-byte item (1 RCU).
func (s *Store) Generation(ctx context.Context, q banner.Quarter) (string, error) {
	item, err := s.getConsistent(ctx, generationKey(q))
	if err != nil {
		return "", fmt.Errorf("get generation of quarter %d: %w", q, err)
	}
	if item == nil {
		return "", nil
	}
	gen, err := decodeGeneration(item)
	if err != nil {
		return "", fmt.Errorf("decode generation of quarter %d: %w", q, err)
	}
	return gen, nil
}

// CreateTable creates the table on demand (pay per request) with the
// String keys pk and sk, and waits up to two minutes until it is active. A
// table that already exists is not an error.
func (s *Store) CreateTable(ctx context.Context) error {
	_, err := s.ops.createTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(s.table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(SortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(SortKey), KeyType: types.KeyTypeRange},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", s.table, err)
	}
	w := dynamodb.NewTableExistsWaiter(s.ops.describeTable, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", s.table, err)
	}
	return nil
}
