package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// jsonAnswer builds a 200 answer listing ids for campaign 10, quarter 2,
// with the cookie naming the first.
func jsonAnswer(ids ...int64) answer {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf(`{"id":%d,"image_url":"/images/image_%d.png"}`, id, id)
	}
	a := body(`{"campaign_id":10,"quarter":2,"banners":[` + strings.Join(parts, ",") + "]}\n")
	if len(ids) > 0 {
		a.Header.Set("Set-Cookie", "banner_last="+strconv.FormatInt(ids[0], 10)+"; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax")
	}
	return a
}

func body(s string) answer {
	return answer{Code: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(s)}
}

func redirectAnswer(loc, cookie string) answer {
	h := http.Header{"Location": {loc}}
	if cookie != "" {
		h.Set("Set-Cookie", cookie)
	}
	return answer{Code: http.StatusFound, Header: h}
}

func TestCheck(t *testing.T) {
	api := request{Campaign: 10, Quarter: 2, Last: 7}
	tag := request{Redirect: true, Campaign: 10, Quarter: 2, Last: 7}
	noCookie := jsonAnswer(1, 2, 3, 4, 5)
	noCookie.Header.Del("Set-Cookie")
	tests := []struct {
		name       string
		req        request
		ans        answer
		wantServed int64
		wantKind   string // "" for a good answer
	}{
		{"good answer", api, jsonAnswer(3, 1, 2, 4, 5), 3, ""},
		{"good answer, ten banners", api, jsonAnswer(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 1, ""},
		{"last banner later in the list is fine", api, jsonAnswer(1, 7, 2, 3, 4), 1, ""},
		{"single banner may repeat", api, jsonAnswer(7), 7, ""},
		{"wrong count, none", api, jsonAnswer(), 0, badCount},
		{"wrong count, eleven", api, jsonAnswer(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0, badCount},
		{"duplicate ids", api, jsonAnswer(1, 2, 3, 2, 5), 0, duplicateID},
		{"repeat of last banner", api, jsonAnswer(7, 1, 2, 3, 4), 0, repeatLast},
		{"bad JSON", api, body(`{"campaign_id":10,"quarter":2,"banners":[`), 0, badJSON},
		{"not JSON", api, body(`<html>`), 0, badJSON},
		{"unknown field", api, body(`{"campaign_id":10,"quarter":2,"banners":[],"x":1}`), 0, badJSON},
		{"banners missing", api, body(`{"campaign_id":10,"quarter":2}`), 0, badJSON},
		{"id missing", api, body(`{"campaign_id":10,"quarter":2,"banners":[{"image_url":"/images/image_1.png"}]}`), 0, badJSON},
		{"trailing data", api, body(`{"campaign_id":10,"quarter":2,"banners":[{"id":1,"image_url":"/images/image_1.png"}]}{}`), 0, badJSON},
		{"bad status", api, answer{Code: http.StatusNotFound, Header: http.Header{}, Body: []byte(`{"error":"not found"}`)}, 0, badStatus},
		{"bad status, 500", api, answer{Code: http.StatusInternalServerError, Header: http.Header{}}, 0, badStatus},
		{"other campaign", request{Campaign: 11, Quarter: 2}, jsonAnswer(1, 2, 3, 4, 5), 0, badEcho},
		{"other quarter", request{Campaign: 10, Quarter: 3}, jsonAnswer(1, 2, 3, 4, 5), 0, badEcho},
		{"bad image_url", api, body(`{"campaign_id":10,"quarter":2,"banners":[{"id":1,"image_url":"/images/image_2.png"}]}`), 0, badImageURL},
		{"no cookie", api, noCookie, 0, badCookie},
		{"cookie names another banner", api, func() answer { a := jsonAnswer(1, 2, 3, 4, 5); a.Header.Set("Set-Cookie", "banner_last=2"); return a }(), 0, badCookie},

		{"good redirect", tag, redirectAnswer("/images/image_12.png", "banner_last=12; Path=/"), 12, ""},
		{"redirect, bad status", tag, answer{Code: http.StatusOK, Header: http.Header{}}, 0, badStatus},
		{"redirect, bad Location", tag, redirectAnswer("/images/12.png", "banner_last=12"), 0, badLocation},
		{"redirect, Location not a number", tag, redirectAnswer("/images/image_x.png", "banner_last=12"), 0, badLocation},
		{"redirect, repeat of last banner", tag, redirectAnswer("/images/image_7.png", "banner_last=7"), 0, repeatLast},
		{"redirect, single banner may repeat", request{Redirect: true, Campaign: 56, Quarter: 1, Last: 7, Single: true}, redirectAnswer("/images/image_7.png", "banner_last=7"), 7, ""},
		{"redirect, cookie names another banner", tag, redirectAnswer("/images/image_12.png", "banner_last=13"), 0, badCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served, bad := check(tt.req, tt.ans)
			if tt.wantKind == "" {
				require.Nil(t, bad)
				require.Equal(t, tt.wantServed, served)
				return
			}
			require.NotNil(t, bad, "want a %s violation", tt.wantKind)
			require.Equal(t, tt.wantKind, bad.Kind, "violation %v", bad)
		})
	}
}

func TestVisitorsKeepTheirCookie(t *testing.T) {
	v := newVisitors("http://127.0.0.1:1/", []key{{Campaign: 10, Quarter: 2}}, nil, 1, 0)
	tr := v.targeter()

	var tgt vegeta.Target
	require.NoError(t, tr(&tgt))
	require.Equal(t, "http://127.0.0.1:1/api/campaigns/10/banners?quarter=2&v=0", tgt.URL)
	require.Empty(t, tgt.Header.Get("Cookie"), "a new visitor has no cookie")
	require.Equal(t, 0, v.visitorOf(tgt.URL))
	require.Nil(t, v.done(0, &answer{Code: http.StatusOK, Header: jsonAnswer(4, 5, 6, 7, 8).Header, Body: jsonAnswer(4, 5, 6, 7, 8).Body}))

	require.NoError(t, tr(&tgt))
	require.Equal(t, "banner_last=4", tgt.Header.Get("Cookie"))
	bad := v.done(0, &answer{Code: http.StatusOK, Header: jsonAnswer(4, 5, 6, 7, 8).Header, Body: jsonAnswer(4, 5, 6, 7, 8).Body})
	require.NotNil(t, bad)
	require.Equal(t, repeatLast, bad.Kind)

	// A transport error keeps the cookie.
	require.NoError(t, tr(&tgt))
	require.Nil(t, v.done(0, nil))
	require.NoError(t, tr(&tgt))
	require.Equal(t, "banner_last=4", tgt.Header.Get("Cookie"))
	require.Equal(t, -1, v.visitorOf("http://x/api/campaigns/1/banners?quarter=1"))
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in       string
		freq     int
		per      string
		wantFail bool
	}{
		{in: "5000/1m", freq: 5000, per: "1m0s"},
		{in: "5000/m", freq: 5000, per: "1m0s"},
		{in: "200/s", freq: 200, per: "1s"},
		{in: "4000", freq: 4000, per: "1s"},
		{in: "10/100ms", freq: 10, per: "100ms"},
		{in: "0/s", wantFail: true},
		{in: "x", wantFail: true},
		{in: "10/lightyear", wantFail: true},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if tt.wantFail {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.freq, got.Freq, tt.in)
		require.Equal(t, tt.per, got.Per.String(), tt.in)
	}
}

func TestParseRanges(t *testing.T) {
	got, err := parseRanges("1-3,7, 2,9-9", 1, 50)
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 3, 7, 9}, got)
	for _, bad := range []string{"", "0-3", "3-1", "1-51", "a", "1-b"} {
		_, err := parseRanges(bad, 1, 50)
		require.Error(t, err, bad)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-self"}, new(strings.Builder))
	require.NoError(t, err)
	require.Equal(t, 5000, cfg.Rate.Freq, "the assignment's 5,000 a minute by default")
	require.Len(t, cfg.Campaigns, 50)
	require.Len(t, cfg.Quarters, 4)
	require.False(t, cfg.closedLoop())

	cfg, err = parseFlags([]string{"-target", "http://127.0.0.1:8080/", "-workers", "8"}, new(strings.Builder))
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:8080", cfg.Target)
	require.True(t, cfg.closedLoop())

	for _, args := range [][]string{
		{},
		{"-self", "-target", "http://x"},
		{"-target", "ftp://x"},
		{"-self", "-workers", "2000"},
		{"-self", "-access-log", "maybe"},
		{"-self", "-mix", "2"},
	} {
		_, err := parseFlags(args, new(strings.Builder))
		require.Error(t, err, "%q", args)
	}
}
