package cloudstack

import "fmt"

// SetKVMSnapshotEnabled changes the global setting kvm.snapshot.enabled
// (see Config.KVMSnapshotEnabled); listCapabilities reports it.
func (s *Sim) SetKVMSnapshotEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kvmSnapshotEnabled = on
}

// FailSnapshotBackup makes the next n snapshot backups to secondary storage
// fail: the createSnapshot job fails with 530 and the snapshot stays
// listed in state Error.
func (s *Sim) FailSnapshotBackup(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failBackups = max(n, 0)
}

// SetHostUnreachable makes the host of a VM stop answering (on) or answer
// again (off). While it does not answer, a stopVirtualMachine without
// forced=true fails with 530, and a forced one marks the VM Stopped while
// the guest goes on running (StillRunningOnHost). When the host answers
// again, a guest that kept running is reported by the host's power state
// sync and the VM is Running again.
func (s *Sim) SetHostUnreachable(vmID string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, ok := s.vms[vmID]
	if !ok {
		return fmt.Errorf("vm %s not found", vmID)
	}
	if on {
		s.hostUnreachable[vmID] = true
		return nil
	}
	delete(s.hostUnreachable, vmID)
	if s.stillRunning[vmID] {
		delete(s.stillRunning, vmID)
		if vm.State == StateStopped {
			vm.State = StateRunning
		}
	}
	return nil
}

// StillRunningOnHost reports whether the guest of a VM is in fact still
// running (and writing its disks) although CloudStack marked it Stopped
// after a forced stop on an unreachable host.
func (s *Sim) StillRunningOnHost(vmID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stillRunning[vmID]
}

// SetVMSnapshotCount sets how many VM snapshots a VM has. A VM with VM
// snapshots refuses attachVolume, detachVolume, revertSnapshot of its
// volumes and addNicToVirtualMachine, as the real server does.
func (s *Sim) SetVMSnapshotCount(vmID string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vms[vmID]; !ok {
		return fmt.Errorf("vm %s not found", vmID)
	}
	if n <= 0 {
		delete(s.vmSnapshots, vmID)
		return nil
	}
	s.vmSnapshots[vmID] = n
	return nil
}

// listCapabilities answers listCapabilities in the shape cloudstack-go's
// ConfigurationService.ListCapabilities decodes:
// {"listcapabilitiesresponse":{"capability":{…}}}
// (ManagementServerImpl.listCapabilities, CapabilitiesResponse).
func (s *Sim) listCapabilities(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"capability": map[string]any{
		"cloudstackversion":             "4.19.1.0",
		"kvmsnapshotenabled":            s.kvmSnapshotEnabled,
		"securitygroupsenabled":         false,
		"userpublictemplateenabled":     true,
		"supportELB":                    "false",
		"projectinviterequired":         false,
		"allowusercreateprojects":       true,
		"regionsecondaryenabled":        false,
		"customdiskofferingminsize":     1,
		"customdiskofferingmaxsize":     1024,
		"allowuserviewdestroyedvm":      false,
		"allowuserexpungerecovervm":     false,
		"allowuserexpungerecovervolume": true,
		"allowuserforcestopvm":          true,
		"apilimitinterval":              1,
		"apilimitmax":                   -1,
		"dynamicrolesenabled":           true,
		"defaultuipagesize":             20,
	}}, nil
}

// SetSnapshotBackupRate changes how many bytes per second snapshot backups
// started from now on copy to secondary storage (Config.SnapshotBackupRate);
// rate 0 restores the default of 1 GiB/s.
func (s *Sim) SetSnapshotBackupRate(rate int64) {
	if rate <= 0 {
		rate = 1 << 30
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.SnapshotBackupRate = rate
}
