package tasks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/store"
)

func TestDetectCapabilities(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "virt-v2v-in-place")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if c := DetectCapabilities("virt-v2v-in-place")[store.CapabilityVirtio]; !c.Available || c.Path != tool || c.Problem != "" {
		t.Fatalf("on PATH: %+v", c)
	}
	missing := filepath.Join(dir, "missing")
	c := DetectCapabilities(missing)[store.CapabilityVirtio]
	if c.Available || c.Command != missing || !strings.Contains(c.Problem, "does not exist") || !strings.Contains(c.Problem, "FAILOVER_VIRTIO_COMMAND") {
		t.Fatalf("missing: %+v", c)
	}
}
