package e2e

import (
	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/nbd"
)

func planOf(err error) *apiv1.Plan { return client.PlanOf(err) }

// writeReplica writes through a replica's export, as the destination VM
// would.
func writeReplica(b *bundle, uri string, off int64, data []byte) error {
	h, err := nbd.Connect(b.ctx, uri)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Pwrite(data, off); err != nil {
		return err
	}
	return h.Flush()
}
