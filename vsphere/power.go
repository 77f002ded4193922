package vsphere

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// Power states as vCenter names them.
const (
	PoweredOn  = string(types.VirtualMachinePowerStatePoweredOn)
	PoweredOff = string(types.VirtualMachinePowerStatePoweredOff)
	Suspended  = string(types.VirtualMachinePowerStateSuspended)
)

// ShutdownPath says how ShutdownGuest got the VM powered off.
type ShutdownPath string

// The shutdown paths.
const (
	// ShutdownAlreadyOff: the VM was off before the call; nothing was done.
	ShutdownAlreadyOff ShutdownPath = "already-off"
	// ShutdownGuestOS: the guest shut itself down after a guest shutdown
	// request.
	ShutdownGuestOS ShutdownPath = "guest"
	// ShutdownHard: the VM was powered off hard (no tools, a guest that did
	// not stop within the timeout, or a refused guest shutdown).
	ShutdownHard ShutdownPath = "hard"
)

// ShutdownResult reports what ShutdownGuest did.
type ShutdownResult struct {
	Path ShutdownPath
	// GuestRequested says a guest shutdown was requested (and accepted).
	GuestRequested bool
	// Reason explains a hard power-off ("" otherwise).
	Reason string
	// Took is how long the call took.
	Took time.Duration
}

// PowerState returns the VM's power state: "poweredOn", "poweredOff" or
// "suspended".
func (c *Client) PowerState(ctx context.Context, uuid string) (string, error) {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return "", err
	}
	return c.powerState(ctx, vm)
}

func (c *Client) powerState(ctx context.Context, vm *object.VirtualMachine) (string, error) {
	state, err := vm.PowerState(ctx)
	if err != nil {
		return "", classify(err, "reading the power state of VM %s", vm.Reference().Value)
	}
	return string(state), nil
}

// ToolsInstalled reports whether VMware Tools are installed in the VM's
// guest (guest.toolsVersionStatus2 is not guestToolsNotInstalled; an
// unknown status counts as not installed, so nothing waits for them).
func (c *Client) ToolsInstalled(ctx context.Context, uuid string) (bool, error) {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return false, err
	}
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"guest.toolsVersionStatus2"}, &props); err != nil {
		return false, classify(err, "reading the tools version status of VM %s", uuid)
	}
	if props.Guest == nil {
		return false, nil
	}
	st := props.Guest.ToolsVersionStatus2
	return st != "" && st != string(types.VirtualMachineToolsVersionStatusGuestToolsNotInstalled), nil
}

// ToolsRunning reports whether VMware Tools run in the VM's guest.
func (c *Client) ToolsRunning(ctx context.Context, uuid string) (bool, error) {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return false, err
	}
	return c.toolsRunning(ctx, vm)
}

func (c *Client) toolsRunning(ctx context.Context, vm *object.VirtualMachine) (bool, error) {
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"guest.toolsRunningStatus"}, &props); err != nil {
		return false, classify(err, "reading the tools status of VM %s", vm.Reference().Value)
	}
	return props.Guest != nil &&
		props.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning), nil
}

// ShutdownGuest powers the VM off and confirms it is off. It is
// idempotent: a VM already off is left alone. With VMware Tools running it
// asks the guest to shut down and waits up to timeout for poweredOff; then
// (or without tools) it powers the VM off hard. The caller's deadline
// bounds the whole call.
func (c *Client) ShutdownGuest(ctx context.Context, uuid string, timeout time.Duration) (ShutdownResult, error) {
	start := time.Now()
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return ShutdownResult{}, err
	}
	state, err := c.powerState(ctx, vm)
	if err != nil {
		return ShutdownResult{}, err
	}
	if state == PoweredOff {
		return ShutdownResult{Path: ShutdownAlreadyOff, Took: time.Since(start)}, nil
	}

	res := ShutdownResult{Path: ShutdownHard}
	switch tools, err := c.toolsRunning(ctx, vm); {
	case err != nil:
		return ShutdownResult{}, err
	case state != PoweredOn:
		res.Reason = "the VM is " + state
	case !tools:
		res.Reason = "VMware Tools are not running"
	default:
		requested, off, reason, err := c.guestShutdown(ctx, vm, timeout)
		if err != nil {
			return ShutdownResult{}, err
		}
		res.GuestRequested = requested
		if off {
			res.Path = ShutdownGuestOS
			res.Took = time.Since(start)
			return res, c.confirmOff(ctx, vm)
		}
		res.Reason = reason
	}

	task, err := vm.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isFault(err, &types.InvalidPowerState{}) {
		return ShutdownResult{}, classify(err, "powering off VM %s", uuid)
	}
	if err != nil && res.GuestRequested {
		res.Path = ShutdownGuestOS // the guest got there first
	}
	res.Took = time.Since(start)
	return res, c.confirmOff(ctx, vm)
}

// guestShutdown asks the guest to shut down and waits up to timeout. It
// returns whether the request was accepted, whether the VM is off, why not
// (a refused request or the timeout), or an error when the caller's
// context ended or vCenter failed.
func (c *Client) guestShutdown(ctx context.Context, vm *object.VirtualMachine, timeout time.Duration) (requested, off bool, reason string, err error) {
	if err := vm.ShutdownGuest(ctx); err != nil {
		cerr := classify(err, "requesting guest shutdown of VM %s", vm.Reference().Value)
		switch {
		case isFault(err, &types.InvalidPowerState{}):
			return false, true, "", nil // already off
		case ctx.Err() != nil || errs.IsTransient(cerr):
			return false, false, "", cerr
		}
		return false, false, fmt.Sprintf("guest shutdown refused: %v", err), nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = vm.WaitForPowerState(waitCtx, types.VirtualMachinePowerStatePoweredOff)
	switch {
	case err == nil:
		return true, true, "", nil
	case ctx.Err() != nil:
		return true, false, "", classify(ctx.Err(), "waiting for guest shutdown of VM %s", vm.Reference().Value)
	case errors.Is(err, context.DeadlineExceeded) || waitCtx.Err() != nil:
		return true, false, fmt.Sprintf("the guest did not shut down within %s", timeout), nil
	default:
		return true, false, "", classify(err, "waiting for guest shutdown of VM %s", vm.Reference().Value)
	}
}

func (c *Client) confirmOff(ctx context.Context, vm *object.VirtualMachine) error {
	state, err := c.powerState(ctx, vm)
	if err != nil {
		return err
	}
	if state != PoweredOff {
		return errs.New(errs.FailedPrecondition, "VM %s is %s after power-off", vm.Reference().Value, state).WithDetails("power_state", state)
	}
	return nil
}

// PowerOn powers the VM on; a VM already on is left alone. With
// waitForTools it then waits, within the caller's deadline, until VMware
// Tools run in the guest.
func (c *Client) PowerOn(ctx context.Context, uuid string, waitForTools bool) error {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return err
	}
	state, err := c.powerState(ctx, vm)
	if err != nil {
		return err
	}
	if state != PoweredOn {
		task, err := vm.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil && !isFault(err, &types.InvalidPowerState{}) {
			return classify(err, "powering on VM %s", uuid)
		}
		if err := vm.WaitForPowerState(ctx, types.VirtualMachinePowerStatePoweredOn); err != nil {
			return classify(err, "waiting for VM %s to power on", uuid)
		}
	}
	if !waitForTools {
		return nil
	}
	err = property.Wait(ctx, property.DefaultCollector(c.vim), vm.Reference(), []string{"guest.toolsRunningStatus"},
		func(changes []types.PropertyChange) bool {
			for _, ch := range changes {
				if ch.Val == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
					return true
				}
			}
			return false
		})
	if err != nil {
		return classify(err, "waiting for VMware Tools in VM %s", uuid)
	}
	return nil
}
