package testkit

import "context"

// TB is the part of testing.TB the helpers here and in lambdatest use.
// Taking it instead of testing.TB keeps package testing out of these
// packages, so the measuring commands under bench/ can use their process
// helpers without linking it; every *testing.T and *testing.B is one.
type TB interface {
	Helper()
	Context() context.Context
	TempDir() string
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}
