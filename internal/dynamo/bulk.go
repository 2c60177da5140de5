package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"banners/internal/banner"
)

// PutCampaigns writes one item per non-empty campaign, 25 per
// BatchWriteItem, and nothing else: no manifest and no generation, so a
// later PutQuarter does not know these items and cannot delete them. It
// seeds tables for load tests and simulations beyond MaxCampaigns per
// quarter; the ingest uses PutQuarter.
func (s *Store) PutCampaigns(ctx context.Context, campaigns []banner.Campaign) (WriteStats, error) {
	var st WriteStats
	var reqs []types.WriteRequest
	for i := range campaigns {
		if campaigns[i].Empty() {
			continue
		}
		it := toItem(&campaigns[i])
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it.attributes()}})
	}
	if err := s.write(ctx, reqs, &st); err != nil {
		return st, fmt.Errorf("put campaigns: %w", err)
	}
	st.Put = len(reqs)
	return st, nil
}
