package lab

import (
	"reflect"
	"testing"
)

func TestPlanVMsIsADeterministicMix(t *testing.T) {
	t.Parallel()
	for seed := range int64(200) {
		for _, n := range []int{1, 3, 4, 20} {
			plans := planVMs(seed, n)
			if again := planVMs(seed, n); !reflect.DeepEqual(plans, again) {
				t.Fatalf("seed %d, %d VMs: two plans differ", seed, n)
			}
			var linux, winEFI, bios bool
			macs := map[string]bool{}
			for i, p := range plans {
				linux = linux || p.os == OSLinux
				winEFI = winEFI || p.os == OSWindows && p.firmware == FirmwareEFI
				bios = bios || p.firmware == FirmwareBIOS
				if p.disks < 1 || p.disks > 3 || len(p.networks) < 1 || len(p.networks) > 2 || len(p.macs) != len(p.networks) {
					t.Fatalf("seed %d VM %d: %d disks, %d networks, %d MACs", seed, i, p.disks, len(p.networks), len(p.macs))
				}
				if len(p.networks) == 2 && p.networks[0].source == p.networks[1].source {
					t.Errorf("seed %d VM %d: two NICs on %s", seed, i, p.networks[0].source)
				}
				if (p.os == OSWindows) != (p.guestID[:3] == "win") {
					t.Errorf("seed %d VM %d: os %s with guest %s", seed, i, p.os, p.guestID)
				}
				for _, m := range p.macs {
					if macs[m] {
						t.Errorf("seed %d: MAC %s twice", seed, m)
					}
					macs[m] = true
				}
			}
			if n >= 3 && !(linux && winEFI && bios) {
				t.Errorf("seed %d, %d VMs: linux %v, windows efi %v, bios %v", seed, n, linux, winEFI, bios)
			}
		}
	}
	if reflect.DeepEqual(planVMs(1, 20), planVMs(2, 20)) {
		t.Error("seeds 1 and 2 give the same mix")
	}
}

func TestApplianceDeviceIDsSkipTheCDROM(t *testing.T) {
	t.Parallel()
	if got, want := applianceDeviceIDs(5), []int{1, 2, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("applianceDeviceIDs(5) = %v, want %v", got, want)
	}
}
