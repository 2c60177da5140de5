// Package lambdatest runs a Go Lambda function locally under the AWS Lambda
// Runtime Interface Emulator (RIE), for end-to-end tests of its main.
//
// Usage:
//
//	bootstrap := lambdatest.Build(t, ".")             // the package under test
//	fn := lambdatest.Start(t, bootstrap, "TABLE_NAME=items")
//	out, err := fn.Invoke(ctx, eventJSON)
//
// The RIE is built once per test process into the Go build cache from the
// module's go.mod tool directive; the function's logs are in Function.Logs.
//
// The RIE does not pass X-Ray trace headers on to the function, so traced
// code runs with an unsampled facade segment.
//
// The package takes testkit.TB, not testing.TB, and does not link package
// testing: bench/coldstart builds and runs functions with BuildTo and
// RunEnv.
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"banners/internal/testkit"
)

// riePackage is the RIE's main package, a tool in go.mod.
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Build compiles the Lambda function in pkg (a package path, or a
// directory relative to the test's) into a file named bootstrap in a
// temporary directory and returns its path. It fails t if the build fails.
func Build(t testkit.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	if err := BuildTo(out, pkg, false); err != nil {
		t.Fatal(err)
	}
	return out
}

// BuildTo compiles the Lambda function in pkg for the host into the file
// out, as Lambda runs it: CGO_ENABLED=0, -tags lambda.norpc. A release
// build is also stripped as the deploy does (-trimpath -ldflags='-s -w'),
// so its size and start-up are the deployed binary's.
func BuildTo(out, pkg string, release bool) error {
	args := []string{"build", "-tags", "lambda.norpc"}
	if release {
		args = append(args, "-trimpath", "-ldflags=-s -w")
	}
	cmd := exec.Command("go", append(args, "-o", out, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// rie builds the emulator once per process into the Go build cache (as
// `go tool` does) and returns its path there: no file is left behind, and
// later processes find it built.
var rie = sync.OnceValues(func() (string, error) {
	cmd := exec.Command("go", "tool", "-n", riePackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n %s: %v\n%s", riePackage, err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
})

// Function is a function running under the RIE.
type Function struct {
	url  string // the RIE's invocation endpoint
	logs *testkit.Buffer
	stop func()
}

// Start runs bootstrap under the RIE with the test process's environment
// plus env ("KEY=value" entries, later ones winning), waits until the RIE
// listens, and stops it when t ends. Each Function gets its own ports, so
// tests may run several at once.
func Start(t testkit.TB, bootstrap string, env ...string) *Function {
	t.Helper()
	fn, err := RunEnv(bootstrap, append(os.Environ(), env...))
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	t.Cleanup(func() {
		fn.Stop()
		if t.Failed() {
			t.Logf("function logs:\n%s", fn.Logs())
		}
	})
	return fn
}

// RunEnv is Start outside a test: the caller stops the Function with Stop.
// The emulator starts bootstrap's process on the first invoke (that
// invoke's INIT phase), not before. env is the whole environment of the
// emulator and the function, none of this process's: Lambda's environment
// is not a developer's shell (a shell's AWS_CA_BUNDLE, for one, costs the
// ingest's SDK configuration milliseconds that Lambda never pays, and a
// shell's AWS_ENDPOINT_URL would point the API function elsewhere).
func RunEnv(bootstrap string, env []string) (*Function, error) {
	bin, err := rie()
	if err != nil {
		return nil, err
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		"--log-level", "info",
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	fn := &Function{url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", logs: &testkit.Buffer{}}
	cmd.Stdout, cmd.Stderr = fn.logs, fn.logs
	stop, err := testkit.StartProcess(cmd, invokeAddr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("the RIE: %w:\n%s", err, fn.Logs())
	}
	fn.stop = stop
	return fn, nil
}

// Stop kills the emulator (and with it the function's process) and waits
// for it to exit. Calling it again does nothing.
func (f *Function) Stop() { f.stop() }

// Invoke sends event to the function and returns its response payload. A
// function error is not a Go error: the payload is then the Lambda error
// JSON ({"errorMessage": …, "errorType": …}); see FunctionError.
func (f *Function) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: status %s: %s", resp.Status, body)
	}
	return body, nil
}

// FunctionError reports whether payload is a Lambda function error.
func FunctionError(payload []byte) bool {
	return bytes.Contains(payload, []byte(`"errorMessage"`)) && bytes.Contains(payload, []byte(`"errorType"`))
}

// Logs returns what the RIE and the function have printed so far.
func (f *Function) Logs() string { return f.logs.String() }

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr() (string, error) {
	port, err := testkit.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// URLEvent reads the function URL event name from the API function's
// testdata (functions/api/testdata), as CloudFront sends it through OAC.
func URLEvent(t testkit.TB, name string) events.LambdaFunctionURLRequest {
	t.Helper()
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "functions", "api", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}
