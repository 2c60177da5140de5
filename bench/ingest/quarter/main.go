// Command quarter measures the load of one large quarter through the
// ingest's code path (ingest.LoadFS: csvload, then dynamo.Store.PutQuarter)
// into a fresh DynamoDB table: load time, peak memory and the write units
// DynamoDB reports, priced at the on-demand list price.
//
//	go run ./bench/ingest/quarter [-campaigns 1000000] [-rows 1] [-reload 0.5]
//
// It writes the CSV files of quarter 1 (quarters 2 to 4 empty) to a
// temporary folder: every campaign has ten banners with rows impressions
// each, three clicked banners (rows clicks each, none for every third
// campaign) and rows conversions. With -reload it loads a second dataset
// keeping that share of the campaigns, changed, to time a reload that
// deletes the rest. The endpoint comes from the SDK's settings, such as
// AWS_ENDPOINT_URL_DYNAMODB, as for functions/ingest.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/dynamo"
	"banners/internal/ingest"
)

// pricePerMillionWrites is DynamoDB's on-demand list price for a million
// write request units (us-east-1, standard table class).
const pricePerMillionWrites = 0.625

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bench/ingest/quarter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("bench/ingest/quarter", flag.ContinueOnError)
	fl.SetOutput(stderr)
	campaigns := fl.Int("campaigns", 1_000_000, "campaigns in quarter 1")
	rows := fl.Int("rows", 1, "rows per banner and kind: 1 gives 14 rows a campaign (10 impressions, 3 clicks, 1 conversion)")
	reload := fl.Float64("reload", 0, "then reload with this share of the campaigns kept (0: no reload)")
	table := fl.String("table", "bench-"+strconv.FormatInt(time.Now().Unix(), 10), "DynamoDB table `name` to create")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *campaigns < 1 || *rows < 1 || *reload < 0 || *reload > 1 {
		return errors.New("want -campaigns ≥ 1, -rows ≥ 1 and -reload in [0, 1]")
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(dynamo.NewRetryer))
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), *table)
	if err := store.CreateTable(ctx); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	loads := []struct {
		name string
		keep float64
	}{{"load", 1}}
	if *reload > 0 {
		loads = append(loads, struct {
			name string
			keep float64
		}{"reload", *reload})
	}
	fmt.Fprintf(stdout, "table %s, %d campaigns, rows %d\n", *table, *campaigns, *rows)
	for i, l := range loads {
		dir, err := os.MkdirTemp("", "bench-ingest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		size, err := generate(dir, *campaigns, *rows, l.keep, i)
		if err != nil {
			return err
		}
		gen := time.Since(start)

		p := ingest.NewProgress()
		drawing, stopDrawing := context.WithCancel(ctx)
		drawn := make(chan struct{})
		go func() {
			if ingest.Terminal(stderr) {
				p.Draw(drawing, stderr, time.Second)
			}
			close(drawn)
		}()
		sum, err := ingest.LoadFS(ctx, store.WithProgress(p.Written), p.FS(os.DirFS(dir)), log)
		stopDrawing()
		<-drawn
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		t := sum.Total
		fmt.Fprintf(stdout, "%s: %d rows (%.0f MB) generated in %s; loaded in %s; peak RSS %d MB\n",
			l.name, sum.Report.Accepted()+sum.Report.Rejected(), float64(size)/1e6, gen.Round(time.Millisecond),
			sum.Elapsed.Round(time.Millisecond), peakRSS()>>20)
		fmt.Fprintf(stdout, "%s: %d put, %d deleted, %d pages, %d batches, %d retries, throttled %s; %.0f write units = $%.4f on demand\n",
			l.name, t.Put, t.Deleted, t.Pages, t.Batches, t.Retries, t.Throttled.Round(time.Millisecond),
			t.WriteUnits, t.WriteUnits*pricePerMillionWrites/1e6)
	}
	return nil
}

// generate writes the assignment's twelve files to dir: quarter 1 with
// campaigns campaigns (of which the first share keep, changed when round
// is not 0), the others empty. It returns the bytes written.
func generate(dir string, campaigns, rows int, keep float64, round int) (int64, error) {
	var total int64
	kept := int(float64(campaigns) * keep)
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		for _, k := range csvload.Kinds {
			n := 0
			if q == 1 {
				n = kept
			}
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
	var line []byte
	row := func(fields ...int64) {
		line = line[:0]
		for i, v := range fields {
			if i > 0 {
				line = append(line, ',')
			}
			line = strconv.AppendInt(line, v, 10)
		}
		line = append(line, '\n')
		w.Write(line) //nolint:errcheck // Flush reports the first error
	}
	header := map[csvload.Kind]string{
		csvload.Impressions: "banner_id,campaign_id\n",
		csvload.Clicks:      "click_id,banner_id,campaign_id\n",
		csvload.Conversions: "conversion_id,click_id,revenue\n",
	}[k]
	w.WriteString(header) //nolint:errcheck // Flush reports the first error
	for c := int64(1); c <= int64(n); c++ {
		for b := int64(1); b <= 10; b++ {
			for r := range int64(rows) {
				click := (c*10+b)*int64(rows) + r // unique per campaign, banner and row
				switch {
				case k == csvload.Impressions:
					row(b, c)
				case c%3 == 0 || b > 3:
					// no clicks: a campaign served from Fill, or a banner not clicked
				case k == csvload.Clicks:
					row(click, b, c)
				case b == 1+(c+int64(round))%3:
					// conversions: revenue in cents, written as a decimal
					line = strconv.AppendInt(append(strconv.AppendInt(line[:0], click, 10), ','), click, 10)
					line = append(line, ",1."...)
					line = strconv.AppendInt(line, 10+r%90, 10)
					line = append(line, '\n')
					w.Write(line) //nolint:errcheck // Flush reports the first error
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
