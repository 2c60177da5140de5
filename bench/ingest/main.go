// Command ingest measures a load of generated files through the ingest's
// code path (ingest.LoadFS: csvload, then dynamo.Store.PutQuarter) into a
// table on dynalite: load time, peak memory and the write units DynamoDB
// reports, priced at the on-demand list price; with -reload, also a reload
// keeping that share of the campaigns.
//
//	go run ./bench/ingest                                   # 1,000 campaigns in each quarter
//	go run ./bench/ingest -campaigns 1000000 -quarters 1 -reload 0.5
//
// Run it inside the module (it finds dynalite in node_modules).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"banners/bench/internal/localdb"
	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/ingest"
)

// pricePerMillionWrites is DynamoDB's on-demand list price for a million
// write request units (us-east-1, standard table class).
const pricePerMillionWrites = 0.625

func main() {
	campaigns := flag.Int("campaigns", 1000, "campaigns in each quarter loaded")
	quarters := flag.Int("quarters", 4, "quarters with campaigns, 1 to 4 (the others are loaded empty)")
	rows := flag.Int("rows", 1, "rows per banner and kind: 1 gives 14 rows a campaign (10 impressions, 3 clicks, 1 conversion)")
	reload := flag.Float64("reload", 0, "then reload with this share of the campaigns kept (0: no reload)")
	flag.Parse()
	if flag.NArg() > 0 || *campaigns < 1 || *quarters < 1 || *quarters > int(banner.Quarters) || *rows < 1 || *reload < 0 || *reload > 1 {
		fmt.Fprintln(os.Stderr, "bench/ingest: want -campaigns ≥ 1, -quarters in [1, 4], -rows ≥ 1, -reload in [0, 1] and no arguments")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *campaigns, *quarters, *rows, *reload); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ingest:", err)
		os.Exit(1)
	}
}

// run loads the generated files into a table on dynalite, then with
// reload > 0 reloads keeping that share of the campaigns, and prints a row
// per load.
func run(ctx context.Context, campaigns, quarters, rows int, reload float64) error {
	_, store, stop, err := localdb.Start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fmt.Printf("%d campaigns a quarter in quarters 1 to %d, rows %d\n\n", campaigns, quarters, rows)
	fmt.Println("| run | rows (CSV) | load time | peak RSS | put | deleted | pages | batches | retries | throttled | write units | on-demand cost |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	keeps := []float64{1}
	if reload > 0 {
		keeps = append(keeps, reload)
	}
	for round, keep := range keeps {
		dir, err := os.MkdirTemp("", "bench-ingest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		size, err := generate(dir, quarters, campaigns, rows, keep, round)
		if err != nil {
			return err
		}
		sum, err := ingest.LoadFS(ctx, store, os.DirFS(dir), log)
		if err != nil {
			return err
		}
		t := sum.Total
		fmt.Printf("| %s | %d (%.1f MB) | %v | %d MB | %d | %d | %d | %d | %d | %v | %.0f | $%.4f |\n",
			[]string{"load", "reload"}[round], sum.Report.Accepted()+sum.Report.Rejected(), float64(size)/1e6,
			sum.Elapsed.Round(time.Millisecond), peakRSS()>>20, t.Put, t.Deleted, t.Pages, t.Batches, t.Retries,
			t.Throttled.Round(time.Millisecond), t.WriteUnits, t.WriteUnits*pricePerMillionWrites/1e6)
	}
	return nil
}

// generate writes the assignment's twelve files to dir: quarters 1 to
// quarters with campaigns campaigns each (of which the first share keep,
// changed when round is not 0), the others empty. It returns the bytes
// written.
func generate(dir string, quarters, campaigns, rows int, keep float64, round int) (int64, error) {
	var total int64
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		n := 0
		if int(q) <= quarters {
			n = int(float64(campaigns) * keep)
		}
		for _, k := range csvload.Kinds {
			size, err := writeFile(filepath.Join(dir, csvload.Path(k, q)), k, n, rows, round)
			if err != nil {
				return 0, err
			}
			total += size
		}
	}
	return total, nil
}

// writeFile writes one file of kind k for campaigns 1 to n. The IDs of
// clicks and conversions are those of the same campaign and banner in
// every kind; round shifts which banners convert, so a reload changes
// every campaign it keeps.
func writeFile(name string, k csvload.Kind, n, rows, round int) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(csvload.Header(k) + "\n") //nolint:errcheck // Flush reports the first error
	for c := int64(1); c <= int64(n); c++ {
		for b := int64(1); b <= 10; b++ {
			for r := range int64(rows) {
				click := (c*10+b)*int64(rows) + r // unique per campaign, banner and row
				switch {
				case k == csvload.Impressions:
					fmt.Fprintf(w, "%d,%d\n", b, c)
				case c%3 == 0 || b > 3:
					// no clicks: a campaign served from Fill, or a banner not clicked
				case k == csvload.Clicks:
					fmt.Fprintf(w, "%d,%d,%d\n", click, b, c)
				case b == 1+(c+int64(round))%3:
					// conversions: revenue in cents, written as a decimal
					fmt.Fprintf(w, "%d,%d,1.%d\n", click, click, 10+r%90)
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), f.Close()
}

// peakRSS returns the process's peak resident set size in bytes, what
// Lambda reports as Max Memory Used.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}
