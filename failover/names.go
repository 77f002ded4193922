package failover

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ossea/unifiedfailover/cloudstack"
)

// maxHostName is the longest name CloudStack accepts for a VM: one
// hostname label (UserVmManagerImpl.checkNameForRFCCompliance).
const maxHostName = 63

// HostName derives the CloudStack name of a destination VM from its name
// in vCenter (and test suffix): CloudStack's name must be an RFC 1123
// hostname label of at most 63 letters, digits and hyphens that starts
// with a letter and does not end with a hyphen. The name is lower-cased,
// every run of other characters becomes one hyphen, a leading digit gets
// a "vm-" prefix, and a name still too long is cut and given a hyphen and
// the first 8 hex digits of the SHA-256 of the whole name, so two long
// names that share a prefix stay apart. The same name always gives the
// same host name. The real name goes in the VM's display name.
func HostName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	h := strings.TrimRight(b.String(), "-")
	if h == "" {
		h = "vm"
	}
	if h[0] >= '0' && h[0] <= '9' {
		h = "vm-" + h
	}
	if len(h) > maxHostName {
		sum := sha256.Sum256([]byte(name))
		suffix := "-" + hex.EncodeToString(sum[:])[:8]
		h = strings.TrimRight(h[:maxHostName-len(suffix)], "-") + suffix
	}
	return h
}

// DisplayName is the destination VM's CloudStack display name: its real
// name (with the test suffix), and the failover's external id, by which a
// retry finds the VM it made (MadeBy).
func DisplayName(name, externalJobID string) string {
	return fmt.Sprintf("%s (failover %s)", name, externalJobID)
}

// MadeBy reports whether a CloudStack VM was deployed by the failover with
// this external job id (its display name carries the id).
func MadeBy(vm *cloudstack.VM, externalJobID string) bool {
	return vm != nil && strings.Contains(vm.DisplayName, externalJobID)
}
