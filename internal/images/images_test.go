package images_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"banners/internal/images"
	"banners/internal/testkit"
)

func TestImages(t *testing.T) {
	// A folder like the real assets: JPEG bytes under .png names, and a
	// file beside them that is not a banner image.
	dir := t.TempDir()
	jpeg := "\xff\xd8\xff\xe0\x00\x10JFIF\x00"
	for name, body := range map[string]string{"image_100.png": jpeg, "image_100.png.bak": jpeg, "notes.txt": "x"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	tests := []struct {
		name        string
		h           http.Handler
		path        string
		wantStatus  int
		wantType    string
		wantContain string
	}{
		{"placeholder", images.Placeholders{}, "/images/image_123.png", 200, "image/svg+xml", ">123</text>"},
		{"placeholder, bad id", images.Placeholders{}, "/images/image_x.png", 404, "", ""},
		{"placeholder, traversal", images.Placeholders{}, "/images/../etc/passwd", 404, "", ""},
		{"JPEG bytes named .png", images.Dir(dir), "/images/image_100.png", 200, "image/jpeg", "\xff\xd8\xff"},
		{"missing", images.Dir(dir), "/images/image_9999.png", 404, "", ""},
		{"present, not a banner name", images.Dir(dir), "/images/image_100.png.bak", 404, "", ""},
		{"present, other file", images.Dir(dir), "/images/notes.txt", 404, "", ""},
		{"traversal", images.Dir(dir), "/images/../images/image_100.png", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			require.Equal(t, tt.wantStatus, rec.Code)
			if tt.wantStatus == http.StatusOK {
				require.Equal(t, tt.wantType, rec.Header().Get("Content-Type"))
				require.Contains(t, rec.Body.String(), tt.wantContain)
			}
		})
	}
}

func TestWritePlaceholders(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, images.WritePlaceholders(dir, []int64{100, 500}))
	for _, id := range []string{"100", "500"} {
		got, err := os.ReadFile(filepath.Join(dir, "image_"+id+".png"))
		require.NoError(t, err)
		require.Contains(t, string(got), ">"+id+"</text>")
		require.True(t, strings.HasPrefix(string(got), "<svg "), "an SVG document")
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
}

// TestRealImages serves the real assets: JPEG bytes under .png names.
func TestRealImages(t *testing.T) {
	h := images.Dir(filepath.Join(testkit.RealData(t), "images"))
	for path, want := range map[string]int{
		"/images/image_100.png":  http.StatusOK,
		"/images/image_9999.png": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		require.Equal(t, want, rec.Code, path)
		if want == http.StatusOK {
			require.Equal(t, "image/jpeg", rec.Header().Get("Content-Type"), path)
			require.True(t, strings.HasPrefix(rec.Body.String(), "\xff\xd8\xff"), "JPEG bytes")
		}
	}
}
