package lab

import (
	"fmt"
	"math/rand/v2"
)

// Operating systems and firmware of the seeded VMs, as VM.OS and
// VM.Firmware report them.
const (
	OSLinux      = "linux"
	OSWindows    = "windows"
	FirmwareBIOS = "bios"
	FirmwareEFI  = "efi"
)

// Guest ids the lab picks from.
var (
	linuxGuests   = []string{"otherLinux64Guest", "ubuntu64Guest", "rhel8_64Guest"}
	windowsGuests = []string{"windows9Server64Guest", "windows2019srv_64Guest"}
)

// vmPlan is the deterministic description of one seeded VM, before any
// simulator has been asked for anything.
type vmPlan struct {
	index    int // 0-based
	name     string
	os       string
	guestID  string
	firmware string
	offering offeringDef
	disks    int
	networks []networkDef // one per NIC, all different
	macs     []string
}

// planVMs returns the mix of n VMs for seed: Linux and Windows, BIOS and
// EFI, one to three disks, one to two NICs on different source networks.
// With three VMs or more there is at least one Linux VM, one Windows EFI VM
// and one BIOS VM.
func planVMs(seed int64, n int) []vmPlan {
	return planVMsOf(seed, n, nil, 0)
}

// planVMsOf is planVMs with the first len(names) VMs named names, and
// every VM given nics NICs when nics is not zero.
func planVMsOf(seed int64, n int, names []string, nics int) []vmPlan {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6c61622d6d6978)) // "lab-mix"
	plans := make([]vmPlan, n)
	for i := range plans {
		p := vmPlan{index: i, name: fmt.Sprintf("pgtest%d", i+1)}
		if r.IntN(5) < 2 {
			p.os = OSWindows
			p.firmware = pick(r, []string{FirmwareEFI, FirmwareEFI, FirmwareBIOS})
		} else {
			p.os = OSLinux
			p.firmware = pick(r, []string{FirmwareBIOS, FirmwareBIOS, FirmwareEFI})
		}
		p.offering = offeringCatalog[r.IntN(len(offeringCatalog))]
		p.disks = 1 + r.IntN(3)
		count := 1 + r.IntN(2)
		if nics > 0 {
			count = nics
		}
		if i < len(names) {
			p.name = names[i]
		}
		for _, j := range r.Perm(len(networkCatalog))[:count] {
			p.networks = append(p.networks, networkCatalog[j])
		}
		plans[i] = p
	}
	if n >= 3 {
		pinned := map[int]bool{}
		ensure(r, plans, pinned,
			func(p *vmPlan) bool { return p.os == OSWindows && p.firmware == FirmwareEFI },
			func(p *vmPlan) { p.os, p.firmware = OSWindows, FirmwareEFI })
		ensure(r, plans, pinned,
			func(p *vmPlan) bool { return p.os == OSLinux },
			func(p *vmPlan) { p.os = OSLinux })
		ensure(r, plans, pinned,
			func(p *vmPlan) bool { return p.firmware == FirmwareBIOS },
			func(p *vmPlan) { p.firmware = FirmwareBIOS })
	}
	for i := range plans {
		p := &plans[i]
		if p.os == OSWindows {
			p.guestID = pick(r, windowsGuests)
		} else {
			p.guestID = pick(r, linuxGuests)
		}
		for j := range p.networks {
			p.macs = append(p.macs, labMAC(i, j))
		}
	}
	return plans
}

// ensure makes sure some plan satisfies has, changing an unpinned one
// (from a random start) with fix when none does, and pins the plan that
// satisfies it so that later fixes leave it alone.
func ensure(r *rand.Rand, plans []vmPlan, pinned map[int]bool, has func(*vmPlan) bool, fix func(*vmPlan)) {
	for i := range plans {
		if has(&plans[i]) && !pinned[i] {
			pinned[i] = true
			return
		}
	}
	for i := range plans {
		if has(&plans[i]) {
			return // only pinned plans have it; they keep it
		}
	}
	start := r.IntN(len(plans))
	for k := range plans {
		i := (start + k) % len(plans)
		if !pinned[i] {
			fix(&plans[i])
			pinned[i] = true
			return
		}
	}
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

// labMAC returns the MAC address of NIC nic of VM vm: unique in the lab,
// in VMware's manual range 00:50:56:00:00:00–00:50:56:3f:ff:ff.
func labMAC(vm, nic int) string {
	n := vm*4 + nic + 1
	return fmt.Sprintf("00:50:56:%02x:%02x:%02x", 0x20|byte(n>>16)&0x1f, byte(n>>8), byte(n))
}
