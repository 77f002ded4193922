package cloudstack

import (
	"context"
	"fmt"
	"time"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	"github.com/ossea/unifiedfailover/errs"
)

// Snapshot states as CloudStack reports them: Allocated → Creating →
// CreatedOnPrimary → BackingUp → BackedUp, or Error. Only a BackedUp
// snapshot can be reverted to.
const (
	SnapshotAllocated        = "Allocated"
	SnapshotCreating         = "Creating"
	SnapshotCreatedOnPrimary = "CreatedOnPrimary"
	SnapshotBackingUp        = "BackingUp"
	SnapshotBackedUp         = "BackedUp"
	SnapshotError            = "Error"
	SnapshotDestroying       = "Destroying"
)

// Snapshot is a CloudStack volume snapshot.
type Snapshot struct {
	ID       string
	Name     string
	VolumeID string
	State    string // BackedUp when usable
	Created  time.Time
}

// Ready reports whether the snapshot can be reverted to.
func (s Snapshot) Ready() bool { return s.State == SnapshotBackedUp }

// InProgress reports whether the snapshot is still being taken.
func (s Snapshot) InProgress() bool {
	switch s.State {
	case SnapshotAllocated, SnapshotCreating, SnapshotCreatedOnPrimary, SnapshotBackingUp:
		return true
	}
	return false
}

// WaitSnapshot polls a snapshot until it is BackedUp (returned) or no
// longer in progress (errs.FailedPrecondition naming its state), under
// ctx: the caller bounds the wait.
func (c *Client) WaitSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	wait := c.cfg.PollInterval
	for {
		sn, err := c.GetVolumeSnapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		switch {
		case sn.Ready():
			return sn, nil
		case !sn.InProgress():
			return sn, errs.New(errs.FailedPrecondition, "cloudstack: snapshot %s of volume %s is %s, not BackedUp", id, sn.VolumeID, sn.State)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errs.Transient(ctx.Err(), "cloudstack: waiting for snapshot %s to be backed up (it is %s)", id, sn.State)
		case <-t.C:
		}
		wait = min(wait*2, c.cfg.MaxPollInterval)
	}
}

// CreateVolumeSnapshot snapshots a volume and waits for the job.
func (c *Client) CreateVolumeSnapshot(ctx context.Context, volumeID, name string) (*Snapshot, error) {
	what := fmt.Sprintf("cloudstack: snapshotting volume %s", volumeID)
	raw, err := c.runJob(ctx, "createSnapshot", what, func(api *cs.CloudStackClient) (string, error) {
		p := api.Snapshot.NewCreateSnapshotParams(volumeID)
		if name != "" {
			p.SetName(name)
		}
		r, err := api.Snapshot.CreateSnapshot(p)
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	if err != nil {
		return nil, err
	}
	return decodeSnapshot(raw, what)
}

// RevertVolumeSnapshot writes a snapshot back onto its volume and waits for
// the job. The volume must be detached or its VM stopped.
func (c *Client) RevertVolumeSnapshot(ctx context.Context, snapshotID string) error {
	what := fmt.Sprintf("cloudstack: reverting snapshot %s", snapshotID)
	_, err := c.runJob(ctx, "revertSnapshot", what, func(api *cs.CloudStackClient) (string, error) {
		r, err := api.Snapshot.RevertSnapshot(api.Snapshot.NewRevertSnapshotParams(snapshotID))
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	return err
}

// DeleteVolumeSnapshot deletes a snapshot and waits for the job.
func (c *Client) DeleteVolumeSnapshot(ctx context.Context, snapshotID string) error {
	what := fmt.Sprintf("cloudstack: deleting snapshot %s", snapshotID)
	_, err := c.runJob(ctx, "deleteSnapshot", what, func(api *cs.CloudStackClient) (string, error) {
		r, err := api.Snapshot.DeleteSnapshot(api.Snapshot.NewDeleteSnapshotParams(snapshotID))
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	return err
}

// ListVolumeSnapshots returns the snapshots of a volume.
func (c *Client) ListVolumeSnapshots(ctx context.Context, volumeID string) ([]Snapshot, error) {
	what := fmt.Sprintf("cloudstack: listing snapshots of volume %s", volumeID)
	return c.listSnapshots(ctx, what, func(p *cs.ListSnapshotsParams) { p.SetVolumeid(volumeID) })
}

// GetVolumeSnapshot returns the snapshot with id; errs.NotFound when there
// is none.
func (c *Client) GetVolumeSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	what := fmt.Sprintf("cloudstack: getting snapshot %s", id)
	snaps, err := c.listSnapshots(ctx, what, func(p *cs.ListSnapshotsParams) { p.SetId(id) })
	if err != nil {
		return nil, err
	}
	for i := range snaps {
		if snaps[i].ID == id {
			return &snaps[i], nil
		}
	}
	return nil, errs.New(errs.NotFound, "%s: no such snapshot", what)
}

func (c *Client) listSnapshots(ctx context.Context, what string, filter func(*cs.ListSnapshotsParams)) ([]Snapshot, error) {
	api, x := c.api(ctx)
	p := api.Snapshot.NewListSnapshotsParams()
	p.SetListall(true)
	filter(p)
	r, err := api.Snapshot.ListSnapshots(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listSnapshots", what, err)
	}
	out := make([]Snapshot, 0, len(r.Snapshots))
	for _, s := range r.Snapshots {
		out = append(out, fromCSSnapshot(s))
	}
	return out, nil
}

func decodeSnapshot(raw []byte, what string) (*Snapshot, error) {
	var s cs.Snapshot
	if err := decodeResult(raw, &s, what); err != nil {
		return nil, err
	}
	snap := fromCSSnapshot(&s)
	return &snap, nil
}

// csTimeFormat is CloudStack's timestamp format.
const csTimeFormat = "2006-01-02T15:04:05-0700"

func fromCSSnapshot(s *cs.Snapshot) Snapshot {
	snap := Snapshot{ID: s.Id, Name: s.Name, VolumeID: s.Volumeid, State: s.State}
	if t, err := time.Parse(csTimeFormat, s.Created); err == nil {
		snap.Created = t
	} else if t, err := time.Parse(time.RFC3339, s.Created); err == nil {
		snap.Created = t
	}
	return snap
}
