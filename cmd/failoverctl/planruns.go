package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// planRunCmds are the commands of recovery plan runs: run a plan (with a
// live wave view), show a run, the operator's choices on it, and its
// report. They belong under `failoverctl plans` (attached there with the
// plan definitions' commands).
func (a *app) planRunCmds() []*cobra.Command {
	var mode, confirm string
	var watch bool
	run := &cobra.Command{
		Use:   "run PLAN --mode test|live [--confirm PLAN] [--watch]",
		Short: "Run a recovery plan (test: operator; live: admin and --confirm with the plan's name)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			r, err := c.StartPlanRun(cmd.Context(), args[0], mode, confirm)
			if err != nil {
				return err
			}
			if !watch {
				return a.showPlanRun(r)
			}
			return a.watchPlanRun(cmd, c, r)
		},
	}
	run.Flags().StringVar(&mode, "mode", "test", "test (copies on isolated networks) or live")
	run.Flags().StringVar(&confirm, "confirm", "", "the plan's name, to confirm a live run")
	run.Flags().BoolVar(&watch, "watch", false, "show the waves and members live until the run stops")

	var showWatch bool
	show := &cobra.Command{
		Use:   "runs RUN [--watch]",
		Short: "Show a plan run: each wave, each member's state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			if a.json && !showWatch {
				return a.printRaw(cmd.Context(), c, "/api/v1/plan-runs/"+url.PathEscape(args[0]))
			}
			r, err := c.PlanRun(cmd.Context(), args[0], "")
			if err != nil {
				return err
			}
			if showWatch {
				return a.watchPlanRun(cmd, c, r)
			}
			return a.showPlanRun(r)
		},
	}
	show.Flags().BoolVar(&showWatch, "watch", false, "follow the run until it stops")

	action := func(use, short, name string, members bool) *cobra.Command {
		args := cobra.ExactArgs(1)
		if members {
			args = cobra.MinimumNArgs(2)
		}
		return &cobra.Command{
			Use: use, Short: short, Args: args,
			RunE: func(cmd *cobra.Command, args []string) error {
				r, err := a.client().PlanRunAction(cmd.Context(), args[0], name, args[1:])
				if err != nil {
					return err
				}
				return a.showPlanRun(r)
			},
		}
	}
	report := &cobra.Command{
		Use:   "report RUN",
		Short: "A plan run's report: each member's steps and RTO, the plan RTO against its target, warnings and choices",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			if a.json {
				return a.printRaw(cmd.Context(), c, "/api/v1/plan-runs/"+url.PathEscape(args[0])+"/report")
			}
			rep, err := c.PlanRunReport(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			a.printPlanRunReport(rep)
			return nil
		},
	}
	return []*cobra.Command{run, show,
		action("retry RUN MEMBER…", "Retry failed or skipped members of a run", "retry", true),
		action("skip RUN MEMBER…", "Skip pending or failed members of a run", "skip", true),
		action("continue RUN", "Take a halted run on past its failed members", "continue", false),
		action("rollback RUN", "Roll back what a run made, in reverse wave and dependency order", "rollback", false),
		action("cancel RUN", "Stop a run from starting members (the jobs in flight finish)", "cancel", false),
		report}
}

// watchPlanRun shows the wave view each time the run changes, until it
// is no longer running or rolling back; a run that ends other than
// completed or rolled back is a failure (exit code).
func (a *app) watchPlanRun(cmd *cobra.Command, c *client.Client, r *client.PlanRun) error {
	last := ""
	for {
		view := planRunView(r)
		if view != last {
			if a.json {
				_ = a.printJSON(r)
			} else {
				fmt.Fprint(a.out, view)
			}
			last = view
		}
		if r.Status != apiv1.RunRunning && r.Status != apiv1.RunRollingBack {
			break
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(a.every):
		}
		next, err := c.PlanRun(cmd.Context(), r.ID, "")
		if err != nil && !client.IsTransient(err) {
			return err
		}
		if err == nil {
			r = next
		}
	}
	if r.Status != apiv1.RunCompleted && r.Status != apiv1.RunRolledBack {
		msg := fmt.Sprintf("plan run %s %s", r.ID, r.Status)
		if r.Reason != "" {
			msg += ": " + r.Reason
		}
		return jobFailed{msg}
	}
	return nil
}

func (a *app) showPlanRun(r *client.PlanRun) error {
	if a.json {
		return a.printJSON(r)
	}
	fmt.Fprint(a.out, planRunView(r))
	return nil
}

// planRunView is the wave view of a run: its status, then each wave with
// each member's state, reason and job.
func planRunView(r *client.PlanRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan run %s of %s v%d (%s): %s", r.ID, r.PlanName, r.PlanVersion, r.Mode, r.Status)
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	b.WriteString("\n")
	for w, wave := range r.Spec.Waves {
		name := wave.Name
		if name == "" {
			name = fmt.Sprintf("wave %d", w+1)
		}
		fmt.Fprintf(&b, "  %s\n", name)
		for _, m := range r.Members {
			if m.Wave != w {
				continue
			}
			line := fmt.Sprintf("    %-20s %-13s", m.ID, m.State)
			if m.Optional {
				line += " optional"
			}
			if m.Reason != "" {
				line += " " + m.Reason
			}
			if m.Warning != "" {
				line += " (warning: " + m.Warning + ")"
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}
	return b.String()
}

func seconds(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1fs", *v)
}

func (a *app) printPlanRunReport(rep *apiv1.PlanRunReport) {
	fmt.Fprintf(a.out, "plan %s v%d, %s run %s: %s\n", rep.PlanName, rep.PlanVersion, rep.Mode, rep.RunID, rep.Status)
	verdict := "no target"
	if rep.Passed != nil {
		verdict = map[bool]string{true: "passed", false: "missed"}[*rep.Passed] + fmt.Sprintf(" (target %ds)", rep.TargetRTOSeconds)
	}
	fmt.Fprintf(a.out, "plan RTO %s, %s\n", seconds(rep.PlanRTOSeconds), verdict)
	w := a.table()
	fmt.Fprintln(w, "WAVE\tMEMBER\tSTATE\tRTO\tSTEPS")
	for _, m := range rep.Members {
		var steps []string
		for _, s := range m.Steps {
			d := s.Status
			if s.Seconds != nil {
				d = seconds(s.Seconds)
			}
			steps = append(steps, s.Job+"/"+s.Name+"="+d)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", m.Wave+1, m.ID, m.State, seconds(m.RTOSeconds), strings.Join(steps, " "))
	}
	_ = w.Flush()
	for _, e := range rep.Warnings {
		fmt.Fprintf(a.out, "warning %s %s: %s\n", e.At.Format(time.RFC3339), e.MemberID, e.Message)
	}
	for _, e := range rep.Choices {
		fmt.Fprintf(a.out, "choice %s by %s: %s\n", e.At.Format(time.RFC3339), e.Actor, e.Message)
	}
}
