package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Inventory lists vCenter's VMs as candidates for protection; protected,
// when set, keeps only the protected (true) or unprotected (false) ones.
func (c *Client) Inventory(ctx context.Context, protected *bool) ([]apiv1.InventoryVM, error) {
	path := "/api/v1/inventory/vms"
	if protected != nil {
		path += "?" + url.Values{"protected": {strconv.FormatBool(*protected)}}.Encode()
	}
	var out apiv1.InventoryList
	if err := c.Do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out.VMs, nil
}
