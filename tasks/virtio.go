package tasks

import (
	"context"

	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/virtio"
)

// inject runs VirtIO injection (package virtio) on the boot replica's
// device on the appliance and returns the tail of the tool's output.
// virt-v2v-in-place reads only local disks (-i disk takes a path, not an
// NBD URI), so the worker that injects runs on the appliance.
func (e *engine) inject(ctx context.Context, s *stepEnv, boot store.Disk) (string, error) {
	res, err := e.inj.Inject(ctx, virtio.Request{VolumeID: boot.VolumeID, VMName: s.cfg.VMName,
		Firmware: s.cfg.Firmware, JobID: s.Job.ExternalID})
	if err != nil {
		return "", err
	}
	s.event(ctx, "VirtIO injection ran", "volume_id", boot.VolumeID, "device", res.Device,
		"took_ms", res.Took.Milliseconds(), "waited_ms", res.Waited.Milliseconds())
	return res.Output, nil
}
