// Package server runs Banners locally: the site, the banner images and the
// API (the handler the Lambda runs, wired by NewLocal) on one address, with
// an access log, timeouts and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"banners/internal/accesslog"
)

// Config says what to serve and where.
type Config struct {
	// API answers /api/ and /campaigns/.
	API http.Handler
	// Images answers /images/.
	Images http.Handler
	// Site holds index.html and its assets, served at /.
	Site fs.FS
	// AccessLog gets one JSON line per request; nil: no access log.
	AccessLog io.Writer
	// Logger gets the server's other lines. Default slog.Default().
	Logger *slog.Logger
	// ReadHeaderTimeout bounds a client's request headers (slowloris). Default 5 s.
	ReadHeaderTimeout time.Duration
}

// Handler routes a request to the API, the images or the site, logging it
// to cfg.AccessLog.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", cfg.API)
	mux.Handle("/campaigns/", cfg.API)
	mux.Handle("/images/", cfg.Images)
	mux.Handle("/", http.FileServerFS(cfg.Site))
	return accesslog.Handler(mux, cfg.AccessLog, nil)
}

// Run serves on ln, with timeouts that bound slow clients, until ctx is
// done, then shuts down gracefully (at most 10 s for in-flight requests).
func Run(ctx context.Context, cfg Config, ln net.Listener) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	headerTimeout := cfg.ReadHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = 5 * time.Second
	}
	srv := &http.Server{
		Handler:           Handler(cfg),
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "url", "http://"+ln.Addr().String()+"/?cam-id=10")
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
