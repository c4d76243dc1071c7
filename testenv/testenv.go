package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// startTimeout bounds how long a process may take to print its ready line.
// Azurite needs ~2 s on an idle machine; a loaded CI machine gets more.
const startTimeout = 60 * time.Second

// stopTimeout is how long a process gets after SIGTERM before SIGKILL.
const stopTimeout = 5 * time.Second

// AzuriteAccountKey is the key of Azurite's built-in devstoreaccount1 account,
// published in Azurite's documentation; it protects nothing.
const AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// RepoRoot returns the repository root: the nearest directory, from the
// working directory up, that holds go.mod and testenv/eventhubs_emulator.py.
var RepoRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "testenv", "eventhubs_emulator.py")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no repository root (go.mod beside testenv/eventhubs_emulator.py) above the working directory")
		}
		dir = parent
	}
})

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// missing skips the test, or fails it under CI, for a missing dependency.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (install with scripts/setup-test-deps)"
	if os.Getenv("CI") == "true" {
		t.Fatal("testenv: " + msg)
		return
	}
	t.Skip("testenv: " + msg)
}

var pythonCheck = sync.OnceValues(func() (string, error) {
	py := os.Getenv("IOCWATCH_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	out, err := exec.Command(py, "-c", "import proton").CombinedOutput()
	if err != nil {
		return py, fmt.Errorf("%s cannot import proton (python3-qpid-proton): %v: %s", py, err, strings.TrimSpace(string(out)))
	}
	return py, nil
})

var listeningRE = regexp.MustCompile(`^LISTENING (\S+)$`)

// StartEmulator starts the Event Hubs emulator with the given hubs, each
// "name:partitions" (for example "defender:4") or
// "name:partitions:group,group" (receivers of other consumer groups are
// refused as not found), and returns a connection string for it:
//
//	Endpoint=sb://127.0.0.1:<port>;SharedAccessKeyName=testenv;SharedAccessKey=<random>;UseDevelopmentEmulator=true
//
// The key is random per call and checked by nobody, so tests can look for it
// in logs and errors. The emulator stops when t and its subtests end.
func StartEmulator(t testing.TB, hubs ...string) (connString string) {
	t.Helper()
	if len(hubs) == 0 {
		t.Fatal("testenv.StartEmulator: no hubs given")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	py, err := pythonCheck()
	if err != nil {
		missing(t, "%v", err)
	}
	args := []string{filepath.Join(root, "testenv", "eventhubs_emulator.py"), "--port", "0", "--exit-on-eof"}
	for _, h := range hubs {
		args = append(args, "--hub", h)
	}
	if os.Getenv("IOCWATCH_EMULATOR_VERBOSE") == "1" {
		args = append(args, "--verbose")
	}
	m := startProcess(t, "eventhubs emulator", exec.Command(py, args...), listeningRE)
	return "Endpoint=sb://" + m[1] + ";SharedAccessKeyName=testenv;SharedAccessKey=" + randomKey() + ";UseDevelopmentEmulator=true"
}

var azuriteRE = regexp.MustCompile(`successfully listens on http://(\S+)`)

// StartAzurite starts Azurite's blob service in memory and returns the
// connection string of its devstoreaccount1 account. It stops when t and its
// subtests end.
func StartAzurite(t testing.TB) (blobConnString string) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("IOCWATCH_AZURITE")
	if bin == "" {
		bin = filepath.Join(root, "node_modules", ".bin", "azurite-blob")
	}
	if !fileExists(bin) {
		missing(t, "%s not found (npm ci at the repository root)", bin)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node not found on PATH")
	}
	cmd := exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--inMemoryPersistence", "--extentMemoryLimit", "512",
		// azblob sends an x-ms-version newer than Azurite knows.
		"--skipApiVersionCheck",
		// Without it Azurite lingers ~30 s after SIGTERM.
		"--disableTelemetry",
		"--loose")
	cmd.Dir = t.TempDir()
	m := startProcess(t, "azurite", cmd, azuriteRE)
	return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteAccountKey +
		";BlobEndpoint=http://" + m[1] + "/devstoreaccount1;"
}

// NewContainer creates a blob container with a fresh name in the account of
// blobConnString (from StartAzurite) and returns its name.
func NewContainer(t testing.TB, blobConnString string) string {
	t.Helper()
	name := "t" + randomKey()[:20]
	cc, err := container.NewClientFromConnectionString(blobConnString, name, nil)
	if err != nil {
		t.Fatalf("testenv: container client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cc.Create(ctx, nil); err != nil {
		t.Fatalf("testenv: create container %s: %v", name, err)
	}
	return name
}

func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startProcess runs cmd until it prints a line matching ready on stdout and
// returns the match; it registers the process's stop with t.Cleanup.
func startProcess(t testing.TB, name string, cmd *exec.Cmd, ready *regexp.Regexp) []string {
	t.Helper()
	cmd.SysProcAttr = sysProcAttr()
	out := &tailBuffer{max: 64 << 10}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		missing(t, "cannot start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, out.String())
		}
	})

	matched := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = io.WriteString(out, line+"\n")
			if !found {
				if m := ready.FindStringSubmatch(line); m != nil {
					found = true
					matched <- m
				}
			}
		}
		// Keep draining so that the process never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()

	select {
	case m := <-matched:
		return m
	case <-done:
		t.Fatalf("testenv: %s exited before it was ready: %s\n%s", name, cmd.ProcessState, out.String())
	case <-time.After(startTimeout):
		t.Fatalf("testenv: %s not ready after %s:\n%s", name, startTimeout, out.String())
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it. Safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
