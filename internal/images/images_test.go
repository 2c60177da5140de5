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
)

func TestImages(t *testing.T) {
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
		{"real JPEG bytes named .png", images.Dir("../../../shared/datachef/images"), "/images/image_100.png", 200, "image/jpeg", "\xff\xd8\xff"},
		{"real, missing", images.Dir("../../../shared/datachef/images"), "/images/image_9999.png", 404, "", ""},
		{"real, not a banner name", images.Dir("../../../shared/datachef/images"), "/images/image_100.png.bak", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			require.Equal(t, tt.wantStatus, rec.Code)
			if tt.wantStatus == 200 {
				require.Equal(t, tt.wantType, rec.Header().Get("Content-Type"))
				require.True(t, strings.Contains(rec.Body.String(), tt.wantContain))
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
