// Command ingest measures the ingest at scale: it generates -scale times
// the real dataset with the sample generator (50 × scale campaigns), then
// loads each quarter as the ingest Lambda does (csvload.Quarter streaming
// the quarter's three files, then dynamo.Store.PutQuarter into a table on
// dynalite), and prints one Markdown row per quarter: CSV size, rows,
// campaigns, time to read and rank, peak heap, time to write, items.
//
//	go run ./bench/ingest -scale 10
//
// Run it inside the module (it finds dynalite in node_modules).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"banners/bench/internal/localdb"

	"banners/internal/banner"
	"banners/internal/csvload"
	"banners/internal/sample"
)

func main() {
	scale := flag.Int("scale", 10, "generate this many times the real data (at least 1)")
	flag.Parse()
	if flag.NArg() > 0 || *scale < 1 {
		fmt.Fprintln(os.Stderr, "ingest: -scale must be at least 1, and no arguments")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *scale, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// heapSampler records the largest HeapInuse seen, sampling every 10 ms.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done sync.WaitGroup
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > h.peak.Load() {
				h.peak.Store(m.HeapInuse)
			}
			select {
			case <-t.C:
			case <-h.stop:
				return
			}
		}
	})
	return h
}

// Stop ends sampling and returns the peak in bytes.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak.Load()
}

// run generates scale × the real data (50 × scale campaigns) into a
// temporary folder and loads each quarter into a table on dynalite,
// writing one Markdown row per quarter.
func run(ctx context.Context, scale int, stdout, stderr io.Writer) error {
	_, store, stopDB, err := localdb.Start(ctx, "banners")
	if err != nil {
		return err
	}
	defer stopDB()
	dir, err := os.MkdirTemp("", "banners-ingest-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	shape := sample.Shape{Campaigns: sample.Campaigns * scale, Scale: scale}
	if err := sample.WriteShape(dir, shape); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "generated %d× (%d campaigns) in %v\n", scale, shape.Campaigns, time.Since(t0).Round(time.Millisecond))
	fmt.Fprintln(stdout, "| scale | quarter | CSV MB | rows | campaigns | read + rank | peak heap | PutQuarter (dynalite) | items | total |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|")
	for q := banner.Quarter(1); q <= banner.Quarters; q++ {
		runtime.GC()
		h := startHeapSampler()
		start := time.Now()
		l := csvload.NewQuarter(q)
		var size int64
		for _, k := range csvload.Kinds {
			path := filepath.Join(dir, filepath.FromSlash(csvload.Path(k, q)))
			f, err := os.Open(path)
			if err != nil {
				h.Stop()
				return err
			}
			if fi, err := f.Stat(); err == nil {
				size += fi.Size()
			}
			err = l.Read(k, path, f)
			f.Close()
			if err != nil {
				h.Stop()
				return err
			}
		}
		campaigns := l.Campaigns()
		read := time.Since(start)
		peak := h.Stop()
		wstart := time.Now()
		st, err := store.PutQuarter(ctx, q, campaigns)
		if err != nil {
			return err
		}
		write := time.Since(wstart)
		fmt.Fprintf(stdout, "| %d× | %d | %.1f | %d | %d | %v | %.0f MiB | %v | %d | %v |\n",
			scale, q, float64(size)/1e6, l.Report.Accepted()+l.Report.Rejected(), len(campaigns),
			read.Round(time.Millisecond), float64(peak)/(1<<20), write.Round(time.Millisecond), st.Put,
			(read + write).Round(time.Millisecond))
	}
	return nil
}
