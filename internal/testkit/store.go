package testkit

import (
	"reflect"

	"banners/internal/banner"
)

// RequireCampaigns fails t unless s answers every read model of want, by
// its key, with an equal one.
func RequireCampaigns(t TB, s banner.Store, want []banner.Campaign) {
	t.Helper()
	for _, c := range want {
		got, err := s.Campaign(t.Context(), c.Key)
		if err != nil {
			t.Fatalf("campaign %d quarter %d: %v", c.CampaignID, c.Quarter, err)
		}
		if !reflect.DeepEqual(&c, got) {
			t.Fatalf("campaign %d quarter %d:\ngot  %+v\nwant %+v", c.CampaignID, c.Quarter, got, &c)
		}
	}
}
