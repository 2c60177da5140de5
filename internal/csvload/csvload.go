// Package csvload reads the assignment's CSV files (impressions, clicks and
// conversions per quarter of the hour) into the banner read model.
//
// It streams each file once, rejects bad and duplicate rows with their file,
// line and reason, and keeps everything valid: nothing is counted twice and
// nothing valid is lost.
package csvload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"banners/internal/banner"
)

// Kind is one of the three files a quarter has.
type Kind string

// The three kinds of file, in the order a quarter is loaded.
const (
	Impressions Kind = "impressions"
	Clicks      Kind = "clicks"
	Conversions Kind = "conversions"
)

// Kinds lists the kinds in load order: a conversion needs its click.
var Kinds = [...]Kind{Impressions, Clicks, Conversions}

// header is the first line each kind of file must have.
var header = map[Kind]string{
	Impressions: "banner_id,campaign_id",
	Clicks:      "click_id,banner_id,campaign_id",
	Conversions: "conversion_id,click_id,revenue",
}

// Header returns the first line a file of kind k must have, without its
// line end.
func Header(k Kind) string { return header[k] }

// Path returns the file's path for kind and quarter in the assignment's
// layout: "<q>/<kind>_<q>.csv".
func Path(k Kind, q banner.Quarter) string {
	return fmt.Sprintf("%d/%s_%d.csv", q, k, q)
}

// Reason says why a row was rejected.
type Reason string

// Reasons a row is rejected.
const (
	WrongColumns        Reason = "wrong column count"
	BadID               Reason = "id not a positive integer"
	BadRevenue          Reason = "revenue not a finite number from 0 to 1e9"
	DuplicateClick      Reason = "duplicate click_id"
	DuplicateConversion Reason = "duplicate conversion_id"
	UnknownClick        Reason = "conversion of unknown click_id"
)

// MaxRevenue is the largest revenue one conversion may carry; it keeps sums
// in millionths far inside int64.
const MaxRevenue = 1e9

// Rejection is one rejected row.
type Rejection struct {
	File   string
	Line   int
	Reason Reason
	// Row is the rejected line, cut to 200 bytes.
	Row string
}

// FileStats counts one file's rows.
type FileStats struct {
	Name     string
	Accepted int
	Rejected map[Reason]int
}

// Report sums up a load, file by file.
type Report struct {
	Files []FileStats
}

// Accepted returns the number of rows accepted over all files.
func (r *Report) Accepted() int {
	n := 0
	for _, f := range r.Files {
		n += f.Accepted
	}
	return n
}

// Rejected returns the number of rows rejected over all files.
func (r *Report) Rejected() int {
	n := 0
	for _, f := range r.Files {
		n += sum(f.Rejected)
	}
	return n
}

// String is a human summary: one line per file with its reasons.
func (r *Report) String() string {
	var b strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&b, "%s: %d accepted, %d rejected", f.Name, f.Accepted, sum(f.Rejected))
		for _, reason := range slices.Sorted(maps.Keys(f.Rejected)) {
			fmt.Fprintf(&b, "; %s: %d", reason, f.Rejected[reason])
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "total: %d accepted, %d rejected\n", r.Accepted(), r.Rejected())
	return b.String()
}

// sum adds up a file's rejected rows over the reasons.
func sum(m map[Reason]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// click is what a conversion needs of its click.
type click struct {
	bannerID, campaignID int64
}

// Quarter accumulates one quarter's files. Feed it impressions, then clicks,
// then conversions; then ask for the Campaigns.
type Quarter struct {
	q           banner.Quarter
	tallies     map[int64]*banner.Tally
	clicks      map[int64]click
	conversions map[int64]struct{}
	// OnReject, if set, is called for every rejected row.
	OnReject func(Rejection)
	// Report collects the counts of every file read.
	Report Report
}

// NewQuarter returns an empty Quarter for q.
func NewQuarter(q banner.Quarter) *Quarter {
	return &Quarter{
		q:           q,
		tallies:     make(map[int64]*banner.Tally),
		clicks:      make(map[int64]click),
		conversions: make(map[int64]struct{}),
	}
}

func (l *Quarter) tally(campaignID int64) *banner.Tally {
	t := l.tallies[campaignID]
	if t == nil {
		t = banner.NewTally()
		l.tallies[campaignID] = t
	}
	return t
}

// Read streams one file of kind k, named name in messages. It returns an
// error only for a file that cannot be read at all: a read failure or a
// missing or wrong header. Bad rows are rejected and counted, not errors.
func (l *Quarter) Read(k Kind, name string, r io.Reader) error {
	want, ok := header[k]
	if !ok {
		return fmt.Errorf("%s: unknown kind of file %q", name, k)
	}
	stats := FileStats{Name: name, Rejected: make(map[Reason]int)}
	defer func() { l.Report.Files = append(l.Report.Files, stats) }()

	br := bufio.NewReaderSize(r, 64<<10)
	var fields [3][]byte
	for line := 1; ; line++ {
		row, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer is no valid row: reject it, then
			// skip to its end. (The skip reads over row's bytes.)
			l.reject(&stats, name, line, WrongColumns, row)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				break
			}
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		row = bytes.TrimRight(row, "\r\n")
		if line == 1 {
			row = bytes.TrimPrefix(row, []byte("\xef\xbb\xbf"))
			if string(row) != want {
				if len(row) == 0 && err == io.EOF {
					return fmt.Errorf("%s: empty file, want header %q", name, want)
				}
				return fmt.Errorf("%s:1: header %q, want %q", name, cut(row), want)
			}
		} else if len(row) > 0 {
			if n := split(row, &fields); n > len(fields) {
				l.reject(&stats, name, line, WrongColumns, row)
			} else {
				l.row(&stats, k, name, line, row, fields[:n])
			}
		}
		if err == io.EOF {
			break
		}
	}
	return nil
}

// row checks and applies one data row of kind k.
func (l *Quarter) row(stats *FileStats, k Kind, name string, line int, row []byte, f [][]byte) {
	want := 2
	if k != Impressions {
		want = 3
	}
	if len(f) != want {
		l.reject(stats, name, line, WrongColumns, row)
		return
	}
	a, ok1 := banner.ParseID(f[0])
	b, ok2 := banner.ParseID(f[1])
	if !ok1 || !ok2 {
		l.reject(stats, name, line, BadID, row)
		return
	}
	switch k {
	case Impressions:
		l.tally(b).Banners[a] = struct{}{}
	case Clicks:
		c, ok := banner.ParseID(f[2])
		if !ok {
			l.reject(stats, name, line, BadID, row)
			return
		}
		if _, dup := l.clicks[a]; dup {
			l.reject(stats, name, line, DuplicateClick, row)
			return
		}
		l.clicks[a] = click{bannerID: b, campaignID: c}
		t := l.tally(c)
		t.Clicks[b]++
		t.Banners[b] = struct{}{}
	case Conversions:
		rev, ok := parseRevenue(f[2])
		if !ok {
			l.reject(stats, name, line, BadRevenue, row)
			return
		}
		if _, dup := l.conversions[a]; dup {
			l.reject(stats, name, line, DuplicateConversion, row)
			return
		}
		c, known := l.clicks[b]
		if !known {
			l.reject(stats, name, line, UnknownClick, row)
			return
		}
		l.conversions[a] = struct{}{}
		l.tally(c.campaignID).Revenue[c.bannerID] += rev
	}
	stats.Accepted++
}

func (l *Quarter) reject(stats *FileStats, name string, line int, reason Reason, row []byte) {
	stats.Rejected[reason]++
	if l.OnReject != nil {
		l.OnReject(Rejection{File: name, Line: line, Reason: reason, Row: cut(row)})
	}
}

// Campaigns returns the read model of every campaign seen in the quarter,
// in ascending campaign order.
func (l *Quarter) Campaigns() []banner.Campaign {
	ids := make([]int64, 0, len(l.tallies))
	for id := range l.tallies {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]banner.Campaign, 0, len(ids))
	for _, id := range ids {
		out = append(out, l.tallies[id].Campaign(banner.Key{CampaignID: id, Quarter: l.q}))
	}
	return out
}

// LoadFS loads all four quarters from fsys in the assignment's layout
// ("<q>/<kind>_<q>.csv"). A missing or unreadable file is an error naming
// it. onReject, if not nil, is called for every rejected row.
func LoadFS(fsys fs.FS, onReject func(Rejection)) ([]banner.Campaign, *Report, error) {
	var all []banner.Campaign
	report := &Report{}
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		l := NewQuarter(q)
		l.OnReject = onReject
		for _, k := range Kinds {
			if err := readFile(l, fsys, k, q); err != nil {
				return nil, nil, err
			}
		}
		all = append(all, l.Campaigns()...)
		report.Files = append(report.Files, l.Report.Files...)
	}
	return all, report, nil
}

func readFile(l *Quarter, fsys fs.FS, k Kind, q banner.Quarter) error {
	name := Path(k, q)
	f, err := fsys.Open(name)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	return l.Read(k, name, f)
}

// split cuts row at commas into f, stripping one pair of surrounding double
// quotes and spaces from each field, and returns the number of fields, or
// len(f)+1 when there are more fields than f holds.
func split(row []byte, f *[3][]byte) int {
	for n := 0; ; n++ {
		if n == len(f) {
			return n + 1
		}
		field, rest, more := bytes.Cut(row, []byte{','})
		field = bytes.TrimSpace(field)
		if len(field) >= 2 && field[0] == '"' && field[len(field)-1] == '"' {
			field = field[1 : len(field)-1]
		}
		f[n] = field
		if !more {
			return n + 1
		}
		row = rest
	}
}

// parseRevenue parses a revenue into millionths of the currency unit.
func parseRevenue(b []byte) (int64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > MaxRevenue {
		return 0, false
	}
	return int64(math.Round(f * 1e6)), true
}

// cut returns at most 200 bytes of b as a string.
func cut(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
