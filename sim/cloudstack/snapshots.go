package cloudstack

import (
	"os"
	"path/filepath"
	"time"
)

func (s *Sim) listSnapshots(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, sn := range sortedByCreation(s, s.snapshots, func(v *Snapshot) string { return v.ID }) {
		if id := r.get("id"); id != "" && id != sn.ID {
			continue
		}
		if vid := r.get("volumeid"); vid != "" && vid != sn.VolumeID {
			continue
		}
		if name := r.get("name"); name != "" && name != sn.Name {
			continue
		}
		out = append(out, s.renderSnapshot(sn))
	}
	return listResponse("snapshot", out), nil
}

// snapshotDir returns the directory for snapshot copies, creating a
// temporary one when the config has none. Callers hold s.mu.
func (s *Sim) snapshotDir() (string, error) {
	if s.dataDir == "" {
		d, err := os.MkdirTemp("", "cssim-")
		if err != nil {
			return "", err
		}
		s.dataDir = d
	}
	return s.dataDir, os.MkdirAll(s.dataDir, 0o755)
}

// kvmSnapshotRunningText is SnapshotManagerImpl.supportedByHypervisor's
// refusal when hostSupportsSnapsthotForVolume is false.
const kvmSnapshotRunningText = "KVM Snapshot is not supported for Running VMs. It is disabled by default due to a possible volume corruption in certain cases. To enable it set global settings kvm.snapshot.enabled to True. See the documentation for more details."

// createSnapshot is CreateSnapshotCmd, a BaseAsyncCreateCmd: create()
// runs VolumeApiServiceImpl.allocSnapshot and SnapshotManagerImpl.allocSnapshot
// (supportedByHypervisor) synchronously, so its refusals are answered at
// once; the snapshot is then persisted in state Allocated and the job
// (takeSnapshot) moves it Creating → CreatedOnPrimary → BackingUp →
// BackedUp, or Error.
func (s *Sim) createSnapshot(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, aerr := s.lookupVolume(r, "volumeid")
	if aerr != nil {
		return nil, aerr
	}
	// VolumeApiServiceImpl.allocSnapshot
	if v.State != VolumeReady {
		return nil, paramErr("VolumeId: %d is not in Ready state but %s. Cannot take snapshot.", v.dbID, v.State)
	}
	// SnapshotManagerImpl.supportedByHypervisor / hostSupportsSnapsthotForVolume
	vm := s.vms[v.VMID]
	if vm != nil && v.VMID != "" {
		if vm.State != StateStopped && vm.State != StateDestroyed && !s.kvmSnapshotEnabled {
			return nil, stateErr("%s", kvmSnapshotRunningText)
		}
		if vm.State == StateDestroyed || vm.State == StateExpunging {
			return nil, stateErr("Creating snapshot failed due to volume:%d is associated with vm:%s is in %s state", v.dbID, vm.InstanceName, vm.State)
		}
		for _, o := range s.snapshots {
			if o.VMID == vm.ID && activeSnapshot(o.State) {
				return nil, paramErr("There is other active snapshot tasks on the instance to which the volume is attached, please try again later")
			}
		}
	} else {
		vm = nil
	}
	sn := &Snapshot{ID: newID(), VolumeID: v.ID, State: SnapshotAllocated, Created: time.Now(), dbID: s.nextDBID()}
	if vm != nil {
		sn.VMID = vm.ID
	}
	sn.Name = r.get("name")
	if sn.Name == "" {
		host := "detached"
		if vm != nil {
			host = vm.Name
		}
		sn.Name = host + "_" + v.Name + "_" + sn.Created.UTC().Format("20060102150405")
	}
	s.snapshots[sn.ID] = sn
	s.nextSeq(sn.ID)
	var src string
	volPrev := v.State
	return s.startJob(r.cmd, "Snapshot", sn.ID, jobOp{
		begin: func() *apiError {
			if _, ok := s.volumes[v.ID]; !ok {
				return paramErr("Creating snapshot failed due to volume:%d doesn't exist", v.dbID)
			}
			// VolumeApiServiceImpl.orchestrateTakeVolumeSnapshot
			if v.State != VolumeReady {
				sn.State = SnapshotError
				return paramErr("VolumeId: %d is not in Ready state but %s. Cannot take snapshot.", v.dbID, v.State)
			}
			sn.State = SnapshotCreating
			volPrev = v.State
			v.State = VolumeSnapshotting // Volume.Event.SnapshotRequested
			if v.Path == "" {
				return nil
			}
			dir, err := s.snapshotDir()
			if err != nil {
				return stateErr("Failed to create snapshot: %v", err)
			}
			src = v.Path
			sn.Path = filepath.Join(dir, "snapshot-"+sn.ID)
			return nil
		},
		work: func() *apiError {
			if src != "" {
				if err := copyFile(sn.Path, src); err != nil {
					return stateErr("Failed to create snapshot due to an internal error creating snapshot for volume %s", v.ID)
				}
			}
			s.mu.Lock()
			sn.State = SnapshotCreatedOnPrimary
			if v.State == VolumeSnapshotting {
				v.State = volPrev
			}
			// BackupSnapshotAfterTakingSnapshot: backed up to secondary
			// storage, which takes time proportional to the volume size.
			sn.State = SnapshotBackingUp
			rate := s.cfg.SnapshotBackupRate
			d := time.Duration(float64(v.SizeBytes) / float64(rate) * float64(time.Second))
			fail := s.failBackups > 0
			if fail {
				s.failBackups--
			}
			s.mu.Unlock()
			s.sleep(d)
			if fail {
				// CreateSnapshotCmd.execute wraps every failure in this text.
				return stateErr("Failed to create snapshot due to an internal error creating snapshot for volume %s", v.ID)
			}
			return nil
		},
		abort: func() {
			if sn.Path != "" {
				_ = os.Remove(sn.Path)
				sn.Path = ""
			}
			sn.State = SnapshotError
			if v.State == VolumeSnapshotting {
				v.State = volPrev
			}
		},
		finish: func() map[string]any {
			sn.State = SnapshotBackedUp
			return map[string]any{"snapshot": s.renderSnapshot(sn)}
		},
	}), nil
}

// lookupSnapshot returns the snapshot named by "id". Callers hold s.mu.
func (s *Sim) lookupSnapshot(r request) (*Snapshot, *apiError) {
	id, aerr := r.require("id")
	if aerr != nil {
		return nil, aerr
	}
	sn, ok := s.snapshots[id]
	if !ok {
		return nil, noEntity(r.cmd, "id", id)
	}
	return sn, nil
}

// revertSnapshot is RevertSnapshotCmd (async): SnapshotManagerImpl.revertSnapshot
// checks run in the job, then a strategy must handle REVERT:
// DefaultSnapshotStrategy.canHandle only for a QCOW2 volume,
// CephSnapshotStrategy for a snapshot on an RBD pool (RAW volumes only).
func (s *Sim) revertSnapshot(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, aerr := s.lookupSnapshot(r)
	if aerr != nil {
		return nil, aerr
	}
	var v *Volume
	return s.startJob(r.cmd, "Snapshot", sn.ID, jobOp{
		begin: func() *apiError {
			var ok bool
			if v, ok = s.volumes[sn.VolumeID]; !ok {
				return stateErr("Unable to revert snapshot %s: its volume no longer exists", sn.ID)
			}
			if v.State != VolumeReady {
				return paramErr("The volume is not in Ready state.")
			}
			if vm, ok := s.vms[v.VMID]; ok && v.VMID != "" {
				if vm.State != StateStopped && vm.State != StateShutdown {
					return paramErr("The VM the specified disk is attached to is not in the shutdown state.")
				}
				if s.vmSnapshots[vm.ID] > 0 {
					return paramErr("Unable to revert snapshot for VM, please remove VM snapshots before reverting VM from snapshot")
				}
			}
			if sn.State != SnapshotBackedUp {
				return stateErr("snapshot %s [%s] does not exists in data store", sn.Name, sn.ID)
			}
			pool := s.pools[v.StorageID]
			switch {
			case pool != nil && pool.Type == PoolRBD:
				// CephSnapshotStrategy.revertSnapshot returns false for a
				// format other than RAW (the failure text was not found in
				// the source: the sim answers RevertSnapshotCmd's).
				if v.Format != FormatRAW {
					return stateErr("Failed to revert snapshot")
				}
			case v.Format == FormatQCOW2:
			default:
				return stateErr("Revert snapshot command failed for snapshot with id %d, because this command is supported only for KVM hypervisor", sn.dbID)
			}
			v.State = VolumeReverting
			return nil
		},
		work: func() *apiError {
			if sn.Path == "" || v.Path == "" {
				return nil
			}
			if err := writeBackInPlace(v.Path, sn.Path); err != nil {
				return stateErr("Failed to revert snapshot: %v", err)
			}
			return nil
		},
		abort: func() {
			if v != nil && v.State == VolumeReverting {
				v.State = VolumeReady
			}
		},
		finish: func() map[string]any {
			v.State = VolumeReady
			return map[string]any{"snapshot": s.renderSnapshot(sn)}
		},
	}), nil
}

func (s *Sim) deleteSnapshot(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, aerr := s.lookupSnapshot(r)
	if aerr != nil {
		return nil, aerr
	}
	return s.startJob(r.cmd, "Snapshot", sn.ID, jobOp{
		begin: func() *apiError {
			if _, ok := s.snapshots[sn.ID]; !ok {
				return stateErr("Unable to delete snapshot %s: it no longer exists", sn.ID)
			}
			if sn.State == SnapshotCreating {
				return stateErr("Snapshot %s is still being created; cannot delete", sn.ID)
			}
			sn.State = SnapshotDestroying
			return nil
		},
		finish: func() map[string]any {
			if sn.Path != "" {
				_ = os.Remove(sn.Path)
			}
			delete(s.snapshots, sn.ID)
			delete(s.order, sn.ID)
			return map[string]any{"success": true}
		},
	}), nil
}
