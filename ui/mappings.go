package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// mappingRow is one row of the mapping editor: a source network of the
// VM for one failover type, and the CloudStack network it maps to.
type mappingRow struct {
	Index         int
	Source        string
	Type          apiv1.MappingType
	DestinationID string
}

// maxMappingRows bounds the rows a posted editor may carry.
const maxMappingRows = 64

// mappingRows are the editor's rows: every source network of the VM's
// NICs and of its mappings, live then test, with the current mapping.
func mappingRows(vm apiv1.ContextDetail) []mappingRow {
	var sources []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			sources = append(sources, s)
		}
	}
	for _, n := range vm.NICs {
		add(n.NetworkName)
	}
	for _, m := range vm.Mappings {
		add(m.SourceNetworkName)
	}
	current := map[[2]string]string{}
	for _, m := range vm.Mappings {
		current[[2]string{m.SourceNetworkName, string(m.MappingType)}] = m.DestinationNetworkID
	}
	var rows []mappingRow
	for _, s := range sources {
		for _, t := range []apiv1.MappingType{apiv1.MappingLive, apiv1.MappingTest} {
			rows = append(rows, mappingRow{Index: len(rows), Source: s, Type: t, DestinationID: current[[2]string{s, string(t)}]})
		}
	}
	return rows
}

// saveMappings saves the editor's rows in one request, so in one
// transaction (POST /network-mappings/context/{id}: an upsert of every
// row that names a network; the API checks CloudStack has each).
func (c *Console) saveMappings(w http.ResponseWriter, r *http.Request) {
	var bulk apiv1.BulkMappings
	for i := 0; i < maxMappingRows; i++ {
		n := strconv.Itoa(i)
		src, dst := r.PostFormValue("src_"+n), r.PostFormValue("dst_"+n)
		if src == "" {
			break
		}
		if dst == "" {
			continue
		}
		bulk.Mappings = append(bulk.Mappings, apiv1.MappingInput{SourceNetworkName: src, DestinationNetworkID: dst,
			MappingType: apiv1.MappingType(r.PostFormValue("type_" + n))})
	}
	id := r.PathValue("id")
	if len(bulk.Mappings) > 0 {
		if err := c.call(r.Context(), sessionOf(r), http.MethodPost, "/network-mappings/context/"+pathEscape(id), bulk, nil); err != nil {
			c.failErr(w, r, err)
			return
		}
	}
	http.Redirect(w, r, Path+"/vms/"+url.PathEscape(id)+"#mappings", http.StatusSeeOther)
}
