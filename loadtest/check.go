package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"banners/internal/banner"
)

// cookieName is the cookie the API uses to remember a visitor's last banner.
const cookieName = "banner_last"

// Violation kinds, the keys of the wrong-answer counts in the report.
const (
	badStatus   = "status"    // not 200 for the JSON API, not 302 for the ad tag
	badJSON     = "json"      // body is not the documented JSON shape
	badEcho     = "echo"      // campaign_id or quarter differ from the request
	badCount    = "count"     // not 1 to 10 banners
	badImageURL = "image_url" // image_url is not /images/image_<id>.png
	duplicateID = "duplicate" // a banner appears twice in one answer
	repeatLast  = "repeat"    // first banner equals the visitor's previous banner
	badLocation = "location"  // the redirect's Location is not /images/image_<id>.png
	badCookie   = "cookie"    // Set-Cookie missing or not naming the served banner
)

// request is what the checker needs to know about the request an answer
// belongs to.
type request struct {
	Redirect bool // GET /campaigns/{id}, not the JSON API
	Campaign int64
	Quarter  int
	Last     int64 // the banner the visitor's cookie named, 0 for none
	Single   bool  // the campaign serves one banner this quarter: the ad tag may repeat it
}

// answer is the part of a response the checker reads.
type answer struct {
	Code   int
	Header http.Header
	Body   []byte
}

// violation is a wrong answer: Kind is one of the constants above.
type violation struct {
	Kind   string
	Detail string
}

func (v *violation) Error() string { return v.Kind + ": " + v.Detail }

func wrong(kind, format string, args ...any) *violation {
	return &violation{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// bannersAnswer is the JSON API's answer. Pointers tell a missing field from
// a zero one.
type bannersAnswer struct {
	CampaignID *int64 `json:"campaign_id"`
	Quarter    *int   `json:"quarter"`
	Banners    []struct {
		ID       *int64  `json:"id"`
		ImageURL *string `json:"image_url"`
	} `json:"banners"`
}

// check verifies one answer. It returns the banner the visitor was served
// (the one to remember as its cookie) and nil, or a violation. The caller
// checks transport errors before; check sees only complete HTTP answers.
func check(req request, a answer) (served int64, v *violation) {
	if req.Redirect {
		return checkRedirect(req, a)
	}
	if a.Code != http.StatusOK {
		return 0, wrong(badStatus, "got %d, want 200", a.Code)
	}
	var got bannersAnswer
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		return 0, wrong(badJSON, "%v", err)
	}
	if dec.More() {
		return 0, wrong(badJSON, "trailing data after the object")
	}
	if got.CampaignID == nil || got.Quarter == nil || got.Banners == nil {
		return 0, wrong(badJSON, "campaign_id, quarter or banners missing")
	}
	if n := len(got.Banners); n < 1 || n > banner.MaxBanners {
		return 0, wrong(badCount, "%d banners, want 1 to %d", n, banner.MaxBanners)
	}
	seen := make(map[int64]bool, len(got.Banners))
	for i, b := range got.Banners {
		if b.ID == nil || b.ImageURL == nil || *b.ID <= 0 {
			return 0, wrong(badJSON, "banner %d: id or image_url missing or id not positive", i)
		}
		if seen[*b.ID] {
			return 0, wrong(duplicateID, "banner %d listed twice", *b.ID)
		}
		seen[*b.ID] = true
		if *b.ImageURL != imagePath(*b.ID) {
			return 0, wrong(badImageURL, "banner %d: image_url %q", *b.ID, *b.ImageURL)
		}
	}
	first := *got.Banners[0].ID
	if *got.CampaignID != req.Campaign || *got.Quarter != req.Quarter {
		return 0, wrong(badEcho, "campaign %d quarter %d, asked for %d quarter %d", *got.CampaignID, *got.Quarter, req.Campaign, req.Quarter)
	}
	if len(got.Banners) > 1 && first == req.Last {
		return 0, wrong(repeatLast, "first banner %d is the visitor's previous banner", first)
	}
	if err := checkCookie(a.Header, first); err != nil {
		return 0, err
	}
	return first, nil
}

// checkRedirect verifies an ad-tag answer: a 302 to one banner's image.
func checkRedirect(req request, a answer) (int64, *violation) {
	if a.Code != http.StatusFound {
		return 0, wrong(badStatus, "got %d, want 302", a.Code)
	}
	loc := a.Header.Get("Location")
	rest, ok := strings.CutPrefix(loc, "/images/image_")
	if ok {
		rest, ok = strings.CutSuffix(rest, ".png")
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if !ok || err != nil || id <= 0 {
		return 0, wrong(badLocation, "Location %q", loc)
	}
	if id == req.Last && !req.Single {
		return 0, wrong(repeatLast, "redirect to banner %d, the visitor's previous banner", id)
	}
	if err := checkCookie(a.Header, id); err != nil {
		return 0, err
	}
	return id, nil
}

// checkCookie verifies that Set-Cookie names the served banner.
func checkCookie(h http.Header, served int64) *violation {
	id, ok := setCookie(h)
	if !ok {
		return wrong(badCookie, "no valid %s cookie", cookieName)
	}
	if id != served {
		return wrong(badCookie, "cookie names banner %d, served %d", id, served)
	}
	return nil
}

// setCookie returns the banner the answer's last-banner cookie names.
func setCookie(h http.Header) (int64, bool) {
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != cookieName {
			continue
		}
		id, err := strconv.ParseInt(c.Value, 10, 64)
		return id, err == nil && id > 0
	}
	return 0, false
}

func imagePath(id int64) string { return "/images/image_" + strconv.FormatInt(id, 10) + ".png" }
