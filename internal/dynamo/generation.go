package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"banners/internal/banner"
)

// GenerationPK is the partition key of the per-quarter generation items;
// their sort key is the quarter's, "Q#<q>". A generation item is tiny
// (about 50 bytes), so reading it costs the least DynamoDB bills for a
// read, whatever the size of the quarter's manifest.
const GenerationPK = "GEN"

func generationKey(q banner.Quarter) map[string]types.AttributeValue {
	return itemKey(GenerationPK, quarterSK(q))
}

// Generation returns quarter q's generation: the digest of the last load
// of q whose items were all written, or "" when no load has finished since
// generation items exist. It changes exactly when a load changes q's data,
// so a cache can keep q's entries until it does. It is one strongly
// consistent GetItem of a ~50-byte item (1 RCU).
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

// putGeneration writes q's generation item.
func (s *Store) putGeneration(ctx context.Context, q banner.Quarter, gen string) error {
	if _, err := s.ops.putItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: encodeGeneration(q, gen)}); err != nil {
		return fmt.Errorf("write generation of quarter %d: %w", q, err)
	}
	return nil
}
