package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

func (a *app) refreshCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "refresh VM",
		Short: "Re-read a VM from vCenter and show what changed in its record",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.client().Refresh(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(rep)
			}
			if len(rep.Changes) == 0 {
				fmt.Fprintf(a.out, "%s: nothing changed\n", rep.Context.VMName)
			}
			for _, c := range rep.Changes {
				fmt.Fprintf(a.out, "%s: %s\n", rep.Context.VMName, c)
			}
			for _, k := range rep.DisksWithoutReplica {
				fmt.Fprintf(a.out, "disk %d needs a replica: failoverctl update %s --replica %d=VOLUME_ID,SOURCE_URI,REPLICA_URI\n", k, rep.Context.ContextID, k)
			}
			return nil
		},
	}
}

func (a *app) updateCmd() *cobra.Command {
	var status, rpoTarget string
	var replicas []string
	cmd := &cobra.Command{
		Use:   "update VM [--status S] [--replica KEY=VOLUME[,SOURCE_URI,REPLICA_URI] …] [--rpo-target D]",
		Short: "Set a VM's replicas, replication status (replicating, ready_for_failover, failed) and RPO target",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			u := apiv1.ContextUpdate{Status: apiv1.ContextStatus(status), RPOTarget: rpoTarget}
			for _, r := range replicas {
				key, rest, ok := strings.Cut(r, "=")
				k, err := strconv.ParseInt(key, 10, 32)
				if !ok || err != nil || rest == "" {
					return usageError{fmt.Errorf("--replica %q: want KEY=VOLUME[,SOURCE_URI,REPLICA_URI]", r)}
				}
				f := strings.Split(rest, ",")
				du := apiv1.DiskUpdate{DiskKey: int32(k), VolumeID: f[0]}
				if len(f) == 3 {
					du.SourceNBDURI, du.ReplicaNBDURI = f[1], f[2]
				} else if len(f) != 1 {
					return usageError{fmt.Errorf("--replica %q: want KEY=VOLUME[,SOURCE_URI,REPLICA_URI]", r)}
				}
				u.Disks = append(u.Disks, du)
			}
			c, err := a.client().UpdateContext(cmd.Context(), args[0], u)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(c)
			}
			fmt.Fprintf(a.out, "%s (%s) is %s; replication %s, RPO %s (target %s)\n", c.VMName, c.ContextID, c.CurrentStatus,
				c.ReplicationState, rpoText(c.RPOSeconds), time.Duration(c.RPOTargetSeconds)*time.Second)
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "replicating, ready_for_failover or failed")
	cmd.Flags().StringVar(&rpoTarget, "rpo-target", "", "the VM's own RPO target (1m to 168h, e.g. 30m), or default for FAILOVER_RPO_TARGET")
	cmd.Flags().StringArrayVar(&replicas, "replica", nil, "KEY=VOLUME[,SOURCE_URI,REPLICA_URI] for a disk (repeatable)")
	return cmd
}

func (a *app) unregisterCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "unregister VM --yes",
		Short: "Remove a VM's record (admin): it is no longer protected; its jobs and the audit stay",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usageError{fmt.Errorf("unregistering ends %s's protection: add --yes", args[0])}
			}
			if err := a.client().Unregister(cmd.Context(), args[0]); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"unregistered": args[0]})
			}
			fmt.Fprintf(a.out, "%s unregistered\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	return cmd
}
