package cloudstack

import (
	"context"
	"fmt"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
)

// Volume types as CloudStack reports them.
const (
	VolumeRoot     = "ROOT"
	VolumeDataDisk = "DATADISK"
)

// Volume is a CloudStack volume. VMID and VMName are empty when it is
// detached; DeviceID is meaningful only when attached.
type Volume struct {
	ID        string
	Name      string
	Type      string
	SizeBytes int64
	VMID      string
	VMName    string
	DeviceID  int
	State     string
	Account   string
	// StorageID and Storage name the primary storage pool holding it.
	StorageID string
	Storage   string
}

// VolumeFilter narrows ListVolumes; empty fields do not filter.
type VolumeFilter struct {
	VMID string
	ID   string
}

// AutoDeviceID lets CloudStack choose the device id in AttachVolume.
const AutoDeviceID = -1

// ListVolumes returns the volumes matching f.
func (c *Client) ListVolumes(ctx context.Context, f VolumeFilter) ([]Volume, error) {
	const what = "cloudstack: listing volumes"
	api, x := c.api(ctx)
	p := api.Volume.NewListVolumesParams()
	p.SetListall(true)
	if f.VMID != "" {
		p.SetVirtualmachineid(f.VMID)
	}
	if f.ID != "" {
		p.SetId(f.ID)
	}
	r, err := api.Volume.ListVolumes(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listVolumes", what, err)
	}
	out := make([]Volume, 0, len(r.Volumes))
	for _, v := range r.Volumes {
		out = append(out, fromCSVolume(v))
	}
	return out, nil
}

// OwnsVolume reports whether the API key's account owns the volume:
// CloudStack lists only the caller's own resources without listall
// (BaseListProjectAndAccountResourcesCmd), and refuses to attach a volume
// of another account to the caller's VMs.
func (c *Client) OwnsVolume(ctx context.Context, id string) (bool, error) {
	what := fmt.Sprintf("cloudstack: listing volume %s of the caller's account", id)
	api, x := c.api(ctx)
	p := api.Volume.NewListVolumesParams()
	p.SetId(id)
	r, err := api.Volume.ListVolumes(p)
	if err != nil {
		return false, c.fail(ctx, x, "listVolumes", what, err)
	}
	for _, v := range r.Volumes {
		if v.Id == id {
			return true, nil
		}
	}
	return false, nil
}

// GetVolume returns the volume with id; errs.NotFound when there is none.
func (c *Client) GetVolume(ctx context.Context, id string) (*Volume, error) {
	vols, err := c.ListVolumes(ctx, VolumeFilter{ID: id})
	if err != nil {
		return nil, err
	}
	for i := range vols {
		if vols[i].ID == id {
			return &vols[i], nil
		}
	}
	return nil, errs.New(errs.NotFound, "cloudstack: getting volume %s: no such volume", id)
}

// AttachVolume attaches a volume to a VM at deviceID (AutoDeviceID lets
// CloudStack choose; 0 is the boot device of a VM without ROOT volume) and
// waits for the job. A volume attached elsewhere is errs.FailedPrecondition.
func (c *Client) AttachVolume(ctx context.Context, volumeID, vmID string, deviceID int) (*Volume, error) {
	what := fmt.Sprintf("cloudstack: attaching volume %s to VM %s", volumeID, vmID)
	raw, err := c.runJob(ctx, "attachVolume", what, func(api *cs.CloudStackClient) (string, error) {
		p := api.Volume.NewAttachVolumeParams(volumeID, vmID)
		if deviceID >= 0 {
			p.SetDeviceid(int64(deviceID))
		}
		r, err := api.Volume.AttachVolume(p)
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	if err != nil {
		return nil, err
	}
	return decodeVolume(raw, what)
}

// DetachVolume detaches a volume from its VM and waits for the job.
func (c *Client) DetachVolume(ctx context.Context, volumeID string) (*Volume, error) {
	what := fmt.Sprintf("cloudstack: detaching volume %s", volumeID)
	raw, err := c.runJob(ctx, "detachVolume", what, func(api *cs.CloudStackClient) (string, error) {
		p := api.Volume.NewDetachVolumeParams()
		p.SetId(volumeID)
		r, err := api.Volume.DetachVolume(p)
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	if err != nil {
		return nil, err
	}
	return decodeVolume(raw, what)
}

// DeleteVolume deletes a detached volume. The call is synchronous in
// CloudStack (DeleteVolumeCmd); a volume that is already gone is
// errs.NotFound.
func (c *Client) DeleteVolume(ctx context.Context, volumeID string) error {
	what := fmt.Sprintf("cloudstack: deleting volume %s", volumeID)
	defer calltime.Start(ctx)()
	api, x := c.api(ctx)
	r, err := api.Volume.DeleteVolume(api.Volume.NewDeleteVolumeParams(volumeID))
	if err != nil {
		return c.fail(ctx, x, "deleteVolume", what, err)
	}
	if !r.Success {
		return errs.New(errs.Internal, "%s: CloudStack answered success=false: %s", what, r.Displaytext)
	}
	return nil
}

func decodeVolume(raw []byte, what string) (*Volume, error) {
	var v cs.Volume
	if err := decodeResult(raw, &v, what); err != nil {
		return nil, err
	}
	vol := fromCSVolume(&v)
	return &vol, nil
}

func fromCSVolume(v *cs.Volume) Volume {
	vol := Volume{
		ID: v.Id, Name: v.Name, Type: v.Type, SizeBytes: v.Size, VMID: v.Virtualmachineid,
		VMName: v.Vmname, State: v.State, Account: v.Account, StorageID: v.Storageid, Storage: v.Storage,
	}
	if vol.VMID != "" {
		vol.DeviceID = int(v.Deviceid)
	}
	return vol
}
