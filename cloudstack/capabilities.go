package cloudstack

import "context"

// Capabilities are the cloud-wide settings a failover depends on, as
// listCapabilities reports them.
type Capabilities struct {
	// KVMSnapshotEnabled is the setting kvm.snapshot.enabled: without it,
	// KVM refuses to snapshot a volume whose VM is not stopped.
	KVMSnapshotEnabled bool
	// Version is the CloudStack version.
	Version string
	// UserExpunge is allow.user.expunge.recover.vm.
	UserExpunge bool
	// UserForceStop is allow.user.force.stop.vm.
	UserForceStop bool
}

// Capabilities returns the cloud's capabilities.
func (c *Client) Capabilities(ctx context.Context) (*Capabilities, error) {
	const what = "cloudstack: listing capabilities"
	api, x := c.api(ctx)
	r, err := api.Configuration.ListCapabilities(api.Configuration.NewListCapabilitiesParams())
	if err != nil {
		return nil, c.fail(ctx, x, "listCapabilities", what, err)
	}
	if r.Capabilities == nil {
		return &Capabilities{}, nil
	}
	cp := r.Capabilities
	return &Capabilities{KVMSnapshotEnabled: cp.Kvmsnapshotenabled, Version: cp.Cloudstackversion,
		UserExpunge: cp.Allowuserexpungerecovervm, UserForceStop: cp.Allowuserforcestopvm}, nil
}
