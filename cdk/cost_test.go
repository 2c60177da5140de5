package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The cost section of docs/deploy.md holds two markdown tables: the inputs,
// and the cost lines per million requests for the old and the new design.
// These tests recompute the quantities from the inputs, each line from its
// price and quantity, and the totals, so that the published figure cannot
// drift from its own arithmetic.

const costHeading = "## What it costs per million requests"

// costLine is one row of the cost table.
type costLine struct {
	name                 string
	price, per           float64
	oldQty, newQty       string // as written, to compare at their precision
	oldUSD, newUSD       string
	oldQtyVal, newQtyVal float64
}

// costDoc is the parsed cost section.
type costDoc struct {
	section          string
	inputs           map[string]float64
	lines            []costLine
	oldTotal, newTot string
}

func readCostDoc(t *testing.T) costDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "deploy.md"))
	require.NoError(t, err)
	doc, err := parseCostDoc(string(b))
	require.NoError(t, err)
	return doc
}

// parseCostDoc finds the cost section of md and parses its two tables.
func parseCostDoc(md string) (costDoc, error) {
	start := strings.Index(md, costHeading)
	if start < 0 {
		return costDoc{}, fmt.Errorf("no %q section", costHeading)
	}
	section := md[start+len(costHeading):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	tables := markdownTables(section)
	if len(tables) != 2 {
		return costDoc{}, fmt.Errorf("cost section: %d tables, want 2 (inputs, costs)", len(tables))
	}
	doc := costDoc{section: section, inputs: map[string]float64{}}
	for _, row := range tables[0][1:] {
		if len(row) != 2 {
			return costDoc{}, fmt.Errorf("inputs row %q: want 2 cells", row)
		}
		v, err := parseNumber(row[1])
		if err != nil {
			return costDoc{}, fmt.Errorf("input %q: %w", row[0], err)
		}
		doc.inputs[row[0]] = v
	}
	want := []string{"Line", "Price (USD)", "Per", "Old quantity", "Old (USD)", "New quantity", "New (USD)"}
	if fmt.Sprint(tables[1][0]) != fmt.Sprint(want) {
		return costDoc{}, fmt.Errorf("cost table header %q, want %q", tables[1][0], want)
	}
	for _, row := range tables[1][1:] {
		if len(row) != len(want) {
			return costDoc{}, fmt.Errorf("cost row %q: want %d cells", row, len(want))
		}
		if row[0] == "**Total**" {
			doc.oldTotal, doc.newTot = strings.Trim(row[4], "*"), strings.Trim(row[6], "*")
			continue
		}
		l := costLine{name: row[0], oldQty: row[3], oldUSD: row[4], newQty: row[5], newUSD: row[6]}
		var err error
		if l.price, err = parseNumber(row[1]); err != nil {
			return costDoc{}, fmt.Errorf("%s price: %w", l.name, err)
		}
		l.per = 1
		if m := leadingNumber.FindString(row[2]); m != "" {
			if l.per, err = parseNumber(m); err != nil {
				return costDoc{}, err
			}
		}
		if l.oldQtyVal, err = parseNumber(l.oldQty); err != nil {
			return costDoc{}, fmt.Errorf("%s old quantity: %w", l.name, err)
		}
		if l.newQtyVal, err = parseNumber(l.newQty); err != nil {
			return costDoc{}, fmt.Errorf("%s new quantity: %w", l.name, err)
		}
		doc.lines = append(doc.lines, l)
	}
	if doc.oldTotal == "" {
		return costDoc{}, fmt.Errorf("cost table has no **Total** row")
	}
	return doc, nil
}

// leadingNumber is the count in a "Per" cell such as "10,000 requests".
var leadingNumber = regexp.MustCompile(`^[0-9][0-9,]*(\.[0-9]+)?`)

// markdownTables returns the tables of md as rows of trimmed cells, header
// first, without the |---| separator.
func markdownTables(md string) [][][]string {
	var tables [][][]string
	var cur [][]string
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if cur != nil {
				tables = append(tables, cur)
				cur = nil
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		cur = append(cur, cells)
	}
	if cur != nil {
		tables = append(tables, cur)
	}
	return tables
}

// parseNumber parses "1,000,000", "0.0100" or "61,446".
func parseNumber(s string) (float64, error) {
	return strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
}

// decimals returns the number of digits after the point in s.
func decimals(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// roundTo rounds v to n decimals.
func roundTo(v float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(v*p) / p
}

// quantities derives a line's old and new quantity from the inputs. The
// key is the start of the line's name.
func quantities(in map[string]float64) map[string][2]float64 {
	req := in["Requests"]
	sampled := (in["X-Ray sampling, per second"] +
		in["X-Ray sampling, rate above that"]*(in["Request rate, per second"]-in["X-Ray sampling, per second"])) /
		in["Request rate, per second"]
	const gb = 1e9 // bytes; AWS bills data and logs in GB of 10^9 bytes
	dataGB := req * in["Response size, KB"] * 1000 / gb
	gbSeconds := req * in["API function memory, MB"] / 1024 * in["Billed duration of a warm request, ms"] / 1000
	readUnits := req * (1 - in["Cache hit ratio"]) * in["Read units per GetItem"]
	return map[string][2]float64{
		"CloudFront HTTPS requests": {req, req},
		"CloudFront data out":       {dataGB, dataGB},
		"API Gateway REST requests": {req, 0},
		"Lambda requests":           {req, req},
		"Lambda arm64 compute":      {gbSeconds, gbSeconds},
		"DynamoDB GetItem":          {readUnits, readUnits},
		"X-Ray traces":              {req * sampled, req * sampled},
		"CloudWatch Logs ingestion": {req * in["Log bytes per request, old"] / gb, req * in["Log bytes per request, new"] / gb},
		"Access logs in S3": {0, req * in["Access log bytes per request, gzipped"] / gb *
			in["Access log retention, months"]},
	}
}

func TestCostQuantitiesFollowFromInputs(t *testing.T) {
	doc := readCostDoc(t)
	derive := quantities(doc.inputs)
	used := map[string]bool{}
	for _, l := range doc.lines {
		t.Run(l.name, func(t *testing.T) {
			var want [2]float64
			found := false
			for prefix, q := range derive {
				if strings.HasPrefix(l.name, prefix) {
					want, found = q, true
					used[prefix] = true
				}
			}
			require.True(t, found, "no derivation for cost line %q", l.name)
			require.Equal(t, roundTo(want[0], decimals(l.oldQty)), l.oldQtyVal, "old quantity")
			require.Equal(t, roundTo(want[1], decimals(l.newQty)), l.newQtyVal, "new quantity")
		})
	}
	require.Len(t, used, len(derive), "every derivation has its line")
}

func TestCostLinesAndTotals(t *testing.T) {
	doc := readCostDoc(t)
	var oldTotal, newTotal float64
	for _, l := range doc.lines {
		old, new := l.price*l.oldQtyVal/l.per, l.price*l.newQtyVal/l.per
		oldTotal += old
		newTotal += new
		t.Run(l.name, func(t *testing.T) {
			require.Equal(t, fmt.Sprintf("%.4f", old), l.oldUSD, "old cost")
			require.Equal(t, fmt.Sprintf("%.4f", new), l.newUSD, "new cost")
		})
	}
	require.Equal(t, fmt.Sprintf("%.4f", oldTotal), doc.oldTotal, "old total")
	require.Equal(t, fmt.Sprintf("%.4f", newTotal), doc.newTot, "new total")
	headline := fmt.Sprintf("**New: $%.2f per million requests; old: $%.2f.**", newTotal, oldTotal)
	require.Contains(t, doc.section, headline)
}

func TestCostInputsMatchTheStack(t *testing.T) {
	doc := readCostDoc(t)
	fn := synth(t).plain.one(t, "AWS::Lambda::Function", "ApiFunction")
	require.Equal(t, fn.props["MemorySize"], doc.inputs["API function memory, MB"])
	require.Equal(t, []any{"arm64"}, fn.props["Architectures"], "the compute line uses the arm64 price")
}

func TestParseCostDocRejectsBrokenTables(t *testing.T) {
	good := costHeading + "\n\n| Input | Value |\n|---|---|\n| Requests | 1,000 |\n\n" +
		"| Line | Price (USD) | Per | Old quantity | Old (USD) | New quantity | New (USD) |\n|---|---|---|---|---|---|---|\n" +
		"| Lambda requests | 0.20 | 1,000,000 requests | 1,000 | 0.0002 | 1,000 | 0.0002 |\n" +
		"| **Total** | | | | **0.0002** | | **0.0002** |\n"
	doc, err := parseCostDoc(good)
	require.NoError(t, err)
	require.Equal(t, 1e6, doc.lines[0].per)
	require.Equal(t, 1000.0, doc.inputs["Requests"])

	tests := []struct{ name, md string }{
		{"no section", "# nothing"},
		{"one table", costHeading + "\n\n| Input | Value |\n|---|---|\n| Requests | 1 |\n"},
		{"bad price", strings.Replace(good, "| 0.20 |", "| cheap |", 1)},
		{"no total", strings.Replace(good, "| **Total** | | | | **0.0002** | | **0.0002** |\n", "", 1)},
		{"wrong header", strings.Replace(good, "Old quantity", "Old qty", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCostDoc(tt.md)
			require.Error(t, err)
		})
	}
}
