package failover

import (
	"context"
	"time"

	"github.com/ossea/unifiedfailover/errs"
)

// DestinationState asks CloudStack for the state of the VM a failover made
// (for example "Running"): DR drills check each copy really runs. A
// failover without a destination VM is FailedPrecondition.
func (e *Engine) DestinationState(ctx context.Context, failoverJobID string) (vmID, state string, err error) {
	fo, err := e.store.GetFailoverJob(ctx, failoverJobID)
	if err != nil {
		return "", "", err
	}
	if fo.DestinationVMID == "" {
		return "", "", errs.New(errs.FailedPrecondition, "failover %s has no destination VM", fo.ExternalJobID)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	vm, err := e.cs.GetVM(ctx, fo.DestinationVMID)
	if err != nil {
		return fo.DestinationVMID, "", err
	}
	return vm.ID, vm.State, nil
}
