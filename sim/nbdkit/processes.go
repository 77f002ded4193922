package nbdkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Processes returns the pids of the running nbdkit processes whose command
// line mentions dir (for example a lab's data directory), so a caller can
// prove that none outlived its owner.
func Processes(dir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("reading /proc: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a zombie
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if filepath.Base(args[0]) == "nbdkit" && strings.Contains(string(cmdline), dir) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
