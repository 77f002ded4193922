package cloudstack

import (
	"strconv"
	"strings"
)

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

func (s *Sim) attachVolume(r request) (map[string]any, *apiError) {
	deviceID := -1
	if d := r.get("deviceid"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return nil, paramErr("Unable to execute API command attachvolume due to invalid value. Invalid parameter deviceid value=%s", d)
		}
		deviceID = n
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
	return s.startJob(r.cmd, "Volume", v.ID, jobOp{
		begin: func() *apiError {
			if v.VMID != "" {
				holder := v.VMID
				if other, ok := s.vms[v.VMID]; ok {
					holder = other.Name
				}
				return stateErr("Volume %s is already attached to VM %s; detach it first", v.Name, holder)
			}
			if v.State != "Ready" && v.State != "Allocated" {
				return stateErr("Volume %s is in %s state; it must be Ready or Allocated to be attached", v.Name, v.State)
			}
			if vm.State != StateRunning && vm.State != StateStopped {
				return stateErr("Please specify a VM that is either running or stopped; VM %s is in %s state", vm.Name, vm.State)
			}
			hasRoot := false
			for _, o := range s.volumes {
				if o.VMID == vm.ID && o.Type == VolumeRoot {
					hasRoot = true
				}
			}
			if deviceID < 0 {
				deviceID = 1
				if !hasRoot && s.volumeAtDevice(vm.ID, 0) == nil {
					deviceID = 0
				}
				for s.volumeAtDevice(vm.ID, deviceID) != nil || deviceID == 3 {
					deviceID++
				}
			} else {
				if deviceID == 0 && hasRoot {
					return stateErr("deviceId can't be 0, which is used by Root device of VM %s", vm.Name)
				}
				if other := s.volumeAtDevice(vm.ID, deviceID); other != nil {
					return stateErr("deviceId %d is used by volume %s of VM %s", deviceID, other.Name, vm.Name)
				}
			}
			v.VMID = vm.ID
			v.DeviceID = deviceID
			v.State = "Attaching"
			return nil
		},
		finish: func() map[string]any {
			v.State = "Ready"
			return map[string]any{"volume": s.renderVolume(v)}
		},
	}), nil
}

func (s *Sim) detachVolume(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v *Volume
	if r.get("id") != "" {
		var aerr *apiError
		if v, aerr = s.lookupVolume(r, "id"); aerr != nil {
			return nil, aerr
		}
	} else {
		vm, aerr := s.lookupVM(r, "virtualmachineid")
		if aerr != nil {
			return nil, paramErr("Please provide either a volume id, or a tuple(device id, instance id)")
		}
		d, err := strconv.Atoi(r.get("deviceid"))
		if err != nil {
			return nil, paramErr("Please provide either a volume id, or a tuple(device id, instance id)")
		}
		if v = s.volumeAtDevice(vm.ID, d); v == nil {
			return nil, paramErr("Unable to find volume with device id %d on VM %s", d, vm.Name)
		}
	}
	return s.startJob(r.cmd, "Volume", v.ID, jobOp{
		begin: func() *apiError {
			if v.VMID == "" {
				return stateErr("Volume %s is not attached to any VM", v.Name)
			}
			vm := s.vms[v.VMID]
			if vm != nil && vm.State != StateRunning && vm.State != StateStopped {
				return stateErr("Please specify a VM that is either running or stopped; VM %s is in %s state", vm.Name, vm.State)
			}
			if v.Type == VolumeRoot && vm != nil && vm.State != StateStopped {
				return stateErr("Root volume %s can be detached only when VM %s is Stopped", v.Name, vm.Name)
			}
			v.State = "Detaching"
			return nil
		},
		finish: func() map[string]any {
			v.VMID = ""
			v.DeviceID = 0
			v.State = "Ready"
			return map[string]any{"volume": s.renderVolume(v)}
		},
	}), nil
}
