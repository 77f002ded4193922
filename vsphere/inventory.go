package vsphere

import (
	"cmp"
	"context"
	"path"
	"slices"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// InventoryVM is one VM of vCenter's inventory, as an operator picks VMs
// to protect.
type InventoryVM struct {
	UUID string // instance UUID
	Name string
	// Path is the VM's inventory path, /datacenter/vm/folder/name.
	Path string
	// Folder is the inventory path of the VM's folder.
	Folder     string
	PowerState string
	GuestID    string
	// OSFamily is "windows", "linux" or "other".
	OSFamily string
	// CBTEnabled is the VM's changeTrackingEnabled setting.
	CBTEnabled bool
	// Disks in boot order; NICs by device key.
	Disks []Disk
	NICs  []NIC
}

// Inventory lists every VM of vCenter (templates excluded), sorted by
// inventory path, with what an operator needs to protect one: folder,
// power state, CBT, disks and NICs. It reads them in three property
// collector round trips, whatever the number of VMs.
func (c *Client) Inventory(ctx context.Context) ([]InventoryVM, error) {
	root := c.vim.ServiceContent.RootFolder
	v, err := view.NewManager(c.vim).CreateContainerView(ctx, root, []string{"VirtualMachine", "Folder", "Datacenter"}, true)
	if err != nil {
		return nil, classify(err, "listing vcenter's inventory")
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()

	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "parent", "config", "runtime.powerState", "network"}, &vms); err != nil {
		return nil, classify(err, "listing vcenter's VMs")
	}
	var entities []mo.ManagedEntity
	if err := v.Retrieve(ctx, []string{"Folder", "Datacenter"}, []string{"name", "parent"}, &entities); err != nil {
		return nil, classify(err, "listing vcenter's folders")
	}
	paths := entityPaths(root, entities)

	var nets []types.ManagedObjectReference
	for _, vm := range vms {
		nets = append(nets, vm.Network...)
	}
	slices.SortFunc(nets, func(a, b types.ManagedObjectReference) int { return strings.Compare(a.Value, b.Value) })
	portGroups, err := c.portGroupNames(ctx, slices.Compact(nets))
	if err != nil {
		return nil, classify(err, "reading vcenter's port groups")
	}

	out := make([]InventoryVM, 0, len(vms))
	for _, vm := range vms {
		cfg := vm.Config
		if cfg == nil || cfg.Template {
			continue // inaccessible, or a template: nothing to protect
		}
		iv := InventoryVM{UUID: cfg.InstanceUuid, Name: vm.Name, PowerState: string(vm.Runtime.PowerState),
			GuestID: cfg.GuestId, OSFamily: osFamily(cfg.GuestId, cfg.GuestFullName),
			CBTEnabled: cfg.ChangeTrackingEnabled != nil && *cfg.ChangeTrackingEnabled,
			Disks:      disks(cfg.Hardware.Device), NICs: nics(cfg.Hardware.Device, portGroups)}
		if vm.Parent != nil {
			iv.Folder = paths[vm.Parent.Value]
		}
		iv.Path = path.Join(cmp.Or(iv.Folder, "/"), vm.Name)
		out = append(out, iv)
	}
	slices.SortFunc(out, func(a, b InventoryVM) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.UUID, b.UUID))
	})
	return out, nil
}

// entityPaths returns the inventory path of every folder and datacenter
// by managed object id: the names from the root folder (whose own name is
// not part of a path) down, joined by "/".
func entityPaths(root types.ManagedObjectReference, entities []mo.ManagedEntity) map[string]string {
	byID := make(map[string]mo.ManagedEntity, len(entities))
	for _, e := range entities {
		byID[e.Self.Value] = e
	}
	paths := map[string]string{root.Value: ""}
	var resolve func(id string, depth int) string
	resolve = func(id string, depth int) string {
		if p, ok := paths[id]; ok {
			return p
		}
		e, ok := byID[id]
		if !ok || e.Parent == nil || depth > 64 {
			return ""
		}
		p := resolve(e.Parent.Value, depth+1) + "/" + e.Name
		paths[id] = p
		return p
	}
	for id := range byID {
		resolve(id, 0)
	}
	return paths
}

// UUIDByPath returns the instance UUID of the VM at an inventory path
// (/datacenter/vm/folder/name). No VM there is an errs.NotFound error.
func (c *Client) UUIDByPath(ctx context.Context, inventoryPath string) (string, error) {
	if !strings.HasPrefix(inventoryPath, "/") {
		return "", errs.New(errs.InvalidArgument, "finding VM by inventory path %q: the path must start with /", inventoryPath)
	}
	ref, err := object.NewSearchIndex(c.vim).FindByInventoryPath(ctx, inventoryPath)
	if err != nil {
		return "", classify(err, "finding VM by inventory path %s", inventoryPath)
	}
	vm, ok := ref.(*object.VirtualMachine)
	if !ok || vm == nil {
		return "", errs.New(errs.NotFound, "finding VM by inventory path %s: no VM there", inventoryPath)
	}
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.instanceUuid"}, &props); err != nil {
		return "", classify(err, "reading the VM at %s", inventoryPath)
	}
	if props.Config == nil || props.Config.InstanceUuid == "" {
		return "", errs.New(errs.FailedPrecondition, "the VM at %s has no instance UUID (inaccessible?)", inventoryPath)
	}
	return props.Config.InstanceUuid, nil
}
