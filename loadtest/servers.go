package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"banners/internal/server"
)

// running is a server started in-process on a free loopback port.
type running struct {
	URL  string
	stop func() error
}

// Stop shuts the server down and waits for it.
func (r *running) Stop() error { return r.stop() }

// startLocal runs the local server (internal/server) on a free loopback port.
func startLocal(cfg server.Config) (*running, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.Addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- server.Run(ctx, cfg, ln) }()
	return &running{
		URL: "http://" + cfg.Addr,
		stop: func() error {
			cancel()
			return <-errc
		},
	}, nil
}

func bannersPath(k key) string {
	return "/api/campaigns/" + strconv.FormatInt(k.Campaign, 10) + "/banners?quarter=" + strconv.Itoa(k.Quarter)
}

// probe asks target once for every key: every key must answer 200, and it
// learns which keys serve a single banner (the ad tag may repeat those).
func probe(ctx context.Context, client *http.Client, base string, keys []key) (map[key]bool, error) {
	single := map[key]bool{}
	for _, k := range keys {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+bannersPath(k), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("probe: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("probe: campaign %d quarter %d answered %d; choose -campaigns that exist", k.Campaign, k.Quarter, resp.StatusCode)
		}
		var got bannersAnswer
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, fmt.Errorf("probe: campaign %d quarter %d: %w", k.Campaign, k.Quarter, err)
		}
		if len(got.Banners) == 1 {
			single[k] = true
		}
	}
	return single, nil
}
