package virtio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindCommand(t *testing.T) {
	dir := t.TempDir()
	exe := script(t, dir, "exit 0\n")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	// PATH holds only dir: the bare names below resolve there or nowhere.
	t.Setenv("PATH", dir)
	for _, c := range []struct {
		name, command, path, problem string
	}{
		{"on PATH, with arguments", "inject.sh --verbose", exe, ""},
		{"absolute path", exe + " -v", exe, ""},
		{"missing from PATH", "virt-v2v-in-place", "", "virt-v2v-in-place (FAILOVER_VIRTIO_COMMAND) is not found on PATH"},
		{"missing absolute path", filepath.Join(dir, "nope"), "", filepath.Join(dir, "nope") + " (FAILOVER_VIRTIO_COMMAND) does not exist"},
		{"not executable", plain, "", plain + " (FAILOVER_VIRTIO_COMMAND) is not an executable file"},
		{"a directory", dir, "", dir + " (FAILOVER_VIRTIO_COMMAND) is a directory, not an executable file"},
		{"not executable on PATH", "plain", "", "plain (FAILOVER_VIRTIO_COMMAND) is not found on PATH"},
		{"empty", "  ", "", "the command (FAILOVER_VIRTIO_COMMAND) is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, err := FindCommand(c.command)
			if c.problem == "" {
				if err != nil || path != c.path {
					t.Fatalf("FindCommand(%q) = %q, %v; want %q", c.command, path, err, c.path)
				}
				return
			}
			if err == nil || err.Error() != c.problem || path != "" {
				t.Fatalf("FindCommand(%q) = %q, %v; want the problem %q", c.command, path, err, c.problem)
			}
			if !strings.Contains(err.Error(), "FAILOVER_VIRTIO_COMMAND") {
				t.Fatalf("the problem does not name the setting: %v", err)
			}
		})
	}
}
