package testkit

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// StartProcess starts cmd and waits until addr accepts TCP connections. It
// returns the function that kills the process and waits for it to exit
// (calling it again does nothing). When the process exits first, or
// nothing listens on addr within timeout, the process is stopped and the
// error says which.
func StartProcess(cmd *exec.Cmd, addr string, timeout time.Duration) (stop func(), err error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = sync.OnceFunc(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return stop, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%s exited before listening on %s", filepath.Base(cmd.Path), addr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("nothing listening on %s after %s", addr, timeout)
		}
	}
}

// DynaliteCommand returns the command that runs dynalite from root's
// node_modules on 127.0.0.1:port, creating, updating and deleting tables
// at once.
func DynaliteCommand(root string, port int) (*exec.Cmd, error) {
	bin := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("dynalite not found (run `npm ci` at the module root): %w", err)
	}
	return exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"), nil
}

// StartDynalite runs dynalite (DynaliteCommand) on a free loopback port,
// its output to logs (nil: discarded), waits until it listens and returns
// its URL and the function that stops it.
func StartDynalite(root string, logs io.Writer) (url string, stop func(), err error) {
	port, err := FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd, err := DynaliteCommand(root, port)
	if err != nil {
		return "", nil, err
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if stop, err = StartProcess(cmd, addr, 30*time.Second); err != nil {
		return "", nil, fmt.Errorf("dynalite: %w", err)
	}
	return "http://" + addr, stop, nil
}
