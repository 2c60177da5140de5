package site_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"banners/internal/banner"
	"banners/internal/httpapi"
	"banners/internal/images"
	"banners/internal/memory"
	"banners/internal/server"
	"banners/internal/testkit"
	"banners/site"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// waitTimeout bounds each wait for the server or the browser.
const waitTimeout = 30 * time.Second

// TestBrowser opens the visitor page in headless Chromium against the real
// local server, built from ./functions/api/local, and checks what a visitor sees.
func TestBrowser(t *testing.T) {
	if err := needChromium(); err != nil {
		t.Fatal(err)
	}

	baseURL := startServer(t)
	notFound := apiError(t, baseURL+"/api/campaigns/999999/banners", http.StatusNotFound)
	browser := startBrowser(t)

	tests := []struct {
		name       string
		path       string
		wantState  string
		wantReason string
		wantText   string // part of the text of #status
		wantList   bool
	}{
		{
			name:      "campaign with banners",
			path:      "/?cam-id=10",
			wantState: "ok",
			wantText:  "Showing",
			wantList:  true,
		},
		{
			name:       "unknown campaign",
			path:       "/?cam-id=999999",
			wantState:  "error",
			wantReason: "not-found",
			wantText:   notFound,
		},
		{
			name:       "invalid id",
			path:       "/?cam-id=abc",
			wantState:  "error",
			wantReason: "invalid-id",
			wantText:   "“abc” is not a valid campaign id",
		},
		{
			name:       "missing id",
			path:       "/",
			wantState:  "error",
			wantReason: "missing-id",
			wantText:   "?cam-id=10",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(browser, waitTimeout)
			defer cancel()
			ctx, cancel = chromedp.NewContext(ctx)
			defer cancel()

			err := chromedp.Do(ctx,
				chromedp.Navigate(baseURL+tc.path),
				chromedp.WaitReady(chromedp.CSS(`#status:not([data-state="loading"])`)),
			)
			require.NoError(t, err, "open %s", tc.path)

			got, err := chromedp.Run(ctx, chromedp.Evaluate[pageStatus](`(() => {
				const status = document.getElementById("status");
				return {
					state: status.dataset.state,
					reason: status.dataset.reason ?? "",
					text: status.textContent.replace(/\s+/g, " ").trim(),
					listShown: !document.getElementById("campaign").hidden,
				};
			})()`))
			require.NoError(t, err)
			require.Equal(t, tc.wantState, got.State, "data-state; #status says %q", got.Text)
			require.Equal(t, tc.wantReason, got.Reason, "data-reason")
			require.Contains(t, got.Text, tc.wantText)
			require.Equal(t, tc.wantList, got.ListShown, "banner list shown")

			if tc.wantList {
				checkBanners(ctx, t, "Campaign 10")
				saveScreenshot(ctx, t)
			}
		})
	}
}

// adTagLoads is how many times the publisher's page loads the ad tag.
const adTagLoads = 12

// TestAdTagOnAnotherSite opens a publisher's page on one site
// (https://news.test), then another's (https://blog.test), each loading our
// ad tag from a third site (https://ads.test) again and again, one <img>
// after the other, in headless Chromium that blocks third-party cookies.
// Our server records every ad-tag request: the banner the visitor's cookie
// named and the banner served. As served (Secure; SameSite=None;
// Partitioned) the cookie comes back on every next load and no banner is
// served twice in a row, and each publisher's page starts with a history of
// its own (the cookie is partitioned by top-level site). The other rows show
// what the test catches: a SameSite=Lax cookie (as served before) and an
// unpartitioned third-party cookie never come back.
func TestAdTagOnAnotherSite(t *testing.T) {
	if err := needChromium(); err != nil {
		t.Fatal(err)
	}
	browser := startBrowser(t,
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		// Block third-party cookies, as browsers increasingly do (this
		// Chromium already does by default; the last row shows it).
		chromedp.Flag("test-third-party-cookie-phaseout", true),
	)

	tests := []struct {
		name string
		// attributes replaces the cookie's attributes after its value, when
		// set: what another server would send.
		attributes   string
		wantReturned bool // the cookie comes back with the next load
	}{
		{"as served: partitioned", "", true},
		{"SameSite=Lax, as before", "; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax", false},
		{"third-party, not partitioned", "; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ads := startAdServer(t, tt.attributes)
			adTag := ads.url + "/campaigns/10?quarter=2"
			publishers := []string{startPublisher(t, "news.test", adTag), startPublisher(t, "blog.test", adTag)}

			ctx, cancel := context.WithTimeout(browser, waitTimeout)
			defer cancel()
			ctx, cancel = chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
			defer cancel()
			for _, page := range publishers {
				require.NoError(t, chromedp.Do(ctx,
					chromedp.Navigate(page),
					chromedp.WaitReady(chromedp.CSS(`body[data-done]`)),
				), "open %s", page)
				loaded, err := chromedp.Run(ctx, chromedp.Evaluate[int](
					`[...document.querySelectorAll("#ads img")].filter((img) => img.complete && img.naturalWidth > 0).length`))
				require.NoError(t, err)
				require.Equal(t, adTagLoads, loaded, "banners shown on %s", page)
			}

			got := ads.requests()
			require.Len(t, got, len(publishers)*adTagLoads)
			for i, r := range got {
				if tt.attributes == "" {
					require.Regexp(t, `^banner_last=\d+; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=None; Partitioned$`, r.setCookie)
				}
				page, load := publishers[i/adTagLoads], i%adTagLoads
				var want int64 // a page's first load has no history
				if tt.wantReturned && load > 0 {
					want = got[i-1].served
					require.NotEqual(t, want, r.served, "%s, load %d: banner %d twice in a row", page, load, r.served)
				}
				require.Equal(t, want, r.sent, "%s, load %d: the banner the cookie named", page, load)
			}
		})
	}
}

// adRequest is one ad-tag request as our server saw it.
type adRequest struct {
	sent      int64  // the banner the request's cookie named, 0 for none
	served    int64  // the banner the redirect pointed to
	setCookie string // the Set-Cookie header of the answer
}

// adServer is our server, over HTTPS on https://ads.test:<port>, recording
// the ad-tag requests.
type adServer struct {
	url string
	mu  sync.Mutex
	log []adRequest
}

func (s *adServer) requests() []adRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]adRequest(nil), s.log...)
}

var location = regexp.MustCompile(`/images/image_(\d+)\.png$`)

// startAdServer starts the local server's handler over HTTPS with campaign
// 10 holding three banners in quarter 2. With attributes set, it sends the
// cookie with those attributes instead of its own.
func startAdServer(t *testing.T, attributes string) *adServer {
	t.Helper()
	tally := banner.NewTally()
	for id := int64(101); id <= 103; id++ {
		tally.Revenue[id] = id
		tally.Banners[id] = struct{}{}
	}
	log := slog.New(slog.DiscardHandler)
	api := httpapi.New(memory.New([]banner.Campaign{tally.Campaign(banner.Key{CampaignID: 10, Quarter: 2})}), httpapi.Options{Logger: log})
	h := server.Handler(server.Config{API: api, Images: images.Placeholders{}, Site: site.FS, Logger: log})

	s := &adServer{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/campaigns/") {
			h.ServeHTTP(w, r)
			return
		}
		var req adRequest
		if c, err := r.Cookie(httpapi.CookieName); err == nil {
			req.sent, _ = strconv.ParseInt(c.Value, 10, 64)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if m := location.FindStringSubmatch(rec.Header().Get("Location")); m != nil {
			req.served, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if attributes != "" {
			if name, _, ok := strings.Cut(rec.Header().Get("Set-Cookie"), ";"); ok {
				rec.Header().Set("Set-Cookie", name+attributes)
			}
		}
		req.setCookie = rec.Header().Get("Set-Cookie")
		s.mu.Lock()
		s.log = append(s.log, req)
		s.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes()) //nolint:errcheck // the browser went away; the test fails on its own
	}))
	ts.StartTLS()
	t.Cleanup(ts.Close)
	s.url = "https://ads.test:" + port(t, ts.URL)
	return s
}

// startPublisher starts another site, https://<host>:<port>, whose page
// loads adTag adTagLoads times, each <img> once the one before it has
// loaded (a fresh query parameter each time, as ad tags carry, so that the
// browser does not reuse the image), then marks body[data-done].
func startPublisher(t *testing.T, host, adTag string) string {
	t.Helper()
	page := fmt.Sprintf(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>%s</title>
<h1>Today's news</h1>
<div id="ads"></div>
<script>
const tag = %q, loads = %d;
let n = 0;
function next() {
  if (n === loads) {
    document.body.dataset.done = "";
    return;
  }
  const img = new Image(300, 250);
  img.alt = "Advertisement";
  img.onload = img.onerror = next;
  img.src = tag + "&ord=" + n++;
  document.getElementById("ads").append(img);
}
next();
</script>
`, host, adTag, adTagLoads)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page)) //nolint:errcheck // the browser went away; the test fails on its own
	}))
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return "https://" + host + ":" + port(t, ts.URL) + "/"
}

// port returns the port of a URL.
func port(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Port()
}

// needChromium fails when headless Chromium is not where it is expected.
func needChromium() error {
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("headless Chromium is needed at %s: %v; `make test` installs Debian's chromium package when it can (apt-get install chromium)", chromiumPath, err)
	}
	return nil
}

// pageStatus is what the page shows in #status.
type pageStatus struct {
	State     string `json:"state"`
	Reason    string `json:"reason"`
	Text      string `json:"text"`
	ListShown bool   `json:"listShown"`
}

// bannerImage describes one img[data-banner-id] as the page sees it.
type bannerImage struct {
	ID           string `json:"id"`
	Alt          string `json:"alt"`
	Width        string `json:"width"`
	Height       string `json:"height"`
	Complete     bool   `json:"complete"`
	NaturalWidth int    `json:"naturalWidth"`
}

// checkBanners checks the heading and that 5 to 10 banner images loaded.
func checkBanners(ctx context.Context, t *testing.T, wantHeading string) {
	t.Helper()

	heading, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("campaign-heading")))
	require.NoError(t, err)
	require.Contains(t, heading, wantHeading)

	// Lazy images load only near the viewport, so scroll to each one that is
	// still loading until none is left.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const pending = [...document.querySelectorAll("#banners img[data-banner-id]")].filter((img) => !img.complete);
		if (pending.length > 0) {
			pending[0].scrollIntoView({ block: "center" });
			return false;
		}
		window.scrollTo(0, 0);
		return true;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	require.NoError(t, err, "wait for the banner images to load")

	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]bannerImage](`[...document.querySelectorAll("#banners > li > img[data-banner-id]")].map((img) => ({
		id: img.dataset.bannerId,
		alt: img.alt,
		width: img.getAttribute("width"),
		height: img.getAttribute("height"),
		complete: img.complete,
		naturalWidth: img.naturalWidth,
	}))`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(got), 5, "number of banners")
	require.LessOrEqual(t, len(got), 10, "number of banners")

	seen := make(map[string]bool)
	for _, img := range got {
		require.NotEmpty(t, img.ID)
		require.False(t, seen[img.ID], "banner %s shown twice", img.ID)
		seen[img.ID] = true
		require.Equal(t, "Banner "+img.ID, img.Alt)
		require.Equal(t, "300", img.Width, "width of banner %s", img.ID)
		require.Equal(t, "250", img.Height, "height of banner %s", img.ID)
		require.True(t, img.Complete && img.NaturalWidth > 0, "banner %s did not load: %+v", img.ID, img)
	}
}

// saveScreenshot saves the page as a PNG in $SITE_SCREENSHOT, or else in a
// temporary folder, for a person to look at.
func saveScreenshot(ctx context.Context, t *testing.T) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)

	path := os.Getenv("SITE_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "campaign.png")
	}
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// apiError calls the API at url, requires the status want and returns the
// message of the JSON error body.
func apiError(t *testing.T, url string, want int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, want, resp.StatusCode, "status of GET %s", url)

	var body struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.NotEmpty(t, body.Error, "error message of GET %s", url)
	return body.Error
}

// startServer builds ./functions/api/local, starts it on a free port of the
// loopback address and returns its base URL once the API answers. The server
// stops when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	bin := filepath.Join(t.TempDir(), "local")

	buildCtx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(buildCtx, "go", "build", "-o", bin, "banners/functions/api/local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build banners/functions/api/local: %v\n%s", err, out)
	}

	addr := freeAddr(t)
	var logs testkit.Buffer
	srv := exec.Command(bin, "-addr", addr)
	srv.Stdout = &logs
	srv.Stderr = &logs
	require.NoError(t, srv.Start(), "start the server")
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})

	baseURL := "http://" + addr
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for {
		if err := ping(ctx, baseURL+"/api/campaigns/1/banners"); err == nil {
			return baseURL
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("server stopped before it answered: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("server did not answer at %s within %s\n%s", baseURL, waitTimeout, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping reports whether the server answers GET url with any HTTP status.
func ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// moduleRoot returns the folder of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := testkit.ModuleRoot()
	require.NoError(t, err)
	return dir
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := testkit.FreePort()
	require.NoError(t, err)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// startBrowser starts headless Chromium with a fresh profile and the extra
// options, and returns a chromedp context for it. Each test opens its own
// tab from it. The browser stops when the test ends.
func startBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "site-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() { removeProfile(t, profile) })

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // we run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)

	// The first run starts the browser, which lives as long as ctx, so bound
	// the start from outside instead of with a timeout on ctx.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start %s", chromiumPath)
	case <-time.After(waitTimeout):
		cancelBrowser()
		t.Fatalf("%s did not start within %s", chromiumPath, waitTimeout)
	}
	return ctx
}

// removeProfile removes the browser profile. Child processes of Chromium can
// still write in it for a moment after the browser stops, so it tries again.
func removeProfile(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("remove browser profile %s: %v", dir, err)
}
