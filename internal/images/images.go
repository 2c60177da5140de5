// Package images serves banner images at /images/image_<id>.png: generated
// SVG placeholders by default, or real files from a folder.
package images

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Placeholders serves a generated 300×250 SVG banner showing the banner ID,
// whatever the ID. The URL keeps the real assets' ".png" names; the
// Content-Type says what the body is.
type Placeholders struct{}

// ServeHTTP answers GET /images/image_<id>.png.
func (Placeholders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := bannerID(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", PlaceholderType)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(Placeholder(id)))
}

// PlaceholderType is the Content-Type of a placeholder.
const PlaceholderType = "image/svg+xml"

// Placeholder returns the SVG placeholder banner for id.
func Placeholder(id int64) []byte {
	hue := (id * 47) % 360
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="250" viewBox="0 0 300 250">`+
		`<rect width="300" height="250" fill="hsl(%d,55%%,45%%)"/>`+
		`<rect x="10" y="10" width="280" height="230" fill="none" stroke="#fff" stroke-opacity=".5" stroke-width="2"/>`+
		`<text x="150" y="118" font-family="sans-serif" font-size="56" font-weight="bold" fill="#fff" text-anchor="middle">%d</text>`+
		`<text x="150" y="168" font-family="sans-serif" font-size="18" fill="#fff" text-anchor="middle">banner</text></svg>`, hue, id)
}

// WritePlaceholders writes the placeholder of each banner in ids into dir
// as image_<id>.png, the names the API's image URLs use, for deploying
// where no real images are given.
func WritePlaceholders(dir string, ids []int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, id := range ids {
		name := filepath.Join(dir, "image_"+strconv.FormatInt(id, 10)+".png")
		if err := os.WriteFile(name, Placeholder(id), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Dir serves image_<id>.png files from a folder, with the Content-Type
// sniffed from their bytes (the assignment's .png files hold JPEG data).
type Dir string

// ServeHTTP answers GET /images/image_<id>.png from the folder.
func (d Dir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := bannerID(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(string(d), "image_"+strconv.FormatInt(id, 10)+".png"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		http.Error(w, "cannot read image", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(head[:n]))
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// bannerID parses "/images/image_<id>.png".
func bannerID(path string) (int64, bool) {
	name, ok := strings.CutPrefix(path, "/images/image_")
	if !ok {
		return 0, false
	}
	name, ok = strings.CutSuffix(name, ".png")
	if !ok || name == "" || len(name) > 18 || strings.TrimLeft(name, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(name, 10, 64)
	return id, err == nil && id > 0
}
