package api

import (
	"net/http"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// listInventory answers vCenter's VMs as candidates for protection;
// ?protected=false keeps the unprotected ones, ?protected=true the
// others.
func (s *Server) listInventory(w http.ResponseWriter, r *http.Request) error {
	keep := func(bool) bool { return true }
	switch v := r.URL.Query().Get("protected"); v {
	case "":
	case "true", "false":
		want := v == "true"
		keep = func(p bool) bool { return p == want }
	default:
		return errs.Field("protected", "must be true or false, not %q", v)
	}
	entries, err := s.engine.Inventory(r.Context())
	if err != nil {
		return err
	}
	out := apiv1.InventoryList{VMs: []apiv1.InventoryVM{}}
	for _, en := range entries {
		if keep(en.Context != nil) {
			out.VMs = append(out.VMs, inventoryOut(en))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
