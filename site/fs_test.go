package site_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"banners/site"
)

// TestFS checks that the embedded page links its parts with relative URLs,
// which work both on the local server and behind CloudFront.
func TestFS(t *testing.T) {
	tests := []struct {
		file    string
		want    []string // must appear
		notWant []string // must not appear
	}{
		{
			file:    "index.html",
			want:    []string{`src="app.js"`, `href="style.css"`, `id="status"`, `data-state="loading"`, `id="banners"`, "<noscript>"},
			notWant: []string{`src="/`, `href="/`},
		},
		{
			file:    "app.js",
			want:    []string{"`api/campaigns/"},
			notWant: []string{"'/api/", "`/api/", `"/api/`},
		},
		{
			file: "style.css",
			want: []string{"#banners", "#status"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := fs.ReadFile(site.FS, tc.file)
			require.NoError(t, err)
			got := string(b)
			for _, w := range tc.want {
				require.True(t, strings.Contains(got, w), "%s lacks %q", tc.file, w)
			}
			for _, w := range tc.notWant {
				require.False(t, strings.Contains(got, w), "%s has %q", tc.file, w)
			}
		})
	}
}
