package failover

import (
	"fmt"
	"strings"
)

// SharedNetworks describes the planned NICs that share a destination
// network, or is empty when every NIC has its own. CloudStack gives a user
// VM at most one NIC per network: a deploy keys its NICs by network
// (BaseDeployVMCmd.getIpToNetworkMap, so two entries become one NIC) and
// addNicToVirtualMachine refuses a second NIC on a network the VM is on
// ("A NIC already exists for VM", UserVmManagerImpl.checkIfNetExistsForVM).
func SharedNetworks(nics []NICPlan) string {
	first := map[string]int{}
	var shared []string
	for i, n := range nics {
		if n.DestinationNetworkID == "" {
			continue
		}
		if j, ok := first[n.DestinationNetworkID]; ok {
			shared = append(shared, fmt.Sprintf("NIC %d (%s) and NIC %d (%s) both map to network %s",
				j, nics[j].SourceNetworkName, i, n.SourceNetworkName, n.DestinationNetworkID))
			continue
		}
		first[n.DestinationNetworkID] = i
	}
	return strings.Join(shared, "; ")
}
