// Command govc is govmomi's govc, the vSphere command-line client, built
// from the github.com/vmware/govmomi/cli command packages at the module's
// govmomi version (go.mod), for checking the lab's simulated vCenter by
// hand and in tests, e.g. with GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD and
// GOVC_INSECURE=1:
//
//	govc ls /DC0/vm
//	govc vm.info -json pgtest1
//
// Each command package registers its commands in init; only the commands
// useful against the lab are linked in.
package main

import (
	"os"
	"runtime/debug"

	"github.com/vmware/govmomi/cli"
	"github.com/vmware/govmomi/cli/flags"

	_ "github.com/vmware/govmomi/cli/about"
	_ "github.com/vmware/govmomi/cli/cluster"
	_ "github.com/vmware/govmomi/cli/datacenter"
	_ "github.com/vmware/govmomi/cli/datastore"
	_ "github.com/vmware/govmomi/cli/device"
	_ "github.com/vmware/govmomi/cli/dvs"
	_ "github.com/vmware/govmomi/cli/dvs/portgroup"
	_ "github.com/vmware/govmomi/cli/env"
	_ "github.com/vmware/govmomi/cli/events"
	_ "github.com/vmware/govmomi/cli/folder"
	_ "github.com/vmware/govmomi/cli/host"
	_ "github.com/vmware/govmomi/cli/ls"
	_ "github.com/vmware/govmomi/cli/pool"
	_ "github.com/vmware/govmomi/cli/session"
	_ "github.com/vmware/govmomi/cli/task"
	_ "github.com/vmware/govmomi/cli/version"
	_ "github.com/vmware/govmomi/cli/vm"
	_ "github.com/vmware/govmomi/cli/vm/disk"
	_ "github.com/vmware/govmomi/cli/vm/network"
	_ "github.com/vmware/govmomi/cli/vm/snapshot"
)

func main() {
	flags.BuildVersion = govmomiVersion()
	os.Exit(cli.Run(os.Args[1:]))
}

// govmomiVersion is the version of govmomi this binary was built with
// ("v0.52.0"), which upstream sets at link time; govc reports it in
// "govc version" and its User-Agent.
func govmomiVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/vmware/govmomi" {
				return m.Version
			}
		}
	}
	return flags.BuildVersion
}
