package testkit

import (
	"os"
	"path/filepath"
)

// RealData returns the real dataset's root folder, the one holding csv/ and
// images/: $BANNERS_DATA, or ../shared/datachef beside the module root. The
// dataset is not in the repository, so when the folder is absent the test is
// skipped with a message naming it, except when CI is set: there it fails,
// so CI never skips the real-data tests silently.
func RealData(t TB) string {
	t.Helper()
	dir := os.Getenv("BANNERS_DATA")
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "datachef")
	}
	for _, sub := range []string{"csv", "images"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			const msg = "the real dataset is not in %s (no %s/ folder); set BANNERS_DATA to the folder holding csv/ and images/"
			if os.Getenv("CI") != "" {
				t.Fatalf(msg, dir, sub)
			}
			t.Skipf(msg, dir, sub)
		}
	}
	return dir
}
