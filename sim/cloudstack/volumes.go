package cloudstack

import (
	"fmt"
	"strconv"
	"strings"
)

// The volume commands. The real server's rules come from
// server/src/main/java/com/cloud/storage/VolumeApiServiceImpl.java
// (attachVolumeToVM, detachVolumeFromVM, destroyVolume, getDeviceId) and
// engine/schema/.../VolumeDaoImpl.java (attachVolume, detachVolume).
// Checks the real server makes inside the async job fail the job: an
// InvalidParameterValueException with 431, anything else with 530
// (ApiAsyncJobDispatcher.runJob).

func (s *Sim) listVolumes(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, v := range sortedByCreation(s, s.volumes, func(v *Volume) string { return v.ID }) {
		if id := r.get("id"); id != "" && id != v.ID {
			continue
		}
		if vmid := r.get("virtualmachineid"); vmid != "" && vmid != v.VMID {
			continue
		}
		if t := r.get("type"); t != "" && !strings.EqualFold(t, v.Type) {
			continue
		}
		if name := r.get("name"); name != "" && name != v.Name {
			continue
		}
		if zid := r.get("zoneid"); zid != "" && zid != v.ZoneID {
			continue
		}
		if !s.listedFor(r, v.Account) {
			continue
		}
		out = append(out, s.renderVolume(v))
	}
	return listResponse("volume", out), nil
}

// lookupVolume returns the volume named by param. Callers hold s.mu.
func (s *Sim) lookupVolume(r request, param string) (*Volume, *apiError) {
	id, aerr := r.require(param)
	if aerr != nil {
		return nil, aerr
	}
	v, ok := s.volumes[id]
	if !ok {
		return nil, noEntity(r.cmd, param, id)
	}
	return v, nil
}

// vmString and volString render a VM and a volume as the Java toString
// the real messages embed (VMInstanceVO.toString, VolumeVO.toString).
func vmString(vm *VM) string {
	return fmt.Sprintf(`VM instance {"id":%d,"instanceName":"%s","type":"User","uuid":"%s"}`, vm.dbID, vm.InstanceName, vm.ID)
}

func volString(v *Volume) string {
	return fmt.Sprintf(`Volume {"id":%d,"name":"%s","uuid":"%s","volumeType":"%s"}`, v.dbID, v.Name, v.ID, v.Type)
}

// maxDeviceID is the highest device id a VM accepts: the data volume limit
// plus root and CD-ROM, minus one (VolumeApiServiceImpl.getDeviceId).
func (s *Sim) maxDeviceID() int { return s.cfg.MaxDataVolumes + 1 }

// pickDeviceID validates a requested device id or allocates the lowest
// free one among 1, 2, 4, 5 … (VolumeApiServiceImpl.getDeviceId; its
// RuntimeExceptions fail the job with 530). Callers hold s.mu.
func (s *Sim) pickDeviceID(vm *VM, requested int, given bool) (int, *apiError) {
	maxID := s.maxDeviceID()
	if given {
		if requested < 0 || requested > maxID || requested == 3 {
			return 0, stateErr("deviceId should be 0,1,2,4-%d", maxID)
		}
		if s.volumeAtDevice(vm.ID, requested) != nil {
			return 0, stateErr("deviceId %d is used by vm %d", requested, vm.dbID)
		}
		return requested, nil
	}
	for id := 1; id <= maxID; id++ {
		if id != 3 && s.volumeAtDevice(vm.ID, id) == nil {
			return id, nil
		}
	}
	return 0, stateErr("All device Ids are used by vm %d", vm.dbID)
}

// validateRootAttachDetach is VolumeApiServiceImpl.validateRootVolumeDetachAttach
// for KVM: the hypervisor allows it, and the VM must be Stopped (the real
// condition `!(state == Stopped) || (state == Destroyed)` refuses
// Destroyed too, whatever its message says).
func validateRootAttachDetach(vm *VM) *apiError {
	if vm.State != StateStopped {
		return paramErr("Root volume detach can happen only when vm is in states: Stopped or Destroyed")
	}
	return nil
}

func (s *Sim) attachVolume(r request) (map[string]any, *apiError) {
	deviceID, given := 0, false
	if d := r.get("deviceid"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			// ParamProcessWorker.processParameters, IllegalArgumentException.
			return nil, paramErr("Unable to execute API command attachvolume due to invalid value %s for parameter deviceid", d)
		}
		deviceID, given = n, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, aerr := s.lookupVolume(r, "id")
	if aerr != nil {
		return nil, aerr
	}
	vm, aerr := s.lookupVM(r, "virtualmachineid")
	if aerr != nil {
		return nil, aerr
	}
	var prevState string
	return s.startJob(r.cmd, "Volume", v.ID, jobOp{
		begin: func() *apiError {
			// getAndCheckVolumeInfo
			if v.VMID != "" {
				return paramErr("Please specify a volume that is not attached to any VM.")
			}
			if v.State != VolumeAllocated && v.State != VolumeReady && v.State != "Uploaded" {
				return paramErr("Volume state must be in Allocated, Ready or in Uploaded state")
			}
			// getAndCheckUserVmVO
			if vm.State != StateRunning && vm.State != StateStopped {
				return paramErr("Please specify a VM that is either running or stopped.")
			}
			if v.ZoneID != "" && vm.ZoneID != "" && v.ZoneID != vm.ZoneID {
				return paramErr("Please specify a VM that is in the same zone as the volume.")
			}
			// checkDeviceId
			if given && deviceID == 0 {
				if err := validateRootAttachDetach(vm); err != nil {
					return err
				}
				if s.volumeAtDevice(vm.ID, 0) != nil {
					return paramErr("Vm already has root volume attached to it")
				}
			}
			// checkNumberOfAttachedVolumes
			if !given || deviceID != 0 {
				n := 0
				for _, o := range s.volumes {
					if o.VMID == vm.ID && o.Type == VolumeDataDisk {
						n++
					}
				}
				if n >= s.cfg.MaxDataVolumes {
					return paramErr("The specified VM already has the maximum number of data disks (%d) attached. Please specify another VM.", s.cfg.MaxDataVolumes)
				}
			}
			// checkForDevicesInCopies
			if s.vmSnapshots[vm.ID] > 0 {
				return paramErr("Unable to attach volume to VM %s/%s, please specify a VM that does not have VM snapshots", vm.Name, vm.ID)
			}
			// checkRightsToAttach: AccountManagerImpl.checkAccess(caller, null, true, volume, vm)
			if v.Account != vm.Account {
				return permErr("Entity %s and entity %s belong to different accounts", vmString(vm), volString(v))
			}
			// sendAttachVolumeCommand → getDeviceId, in the VM work job.
			id, err := s.pickDeviceID(vm, deviceID, given)
			if err != nil {
				return err
			}
			v.VMID = vm.ID
			v.DeviceID = id
			if id == 0 {
				v.Type = VolumeRoot // VolumeDaoImpl.attachVolume
			}
			prevState = v.State
			if v.State == VolumeReady {
				v.State = VolumeAttaching
			}
			return nil
		},
		abort: func() {
			v.VMID, v.DeviceID, v.State = "", 0, prevState
		},
		finish: func() map[string]any {
			v.State = prevState
			return map[string]any{"volume": s.renderVolume(v)}
		},
	}), nil
}

func (s *Sim) detachVolume(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, vmID, dev := r.get("id"), r.get("virtualmachineid"), r.get("deviceid")
	var v *Volume
	var vmParam *VM
	if id != "" {
		var aerr *apiError
		if v, aerr = s.lookupVolume(r, "id"); aerr != nil {
			return nil, aerr
		}
	}
	if vmID != "" {
		var aerr *apiError
		if vmParam, aerr = s.lookupVM(r, "virtualmachineid"); aerr != nil {
			return nil, aerr
		}
	}
	jobInstance := id
	if jobInstance == "" {
		jobInstance = vmID
	}
	return s.startJob(r.cmd, "Volume", jobInstance, jobOp{
		begin: func() *apiError {
			if (id == "" && dev == "" && vmID == "") || (id != "" && (dev != "" || vmID != "")) || (id == "" && (dev == "" || vmID == "")) {
				return paramErr("Please provide either a volume id, or a tuple(device id, instance id)")
			}
			if v == nil {
				d, err := strconv.Atoi(dev)
				if err == nil {
					v = s.volumeAtDevice(vmParam.ID, d)
				}
				if v == nil {
					return stateErr("Index 0 out of bounds for length 0")
				}
			}
			if v.VMID == "" {
				return paramErr("The specified volume is not attached to a VM.")
			}
			vm := s.vms[v.VMID]
			if vm.State != StateRunning && vm.State != StateStopped && vm.State != StateDestroyed {
				return paramErr("Please specify a VM that is either running or stopped.")
			}
			if v.Type == VolumeRoot {
				if err := validateRootAttachDetach(vm); err != nil {
					return err
				}
			}
			if s.vmSnapshots[vm.ID] > 0 {
				return paramErr("Unable to detach volume, please specify a VM that does not have VM snapshots")
			}
			return nil
		},
		finish: func() map[string]any {
			// VolumeDaoImpl.detachVolume: no instance, no device id, a ROOT
			// volume becomes DATADISK. The state is left as it is: an
			// Allocated ROOT stays Allocated (orchestrateDetachVolumeFromVM
			// sends nothing to a host for a VM that is not Running).
			v.VMID = ""
			v.DeviceID = 0
			if v.Type == VolumeRoot {
				v.Type = VolumeDataDisk
			}
			return map[string]any{"volume": s.renderVolume(v)}
		},
	}), nil
}

// deleteVolume is DeleteVolumeCmd, a synchronous command: it calls
// VolumeApiServiceImpl.destroyVolume(id, caller, expunge=true, …), which
// validates in retrieveAndValidateVolume and removes an Allocated volume
// from the database at once (it was never created on primary storage).
// The answer is a SuccessResponse: {"deletevolumeresponse":{"success":"true"}}.
func (s *Sim) deleteVolume(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, aerr := s.lookupVolume(r, "id")
	if aerr != nil {
		return nil, aerr
	}
	if s.snapshotInProgress(v.ID) {
		return nil, paramErr("There are snapshot operations in progress on the volume, unable to delete it")
	}
	if _, ok := s.vms[v.VMID]; ok && v.VMID != "" {
		return nil, paramErr("Please specify a volume that is not attached to any VM.")
	}
	delete(s.volumes, v.ID)
	delete(s.order, v.ID)
	return map[string]any{"success": "true"}, nil
}

// snapshotInProgress reports whether a snapshot of the volume is Creating,
// CreatedOnPrimary or BackingUp (SnapshotManagerImpl.canOperateOnVolume).
// Callers hold s.mu.
func (s *Sim) snapshotInProgress(volumeID string) bool {
	for _, sn := range s.snapshots {
		if sn.VolumeID == volumeID && activeSnapshot(sn.State) {
			return true
		}
	}
	return false
}

func activeSnapshot(state string) bool {
	return state == SnapshotCreating || state == SnapshotCreatedOnPrimary || state == SnapshotBackingUp
}
