// Command failoverctl is the operator's command-line client of the
// Unified Failover API: VM contexts, network mappings, pre-flight,
// failovers with a live progress bar, rollbacks, commits, jobs, the
// decision audit, and API tokens.
//
// It reads FAILOVER_API_URL (default http://127.0.0.1:8080) and
// FAILOVER_API_TOKEN (or the --api-url and --token flags).
//
// Exit codes, for scripts:
//
//	0  success (a watched job completed)
//	1  failure: a watched job failed or was cancelled, a pre-flight check
//	   failed, or an unexpected error
//	2  usage: bad arguments or flags, or the API refused the input (400, 413)
//	3  approval needed (428): a live failover or the rollback of a live
//	   failover needs --confirm VM; the plan is printed
//	4  conflict (409): the VM has an active job, or its state does not
//	   allow the operation
//	5  authentication or permission (401, 403): no token, a wrong token,
//	   or a role that does not allow the operation
//	6  not found (404): no such VM, context or job
//	7  unavailable: the API cannot be reached or answered 503
//	130 interrupted: Ctrl-C while watching a job; the job keeps running,
//	   and failoverctl watch JOB follows it again
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var q quiet
		if !errors.As(err, &q) {
			fmt.Fprintln(os.Stderr, "failoverctl:", err)
		}
	}
	os.Exit(exitCode(err))
}
