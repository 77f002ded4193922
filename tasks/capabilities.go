package tasks

import (
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/virtio"
)

// DetectCapabilities returns what this worker can run of the steps that
// need more than the worker binary: the virtio-injection step needs the
// VirtIO command virtioCommand (FAILOVER_VIRTIO_COMMAND) on PATH or at
// its path (virtio.FindCommand). Workers report it with their heartbeat
// (queue.Heartbeat); pre-flight refuses a plan whose step no live worker
// can run.
func DetectCapabilities(virtioCommand string) store.Capabilities {
	c := store.Capability{Command: virtioCommand}
	if path, err := virtio.FindCommand(virtioCommand); err != nil {
		c.Problem = err.Error()
	} else {
		c.Available, c.Path = true, path
	}
	return store.Capabilities{store.CapabilityVirtio: c}
}
