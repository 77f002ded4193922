package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
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
			fmt.Fprintf(a.out, "drill run %s started\n", r.ID)
			if !watch {
				return nil
			}
			done, err := c.WaitDrillRun(cmd.Context(), r.ID, a.every)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "drill run %s %s\n", done.ID, done.Status)
			if done.Status != "passed" {
				return jobFailed{fmt.Sprintf("drill run %s %s", done.ID, done.Status)}
			}
			return nil
		},
	}
	run.Flags().BoolVar(&watch, "watch", false, "wait for the run to end")
	cmd.AddCommand(run)
	return cmd
}
