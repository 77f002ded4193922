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

func (s *Sim) createSnapshot(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, aerr := s.lookupVolume(r, "volumeid")
	if aerr != nil {
		return nil, aerr
	}
	sn := &Snapshot{ID: newID(), VolumeID: v.ID, State: "Creating", Created: time.Now()}
	sn.Name = r.get("name")
	if sn.Name == "" {
		sn.Name = v.Name + "_" + sn.Created.UTC().Format("20060102150405")
	}
	var src string
	return s.startJob(r.cmd, "Snapshot", sn.ID, jobOp{
		begin: func() *apiError {
			if _, ok := s.volumes[v.ID]; !ok {
				return stateErr("Unable to create snapshot: volume %s no longer exists", v.ID)
			}
			if v.State != "Ready" {
				return stateErr("VolumeId: %s is not in Ready state but %s. Cannot take snapshot.", v.ID, v.State)
			}
			s.snapshots[sn.ID] = sn
			s.nextSeq(sn.ID)
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
			if src == "" {
				return nil
			}
			if err := copyFile(sn.Path, src); err != nil {
				return stateErr("Failed to create snapshot of volume %s: %v", v.Name, err)
			}
			return nil
		},
		abort: func() {
			_ = os.Remove(sn.Path)
			delete(s.snapshots, sn.ID)
			delete(s.order, sn.ID)
		},
		finish: func() map[string]any {
			sn.State = "BackedUp"
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
			if sn.State != "BackedUp" {
				return stateErr("Snapshot %s is in %s state; only BackedUp snapshots can be reverted", sn.ID, sn.State)
			}
			var ok bool
			if v, ok = s.volumes[sn.VolumeID]; !ok {
				return stateErr("Unable to revert snapshot %s: its volume no longer exists", sn.ID)
			}
			if vm, ok := s.vms[v.VMID]; ok && v.VMID != "" && vm.State != StateStopped {
				return stateErr("The VM %s the volume %s is attached to is in %s state; revert snapshot needs the volume detached or the VM Stopped", vm.Name, v.Name, vm.State)
			}
			if v.State != "Ready" {
				return stateErr("Volume %s is in %s state; cannot revert snapshot", v.Name, v.State)
			}
			v.State = "Reverting"
			return nil
		},
		work: func() *apiError {
			if sn.Path == "" || v.Path == "" {
				return nil
			}
			if err := writeBackInPlace(v.Path, sn.Path); err != nil {
				return stateErr("Failed to revert snapshot %s: %v", sn.ID, err)
			}
			return nil
		},
		abort: func() { v.State = "Ready" },
		finish: func() map[string]any {
			v.State = "Ready"
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
			if sn.State == "Creating" {
				return stateErr("Snapshot %s is still being created; cannot delete", sn.ID)
			}
			sn.State = "Destroying"
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
