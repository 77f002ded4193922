package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// drillsCmd lists drill schedules and their last runs, or with a schedule
// id its runs; `drills run ID` runs one now and, with --watch, waits for it.
func (a *app) drillsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drills [SCHEDULE_ID]",
		Short: "List DR drill schedules with their last runs, or the runs of one schedule",
		Args:  maxArgs(1, "one schedule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			if a.json {
				// What the API sent, as it sent it: decoding into the
				// client's types and encoding again would invent the
				// zero values of members it left out.
				path := "/api/v1/drills"
				if len(args) == 1 {
					path += "/" + url.PathEscape(args[0]) + "/runs"
				}
				return a.printRaw(cmd.Context(), c, path)
			}
			if len(args) == 1 {
				runs, err := c.DrillRuns(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				w := a.table()
				fmt.Fprintln(w, "RUN\tSTATUS\tTRIGGER\tTICK\tVMS")
				for _, r := range runs {
					vms := ""
					if r.Report != nil {
						var parts []string
						for _, v := range r.Report.VMs {
							rto := "-"
							if v.RTOSeconds != nil {
								rto = fmt.Sprintf("%.1fs", *v.RTOSeconds)
							}
							parts = append(parts, fmt.Sprintf("%s:%s(rto %s)", v.VMName, v.Outcome, rto))
						}
						vms = strings.Join(parts, " ")
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, r.Trigger, r.Tick.Format(time.RFC3339), vms)
				}
				return w.Flush()
			}
			ds, err := c.Drills(cmd.Context())
			if err != nil {
				return err
			}
			w := a.table()
			fmt.Fprintln(w, "ID\tNAME\tCRON\tTZ\tHOLD\tVMS\tENABLED\tLAST RUN")
			for _, d := range ds {
				last := "never"
				if d.LastRun != nil {
					last = fmt.Sprintf("%s %s", d.LastRun.Status, d.LastRun.Tick.Format(time.RFC3339))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%v\t%s\n", d.ID, d.Name, d.Cron, d.Timezone, d.Hold,
					len(d.ContextIDs), d.Enabled, last)
			}
			return w.Flush()
		},
	}
	var watch bool
	run := &cobra.Command{
		Use:   "run SCHEDULE_ID",
		Short: "Run a drill now (admin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			r, err := c.RunDrill(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				// One JSON document per line: the run started, then ended.
				_ = json.NewEncoder(a.out).Encode(r)
			} else {
				fmt.Fprintf(a.out, "drill run %s started\n", r.ID)
			}
			if !watch {
				return nil
			}
			done, err := c.WaitDrillRun(cmd.Context(), r.ID, a.every)
			if err != nil {
				return err
			}
			if a.json {
				_ = json.NewEncoder(a.out).Encode(done)
			} else {
				fmt.Fprintf(a.out, "drill run %s %s\n", done.ID, done.Status)
				fmt.Fprintf(a.out, "report: %s/api/v1/drills/runs/%s/report.html\n", strings.TrimRight(a.apiURL, "/"), url.PathEscape(done.ID))
			}
			if done.Status != "passed" {
				msg := fmt.Sprintf("drill run %s %s", done.ID, done.Status)
				if done.Error != "" {
					msg += ": " + done.Error
				}
				return jobFailed{msg}
			}
			return nil
		},
	}
	run.Flags().BoolVar(&watch, "watch", false, "wait for the run to end")
	cmd.AddCommand(run, a.drillCreateCmd(), a.drillUpdateCmd(), a.drillDeleteCmd())
	return cmd
}

// drillFlags are the settings of a drill schedule on the command line.
type drillFlags struct {
	name, cron, timezone, hold string
	vms                        []string
	maxParallel                int
	disabled                   bool
}

func (f *drillFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "the schedule's name")
	fl.StringVar(&f.cron, "cron", "", "when it runs: a 5-field cron expression (minute hour day-of-month month day-of-week)")
	fl.StringVar(&f.timezone, "timezone", "", "the IANA time zone the cron expression is read in (default UTC)")
	fl.StringVar(&f.hold, "hold", "", "how long the test copies run before the rollback (e.g. 10m)")
	fl.StringSliceVar(&f.vms, "vm", nil, "a VM (name or context id) to drill; repeat or separate with commas")
	fl.IntVar(&f.maxParallel, "max-parallel", 0, "how many VMs fail over at once (default 1)")
	fl.BoolVar(&f.disabled, "disabled", false, "keep the schedule from running until enabled")
}

// apply sets on sp what the command line changed; VMs named by name are
// resolved to their context ids.
func (f *drillFlags) apply(cmd *cobra.Command, c *client.Client, sp *apiv1.DrillSpec) error {
	fl := cmd.Flags()
	if fl.Changed("name") {
		sp.Name = f.name
	}
	if fl.Changed("cron") {
		sp.Cron = f.cron
	}
	if fl.Changed("timezone") {
		sp.Timezone = f.timezone
	}
	if fl.Changed("hold") {
		sp.Hold = f.hold
	}
	if fl.Changed("max-parallel") {
		sp.MaxParallel = f.maxParallel
	}
	if fl.Changed("disabled") {
		enabled := !f.disabled
		sp.Enabled = &enabled
	}
	if fl.Changed("vm") {
		sp.ContextIDs = sp.ContextIDs[:0]
		for _, vm := range f.vms {
			d, err := c.Context(cmd.Context(), vm)
			if err != nil {
				return fmt.Errorf("--vm %s: %w", vm, err)
			}
			sp.ContextIDs = append(sp.ContextIDs, d.ContextID)
		}
	}
	return nil
}

func (a *app) printDrill(d *client.Drill) error {
	if a.json {
		return a.printJSON(d)
	}
	fmt.Fprintf(a.out, "drill %s (%s): %s %s, hold %s, %d VMs, enabled %v\n", d.Name, d.ID, d.Cron, d.Timezone, d.Hold,
		len(d.ContextIDs), d.Enabled)
	return nil
}

func (a *app) drillCreateCmd() *cobra.Command {
	var f drillFlags
	cmd := &cobra.Command{
		Use:   "create --name N --cron EXPR --vm VM [--vm VM …] [--timezone TZ] [--hold D] [--max-parallel N] [--disabled]",
		Short: "Create a drill schedule (admin)",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			var sp apiv1.DrillSpec
			if err := f.apply(cmd, c, &sp); err != nil {
				return err
			}
			d, err := c.CreateDrill(cmd.Context(), sp)
			if err != nil {
				return err
			}
			return a.printDrill(d)
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) drillUpdateCmd() *cobra.Command {
	var f drillFlags
	cmd := &cobra.Command{
		Use:   "update SCHEDULE_ID [--name N] [--cron EXPR] [--vm VM …] [--timezone TZ] [--hold D] [--max-parallel N] [--disabled=true|false]",
		Short: "Change a drill schedule (admin): the flags given replace those settings, the others stay",
		Args:  nArgs(1, "one schedule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			cur, err := c.Drill(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enabled := cur.Enabled
			sp := apiv1.DrillSpec{Name: cur.Name, ContextIDs: cur.ContextIDs, Cron: cur.Cron, Timezone: cur.Timezone,
				Hold: cur.Hold, MaxParallel: cur.MaxParallel, Enabled: &enabled}
			if err := f.apply(cmd, c, &sp); err != nil {
				return err
			}
			d, err := c.UpdateDrill(cmd.Context(), args[0], sp)
			if err != nil {
				return err
			}
			return a.printDrill(d)
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) drillDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete SCHEDULE_ID",
		Short: "Delete a drill schedule (admin); its runs and reports stay",
		Args:  nArgs(1, "one schedule id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.client().DeleteDrill(cmd.Context(), args[0]); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"deleted": args[0]})
			}
			fmt.Fprintf(a.out, "drill %s deleted\n", args[0])
			return nil
		},
	}
}
