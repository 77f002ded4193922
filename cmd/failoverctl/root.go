package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/client"
)

// app is the state shared by the commands.
type app struct {
	apiURL string
	token  string
	json   bool
	every  time.Duration
	out    io.Writer
}

// client is the API client. The token is --token, else
// $FAILOVER_API_TOKEN, read here rather than as the flag's default so that
// --help never prints it.
func (a *app) client() *client.Client {
	token := a.token
	if token == "" {
		token = os.Getenv("FAILOVER_API_TOKEN")
	}
	return client.New(a.apiURL, token)
}

// printJSON prints v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printRaw prints the API's answer to GET path as it came, indented.
func (a *app) printRaw(ctx context.Context, c *client.Client, path string) error {
	var raw json.RawMessage
	if err := c.Do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("the API's answer to %s is not JSON: %w", path, err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(a.out)
	return err
}

func (a *app) table() *tabwriter.Writer { return tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0) }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// nArgs is cobra.ExactArgs with a usage error.
func nArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s", cmd.CommandPath(), names)}
		}
		return nil
	}
}

func maxArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{fmt.Errorf("%s takes at most %s", cmd.CommandPath(), names)}
		}
		return nil
	}
}

func oneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageError{fmt.Errorf("--%s must be one of %s, not %q", flag, strings.Join(allowed, ", "), v)}
}

func newRoot() *cobra.Command {
	a := &app{out: os.Stdout}
	root := &cobra.Command{
		Use:   "failoverctl",
		Short: "Operate Unified Failover: mappings, pre-flight, failovers, rollbacks, commits, jobs, audit",
		Long: `failoverctl talks to the Unified Failover API at $FAILOVER_API_URL (default
http://127.0.0.1:8080) with the bearer token in $FAILOVER_API_TOKEN.

Exit codes: 0 ok; 1 failed job or error; 2 usage or invalid input (400, 413);
3 approval needed (428: add --confirm); 4 conflict (409: an active job, or a
state that does not allow it; 412: a plan changed since it was read; "plans
validate" of a plan with blockers); 5 authentication or permission (401, 403);
6 not found (404); 7 API unreachable or unavailable (503); 130 interrupted
(Ctrl-C while watching: the job keeps running, "failoverctl watch JOB"
follows it again).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.apiURL, "api-url", env("FAILOVER_API_URL", "http://127.0.0.1:8080"), "API base URL ($FAILOVER_API_URL)")
	pf.StringVar(&a.token, "token", "", "API bearer token (default $FAILOVER_API_TOKEN, never printed)")
	pf.BoolVar(&a.json, "json", false, "print JSON instead of tables")
	pf.DurationVar(&a.every, "poll", 250*time.Millisecond, "how often --watch polls the job")
	root.AddCommand(a.inventoryCmd(), a.protectCmd(), a.contextsCmd(), a.mappingsCmd(), a.preflightCmd(), a.failoverCmd(), a.rollbackCmd(),
		a.commitCmd(), a.retryCmd(), a.cancelCmd(), a.refreshCmd(), a.updateCmd(), a.unregisterCmd(), a.jobsCmd(), a.watchCmd(), a.auditCmd(), a.networksCmd(), a.workersCmd(), a.drillsCmd(), a.plansCmd(), tokenCmd(a))
	// Unknown commands are usage errors too.
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q", args[0])}
		}
		return cmd.Help()
	}
	root.Args = cobra.ArbitraryArgs
	return root
}

func (a *app) contextsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "contexts [VM]",
		Short: "List VM contexts, or show one (by VM name or context id)",
		Args:  maxArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			if len(args) == 1 {
				d, err := c.Context(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(d)
				}
				fmt.Fprintf(a.out, "%s (%s)\n  status %s since %s\n  vmware %s, %d CPU, %d MB, %s %s\n", d.VMName, d.ContextID,
					d.CurrentStatus, d.LastStatusChange.Format(time.RFC3339), d.VMwareVMID, d.CPUCount, d.MemoryMB, d.OSType, d.Firmware)
				fmt.Fprintf(a.out, "  replication %s, RPO %s (target %s)\n", d.ReplicationState, rpoText(d.RPOSeconds),
					time.Duration(d.RPOTargetSeconds)*time.Second)
				for _, disk := range d.Disks {
					synced := "never synced"
					if disk.LastSyncedAt != nil {
						synced = "synced " + disk.LastSyncedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(a.out, "  disk %d: volume %s, %d bytes, %s\n", disk.DiskKey, disk.VolumeID, disk.SizeBytes, synced)
				}
				for _, n := range d.NICs {
					fmt.Fprintf(a.out, "  nic %s %s\n", n.NetworkName, n.MAC)
				}
				for _, m := range d.Mappings {
					fmt.Fprintf(a.out, "  mapping %s: %s -> %s (%s)\n", m.MappingType, m.SourceNetworkName,
						m.DestinationNetworkName, m.DestinationNetworkID)
				}
				if len(d.Mappings) == 0 {
					fmt.Fprintf(a.out, "  no network mappings (failoverctl mappings set)\n")
				}
				for _, j := range d.Jobs {
					fmt.Fprintf(a.out, "  job %s %s %s\n", j.ExternalID, j.Type, j.Status)
				}
				return nil
			}
			cs, err := c.Contexts(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(cs)
			}
			tw := a.table()
			fmt.Fprintln(tw, "VM\tCONTEXT\tSTATUS\tREPLICATION\tRPO\tTARGET\tCPU\tMEMORY MB\tOS")
			for _, x := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", x.VMName, x.ContextID, x.CurrentStatus, x.ReplicationState,
					rpoText(x.RPOSeconds), time.Duration(x.RPOTargetSeconds)*time.Second, x.CPUCount, x.MemoryMB, x.OSType)
			}
			return tw.Flush()
		},
	}
}

// rpoText shows an RPO in seconds as a duration, or unknown.
func rpoText(secs *int64) string {
	if secs == nil {
		return "unknown"
	}
	return (time.Duration(*secs) * time.Second).String()
}

func (a *app) mappingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mappings [VM]",
		Short: "List network mappings (of one VM), check them, set or delete them",
		Args:  maxArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			var ms *client.Mappings
			var err error
			if len(args) == 1 {
				ms, err = c.VMMappings(cmd.Context(), args[0])
			} else {
				ms, err = c.AllMappings(cmd.Context())
			}
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ms)
			}
			names := a.vmNames(cmd.Context(), c)
			tw := a.table()
			fmt.Fprintln(tw, "VM\tCONTEXT\tSOURCE NETWORK\tTYPE\tDESTINATION\tDESTINATION ID")
			for _, m := range ms.Mappings {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", names.of(m.ContextID), m.ContextID, m.SourceNetworkName, m.MappingType,
					m.DestinationNetworkName, m.DestinationNetworkID)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status VM",
		Short: "Which source networks of a VM lack a test or live mapping (exit 1 when any does)",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.client().MappingStatus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				if err := a.printJSON(st); err != nil {
					return err
				}
			} else {
				tw := a.table()
				fmt.Fprintln(tw, "SOURCE NETWORK\tTEST\tLIVE")
				for _, n := range st.SourceNetworks {
					test, live := "MISSING", "MISSING"
					if n.Test != nil {
						test = n.Test.DestinationNetworkName + " (" + n.Test.DestinationNetworkID + ")"
					}
					if n.Live != nil {
						live = n.Live.DestinationNetworkName + " (" + n.Live.DestinationNetworkID + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", n.SourceNetworkName, test, live)
				}
				_ = tw.Flush()
			}
			if !st.TestComplete || !st.LiveComplete {
				return quiet{exitFailed}
			}
			return nil
		},
	})
	var typ, name string
	set := &cobra.Command{
		Use:   "set VM SOURCE_NETWORK DESTINATION_NETWORK_ID --type test|live",
		Short: "Create or replace the mapping of one source network",
		Args:  nArgs(3, "VM, source network and destination network id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("type", typ, "test", "live"); err != nil {
				return err
			}
			c := a.client()
			d, err := c.Context(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			m, err := c.SetMapping(cmd.Context(), d.ContextID, client.MappingInput{SourceNetworkName: args[1],
				DestinationNetworkID: args[2], DestinationNetworkName: name, MappingType: apiv1.MappingType(typ)})
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(m)
			}
			fmt.Fprintf(a.out, "%s: %s %s → %s (%s)\n", d.VMName, m.MappingType, m.SourceNetworkName, m.DestinationNetworkName, m.DestinationNetworkID)
			return nil
		},
	}
	set.Flags().StringVar(&typ, "type", "", "mapping type: test or live (required)")
	set.Flags().StringVar(&name, "name", "", "destination network name (default: CloudStack's)")
	cmd.AddCommand(set)
	var delType string
	del := &cobra.Command{
		Use:   "delete VM SOURCE_NETWORK [--type test|live]",
		Short: "Delete the mappings of one source network (of one type with --type)",
		Args:  nArgs(2, "VM and source network"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if delType != "" {
				if err := oneOf("type", delType, "test", "live"); err != nil {
					return err
				}
			}
			n, err := a.client().DeleteMappings(cmd.Context(), args[0], args[1], delType)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"deleted": n})
			}
			fmt.Fprintf(a.out, "deleted %d mapping(s)\n", n)
			return nil
		},
	}
	del.Flags().StringVar(&delType, "type", "", "only this mapping type")
	cmd.AddCommand(del)
	return cmd
}

func (a *app) preflightCmd() *cobra.Command {
	var typ string
	cmd := &cobra.Command{
		Use:   "preflight VM [--type test|live]",
		Short: "Show a failover's defaults, options, networks and pre-flight checks (exit 1 when a check fails)",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("type", typ, "test", "live"); err != nil {
				return err
			}
			p, err := a.client().PreflightConfig(cmd.Context(), typ, args[0])
			if err != nil {
				return err
			}
			if a.json {
				if err := a.printJSON(p); err != nil {
					return err
				}
			} else {
				printPreflight(a.out, p)
			}
			if !p.Preflight.Passed {
				return quiet{exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "test", "failover type: test or live")
	return cmd
}

func printPreflight(w io.Writer, p *client.PreflightConfig) {
	d := p.Defaults
	fmt.Fprintf(w, "%s failover of %s (%s), status %s\n", p.FailoverType, p.VMName, p.ContextID, p.ContextStatus)
	fmt.Fprintf(w, "  destination %s (%s naming), %s networks, snapshot %s\n", d.DestinationVMName, d.NamingStrategy, d.NetworkStrategy, d.SnapshotType)
	fmt.Fprintln(w, "options (default):")
	for _, o := range p.Options {
		fmt.Fprintf(w, "  --%s (%v): %s\n", strings.ReplaceAll(o.Name, "_", "-"), o.Default, o.Description)
	}
	fmt.Fprintln(w, "networks:")
	for _, n := range p.Networks {
		dest := n.DestinationNetworkName + " " + n.DestinationNetworkID
		if n.DestinationNetworkID == "" {
			dest = "NOT MAPPED"
		}
		fmt.Fprintf(w, "  %s → %s %s\n", n.SourceNetworkName, dest, n.MAC)
	}
	fmt.Fprintln(w, "steps:")
	for i, s := range p.Steps {
		if s.SkipReason != "" {
			fmt.Fprintf(w, "  %d. %s (skipped: %s)\n", i+1, s.Name, s.SkipReason)
		} else {
			fmt.Fprintf(w, "  %d. %s\n", i+1, s.Name)
		}
	}
	printReport(w, p.Preflight)
}

func printReport(w io.Writer, r *apiv1.PreflightReport) {
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "pre-flight %s:\n", verdict)
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %-4s %-18s %s\n", c.Status, c.Name, c.Message)
	}
}

func tokenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens"}
	var role, name string
	create := &cobra.Command{
		Use:   "create --role viewer|operator|admin --name NAME",
		Short: "Make a new token; prints it and the line to add to the tokens file",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageError{fmt.Errorf("--name is required")}
			}
			if err := oneOf("role", role, string(auth.Viewer), string(auth.Operator), string(auth.Admin)); err != nil {
				return err
			}
			token, line, err := auth.NewToken(name, auth.Role(role))
			if err != nil {
				return usageError{err}
			}
			if a.json {
				return a.printJSON(map[string]string{"token": token, "tokens_file_line": line, "name": name, "role": role})
			}
			fmt.Fprintf(a.out, "token (shown once; give it to %s as FAILOVER_API_TOKEN):\n%s\n\n", name, token)
			fmt.Fprintf(a.out, "add this line to the tokens file ($FAILOVER_API_TOKENS_FILE); the API reloads it within a second:\n%s\n", line)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "viewer, operator or admin (required)")
	create.Flags().StringVar(&name, "name", "", "who the token is for, one word (required)")
	cmd.AddCommand(create)
	return cmd
}
