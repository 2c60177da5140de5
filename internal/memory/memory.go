// Package memory is an in-memory store of campaign read models, for the
// local server and tests.
package memory

import (
	"context"

	"banners/internal/banner"
)

// Store holds read models in a map. It is safe for concurrent reads; it is
// never written after New.
type Store struct {
	campaigns map[banner.Key]*banner.Campaign
}

// New returns a Store holding campaigns.
func New(campaigns []banner.Campaign) *Store {
	s := &Store{campaigns: make(map[banner.Key]*banner.Campaign, len(campaigns))}
	for i := range campaigns {
		c := &campaigns[i]
		if !c.Empty() {
			s.campaigns[c.Key] = c
		}
	}
	return s
}

// Campaign returns the read model for k, or banner.ErrNotFound.
func (s *Store) Campaign(_ context.Context, k banner.Key) (*banner.Campaign, error) {
	c, ok := s.campaigns[k]
	if !ok {
		return nil, banner.ErrNotFound
	}
	return c, nil
}

// Len returns the number of (campaign, quarter) read models held.
func (s *Store) Len() int { return len(s.campaigns) }
