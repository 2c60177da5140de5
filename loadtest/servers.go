package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing/fstest"
	"time"

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

// startBaseline runs the smallest Go HTTP server that answers like ours:
// a constant JSON body and headers of the same size as a real answer, and a
// constant 302 for the ad tag. It is the ceiling for this machine, this
// generator and net/http. With timeouts, its http.Server has the local
// server's settings (timeouts, header limit), so that the comparison
// isolates what the local server's handlers cost.
func startBaseline(c canned, timeouts bool) (*running, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	jsonHeader := http.Header{
		"Content-Type":   {"application/json"},
		"Content-Length": {strconv.Itoa(len(c.Body))},
		"Cache-Control":  {"no-store"},
		"Set-Cookie":     {c.JSONCookie},
	}
	redirectHeader := http.Header{
		"Cache-Control": {"no-store"},
		"Set-Cookie":    {c.RedirectCookie},
		"Location":      {c.Location},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		if len(r.URL.Path) > 4 && r.URL.Path[:5] == "/api/" {
			for k, v := range jsonHeader {
				hdr[k] = v
			}
			w.WriteHeader(http.StatusOK)
			w.Write(c.Body) //nolint:errcheck // load test server
			return
		}
		for k, v := range redirectHeader {
			hdr[k] = v
		}
		w.WriteHeader(http.StatusFound)
	})
	srv := &http.Server{Handler: h}
	if timeouts {
		srv = server.New(server.Config{API: h, Images: h, Site: fstest.MapFS{}})
		srv.Handler = h
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	return &running{
		URL: "http://" + ln.Addr().String(),
		stop: func() error {
			err := srv.Shutdown(context.Background())
			if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
				return serr
			}
			return err
		},
	}, nil
}

// cannedFromTarget builds the baseline's answer from our handler when it
// runs in-process, else from the target's answers.
func cannedFromTarget(ctx context.Context, api http.Handler, url string, keys []key) (canned, error) {
	if api == nil {
		api = proxyHandler(ctx, url)
	}
	return cannedAnswer(api, keys)
}

// proxyHandler forwards a request to base and copies the answer back, so
// cannedAnswer can read a remote target like a local handler.
func proxyHandler(ctx context.Context, base string) http.Handler {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+r.URL.RequestURI(), nil)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body) //nolint:errcheck // the recorder never fails
	})
}

// canned is a real answer of median size, replayed by the baseline.
type canned struct {
	Body           []byte
	JSONCookie     string
	Location       string
	RedirectCookie string
}

// cannedAnswer asks the real handler once for every key and keeps the
// answer of median body size, so the baseline sends as many bytes as we do.
func cannedAnswer(api http.Handler, keys []key) (canned, error) {
	type sized struct {
		body   []byte
		cookie string
	}
	var all []sized
	for _, k := range keys {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(http.MethodGet, bannersPath(k), nil))
		if w.Code != http.StatusOK {
			continue
		}
		all = append(all, sized{w.Body.Bytes(), w.Header().Get("Set-Cookie")})
	}
	if len(all) == 0 {
		return canned{}, errors.New("no campaign answered 200")
	}
	slices.SortFunc(all, func(a, b sized) int { return len(a.body) - len(b.body) })
	mid := all[len(all)/2]
	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/campaigns/"+strconv.FormatInt(keys[0].Campaign, 10)+"?quarter="+strconv.Itoa(keys[0].Quarter), nil))
	if w.Code != http.StatusFound {
		return canned{}, fmt.Errorf("ad tag answered %d", w.Code)
	}
	return canned{
		Body:           mid.body,
		JSONCookie:     mid.cookie,
		Location:       w.Header().Get("Location"),
		RedirectCookie: w.Header().Get("Set-Cookie"),
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
