package csvload_test

import (
	"bytes"
	"testing"

	"banners/internal/csvload"
)

// FuzzRead feeds any bytes after a valid header: the loader must not panic,
// and every non-blank row is either accepted or rejected with a reason.
func FuzzRead(f *testing.F) {
	seeds := []string{
		"10,1\n11,1\n",
		"1,10,1\r\n1,10,1\r\n",
		"1,1,1.5\n2,1,NaN\n3,9,1e400\n",
		"\"1\",\"2\",\"3\"\n,,\n,\n\n\n1,2,3,4\n",
		"99999999999999999999,1\n-1,-1\n",
		"1,1,0x1p3\n2,1,+Inf\n3,1,1_000\n",
		string(bytes.Repeat([]byte("9"), 70_000)) + "\n1,1\n",
	}
	for _, s := range seeds {
		for k := range 3 {
			f.Add(uint8(k), []byte(s))
		}
	}
	headers := map[csvload.Kind]string{
		csvload.Impressions: "banner_id,campaign_id\n",
		csvload.Clicks:      "click_id,banner_id,campaign_id\n",
		csvload.Conversions: "conversion_id,click_id,revenue\n",
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		l := csvload.NewQuarter(1)
		// Give conversions some clicks to refer to.
		if err := l.Read(csvload.Clicks, "c", bytes.NewBufferString("click_id,banner_id,campaign_id\n1,10,1\n2,11,1\n")); err != nil {
			t.Fatal(err)
		}
		k := csvload.Kinds[int(kind)%3]
		rejected := 0
		l.OnReject = func(r csvload.Rejection) {
			if r.Reason == "" || r.Line < 2 || r.File != "f" {
				t.Fatalf("rejection without reason or place: %+v", r)
			}
			rejected++
		}
		if err := l.Read(k, "f", bytes.NewReader(append([]byte(headers[k]), body...))); err != nil {
			t.Fatalf("read: %v", err)
		}
		rows := 0
		for _, line := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimRight(line, "\r")) > 0 {
				rows++
			}
		}
		stats := l.Report.Files[len(l.Report.Files)-1]
		got := stats.Accepted
		for _, n := range stats.Rejected {
			got += n
		}
		if got != rows || rejected != got-stats.Accepted {
			t.Fatalf("%d rows, %d accepted + rejected (%d reported)", rows, got, rejected)
		}
		for _, c := range l.Campaigns() {
			if len(c.Earners) > 10 || len(c.Clicked) > 5 {
				t.Fatalf("read model over its bounds: %+v", c)
			}
		}
	})
}
