package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

func (a *app) inventoryCmd() *cobra.Command {
	var unprotected, protected bool
	cmd := &cobra.Command{
		Use:   "inventory [--unprotected|--protected]",
		Short: "List vCenter's VMs as candidates for protection: folder, power, CBT, disks and their replicas, NICs",
		Args:  maxArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var filter *bool
			switch {
			case unprotected && protected:
				return usageError{errors.New("--unprotected and --protected exclude each other")}
			case unprotected:
				filter = new(false)
			case protected:
				filter = new(true)
			}
			vms, err := a.client().Inventory(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(vms)
			}
			tw := a.table()
			fmt.Fprintln(tw, "VM\tPATH\tPOWER\tOS\tCBT\tDISKS\tREPLICAS\tNICS\tPROTECTED")
			var hints []string
			for _, vm := range vms {
				cbt := "on"
				if !vm.CBT.Enabled {
					cbt = "OFF"
					hints = append(hints, vm.Name+": "+vm.CBT.Hint)
				}
				found := 0
				for _, d := range vm.Disks {
					if d.Replica.VolumeID != "" {
						found++
					}
				}
				var nets []string
				for _, n := range vm.NICs {
					nets = append(nets, n.NetworkName)
				}
				prot := "-"
				if vm.Protected {
					prot = vm.ContextID + " (" + string(vm.ContextStatus) + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\n", vm.Name, vm.InventoryPath, vm.PowerState, vm.OSType, cbt,
					len(vm.Disks), found, len(vm.Disks), strings.Join(nets, ","), prot)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, h := range hints {
				fmt.Fprintf(a.out, "! %s\n", h)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&unprotected, "unprotected", false, "only the VMs not protected yet")
	cmd.Flags().BoolVar(&protected, "protected", false, "only the protected VMs")
	return cmd
}

func (a *app) protectCmd() *cobra.Command {
	var replicas []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "protect VM [--replica DISK=VOLUME_ID ...] [--dry-run]",
		Short: "Protect a VM from vCenter's inventory (by name, UUID or inventory path)",
		Long: `protect finds the VM in vCenter's inventory (by name, instance UUID or
inventory path), shows what the product found for it (each disk's replica
volume, by --replica or by the naming rule FAILOVER_REPLICA_VOLUME_NAME on the
appliance, its NICs, its changed block tracking) and what is missing, then
registers it. DISK is a disk number (1 for the first disk in vCenter's order),
a disk key (2000) or a label ("Hard disk 1"). Everything else (exports and
change ids) the product reads from vCenter and its replica rules.`,
		Args: nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			vms, err := c.Inventory(cmd.Context(), nil)
			if err != nil {
				return err
			}
			vm, err := findInventoryVM(vms, args[0])
			if err != nil {
				return err
			}
			given, err := parseReplicas(vm, replicas)
			if err != nil {
				return err
			}
			missing := a.showFound(vm, given)
			switch {
			case vm.Protected:
				return codedError{exitConflict, fmt.Errorf("%s is already protected as context %s (%s)", vm.Name, vm.ContextID, vm.ContextStatus)}
			case !vm.CBT.Enabled:
				return codedError{exitConflict, fmt.Errorf("%s cannot be protected: %s", vm.Name, vm.CBT.Hint)}
			case missing > 0:
				return usageError{fmt.Errorf("%d disk(s) of %s have no replica: give --replica DISK=VOLUME_ID", missing, vm.Name)}
			case dryRun:
				if a.json {
					return a.printJSON(vm)
				}
				fmt.Fprintf(a.out, "dry run: %s would be protected\n", vm.Name)
				return nil
			}
			req := apiv1.RegisterRequest{VMwareVMID: vm.VMwareVMID}
			for _, d := range vm.Disks {
				if id, ok := given[d.DiskKey]; ok {
					req.Disks = append(req.Disks, apiv1.RegisterDisk{DiskKey: d.DiskKey, VolumeID: id})
				}
			}
			ctx, err := c.Register(cmd.Context(), req)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ctx)
			}
			fmt.Fprintf(a.out, "protected %s as context %s (%s)\n", ctx.VMName, ctx.ContextID, ctx.CurrentStatus)
			for _, d := range ctx.Disks {
				fmt.Fprintf(a.out, "  disk %d: replica %s, change id %s\n", d.DiskKey, d.VolumeID, d.ChangeID)
			}
			fmt.Fprintf(a.out, "next: failoverctl mappings set %s SOURCE_NETWORK NETWORK_ID --type test|live; failoverctl preflight %s\n",
				ctx.VMName, ctx.VMName)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&replicas, "replica", nil, "DISK=VOLUME_ID: the CloudStack volume holding a disk's replica (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what was found and what is missing, and register nothing")
	return cmd
}

// findInventoryVM finds a VM by instance UUID, inventory path or name; a
// name that several VMs share is refused with their paths.
func findInventoryVM(vms []apiv1.InventoryVM, key string) (apiv1.InventoryVM, error) {
	var byName []apiv1.InventoryVM
	for _, vm := range vms {
		if vm.VMwareVMID == key || vm.InventoryPath == key {
			return vm, nil
		}
		if vm.Name == key {
			byName = append(byName, vm)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
		return apiv1.InventoryVM{}, codedError{exitNotFound, fmt.Errorf("no VM %q in vCenter's inventory (failoverctl inventory lists them)", key)}
	}
	paths := make([]string, len(byName))
	for i, vm := range byName {
		paths[i] = vm.InventoryPath
	}
	return apiv1.InventoryVM{}, usageError{fmt.Errorf("%d VMs are named %q: give the inventory path (%s)", len(byName), key, strings.Join(paths, ", "))}
}

// parseReplicas reads --replica DISK=VOLUME_ID flags against the VM's
// disks, by disk key, disk number or label.
func parseReplicas(vm apiv1.InventoryVM, flags []string) (map[int32]string, error) {
	out := map[int32]string{}
	for _, f := range flags {
		sel, vol, ok := strings.Cut(f, "=")
		if !ok || strings.TrimSpace(sel) == "" || strings.TrimSpace(vol) == "" {
			return nil, usageError{fmt.Errorf("--replica %q: want DISK=VOLUME_ID", f)}
		}
		disk, ok := findDisk(vm.Disks, strings.TrimSpace(sel))
		if !ok {
			return nil, usageError{fmt.Errorf("--replica %q: %s has no disk %q (disks are numbered 1 to %d)", f, vm.Name, sel, len(vm.Disks))}
		}
		if _, dup := out[disk.DiskKey]; dup {
			return nil, usageError{fmt.Errorf("--replica %q: disk %d is given twice", f, disk.DiskNumber)}
		}
		out[disk.DiskKey] = strings.TrimSpace(vol)
	}
	return out, nil
}

func findDisk(disks []apiv1.InventoryDisk, sel string) (apiv1.InventoryDisk, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(sel, "disk"))
	for _, d := range disks {
		if (err == nil && (int(d.DiskKey) == n || d.DiskNumber == n)) || strings.EqualFold(d.Label, sel) {
			return d, true
		}
	}
	return apiv1.InventoryDisk{}, false
}

// showFound prints what was found for the VM and what is missing, and
// returns the number of disks without a replica.
func (a *app) showFound(vm apiv1.InventoryVM, given map[int32]string) int {
	if a.json {
		return countMissing(vm, given)
	}
	cbt := "on"
	if !vm.CBT.Enabled {
		cbt = "OFF"
	}
	fmt.Fprintf(a.out, "%s (%s)\n  path %s, %s, %s, changed block tracking %s\n", vm.Name, vm.VMwareVMID, vm.InventoryPath, vm.PowerState, vm.OSType, cbt)
	for _, d := range vm.Disks {
		r := d.Replica
		switch id, ok := given[d.DiskKey]; {
		case ok:
			fmt.Fprintf(a.out, "  disk %d (%s, key %d, %d MiB): replica %s (--replica)\n", d.DiskNumber, d.Label, d.DiskKey, d.SizeBytes>>20, id)
		case r.VolumeID != "":
			fmt.Fprintf(a.out, "  disk %d (%s, key %d, %d MiB): replica %s (%s, %s)\n", d.DiskNumber, d.Label, d.DiskKey, d.SizeBytes>>20,
				r.VolumeName, r.VolumeID, strings.ReplaceAll(r.FoundBy, "_", " "))
		default:
			fmt.Fprintf(a.out, "  disk %d (%s, key %d, %d MiB): MISSING: %s\n", d.DiskNumber, d.Label, d.DiskKey, d.SizeBytes>>20, r.Problem)
		}
	}
	for _, n := range vm.NICs {
		fmt.Fprintf(a.out, "  nic %s %s (%s)\n", n.NetworkName, n.MAC, n.AdapterType)
	}
	if !vm.CBT.Enabled {
		fmt.Fprintf(a.out, "  ! %s\n", vm.CBT.Hint)
	}
	return countMissing(vm, given)
}

func countMissing(vm apiv1.InventoryVM, given map[int32]string) int {
	n := 0
	for _, d := range vm.Disks {
		if _, ok := given[d.DiskKey]; !ok && d.Replica.VolumeID == "" {
			n++
		}
	}
	return n
}
