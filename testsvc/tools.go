package testsvc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Tool returns the path of the first of names found on PATH. When none is
// there the test is skipped, or fails under CI=true, where the Makefile's
// test-tools target has installed it; install says how to get it (for
// example "make drill-tools").
func Tool(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (%s)", names[0], install)
	}
	t.Skipf("%s is not installed (%s); CI fails here instead", names[0], install)
	return ""
}

// Chromium returns headless Chromium's path (Tool, installed by install).
func Chromium(t testing.TB, install string) string {
	t.Helper()
	return Tool(t, install, "chromium", "chromium-browser")
}

// ChromiumArgs are the flags of a headless Chromium run that keeps its
// profile in dir and stays off the network except for the page.
func ChromiumArgs(dir string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + filepath.Join(dir, "profile")}
}

// RenderDOM loads html in headless Chromium and returns the DOM it
// renders (Chromium installed by install; see Tool).
func RenderDOM(t testing.TB, install, html string) string {
	t.Helper()
	bin := Chromium(t, install)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(ChromiumArgs(dir), "--dump-dom", "file://"+page)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return out.String()
}
