// Package testkit holds the helpers the tests share: a buffer safe for
// concurrent use, a settable clock, free loopback ports, the module root,
// local servers started as processes (dynalite) and the real dataset's
// folder. It does not import package testing (see TB), so the measuring
// commands under bench/ use it too.
package testkit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ModuleRoot returns the directory holding go.mod, walking up from the
// working directory (a test's package directory, or wherever a command
// runs inside the module).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
