package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// visitors is a pool of simulated visitors, each with its own last-banner
// cookie. A visitor has at most one request in flight: the targeter leases
// it, the result loop returns it after reading the answer, so every answer
// is checked against the cookie that was actually sent.
type visitors struct {
	base      string // "http://host:port", no trailing slash
	keys      []key
	single    map[key]bool // campaign-quarters that serve only one banner
	redirects float64      // share of requests to the ad tag

	state []visitorState
	free  chan int
}

// key is one campaign in one quarter.
type key struct {
	Campaign int64
	Quarter  int
}

// path is k's JSON API path or, with redirect, its ad tag's.
func (k key) path(redirect bool) string {
	if redirect {
		return fmt.Sprintf("/campaigns/%d?quarter=%d", k.Campaign, k.Quarter)
	}
	return fmt.Sprintf("/api/campaigns/%d/banners?quarter=%d", k.Campaign, k.Quarter)
}

type visitorState struct {
	last int64   // the banner the cookie names, 0 before the first answer
	sent request // what the request in flight asked for
}

func newVisitors(base string, keys []key, single map[key]bool, n int, redirects float64) *visitors {
	v := &visitors{
		base:      strings.TrimSuffix(base, "/"),
		keys:      keys,
		single:    single,
		redirects: redirects,
		state:     make([]visitorState, n),
		free:      make(chan int, n),
	}
	for i := range n {
		v.free <- i
	}
	return v
}

// targeter returns a vegeta.Targeter that leases a free visitor and asks
// for a random campaign and quarter on a random endpoint, with the
// visitor's cookie. It blocks while every visitor has a request in flight.
func (v *visitors) targeter() vegeta.Targeter {
	return func(t *vegeta.Target) error {
		i := <-v.free
		s := &v.state[i]
		k := v.keys[rand.IntN(len(v.keys))]
		s.sent = request{
			Redirect: rand.Float64() < v.redirects,
			Campaign: k.Campaign,
			Quarter:  k.Quarter,
			Last:     s.last,
			Single:   v.single[k],
		}
		t.Method = http.MethodGet
		// The API ignores unknown parameters; v= tells the result loop
		// whose answer it reads.
		t.URL = v.base + k.path(s.sent.Redirect) + "&v=" + strconv.Itoa(i)
		t.Header = nil
		if s.last != 0 {
			t.Header = http.Header{"Cookie": {cookieName + "=" + strconv.FormatInt(s.last, 10)}}
		}
		return nil
	}
}

// visitorOf returns the visitor a result's URL names, or -1.
func (v *visitors) visitorOf(url string) int {
	i := strings.LastIndex(url, "&v=")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(url[i+len("&v="):])
	if err != nil || n < 0 || n >= len(v.state) {
		return -1
	}
	return n
}

// done checks the answer to visitor i's request, remembers the served banner
// as its cookie (from Set-Cookie) and frees the visitor. A transport error (a nil answer)
// leaves the cookie as it was.
func (v *visitors) done(i int, a *answer) *violation {
	s := &v.state[i]
	var bad *violation
	if a != nil {
		_, bad = check(s.sent, *a)
		// Like a browser, keep what Set-Cookie said, right or wrong.
		if id, ok := setCookie(a.Header); ok {
			s.last = id
		}
	}
	v.free <- i
	return bad
}
