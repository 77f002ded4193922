// Command benchsync measures the final-sync engine (package blocksync)
// against nbdcopy on the same two file-backed nbdkit exports: a full copy,
// an incremental copy of scattered changed extents, and the peak memory of
// our copy. It builds its own data; run it with make bench-sync.
//
// Each copy of ours runs in a child process (this program with -child) so
// that its peak memory is the child's maximum resident set, unpolluted by
// the data generation of the parent.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	var o options
	flag.Int64Var(&o.size, "size", 4<<30, "size of the disk in bytes")
	flag.StringVar(&o.dir, "dir", "", "directory of the images (default: /dev/shm when it has room, else /tmp)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each full copy (the best is reported)")
	flag.Float64Var(&o.fraction, "fraction", 0.05, "fraction of the disk changed for the incremental copy")
	flag.BoolVar(&o.flush, "flush", true, "flush the target at the end (both engines)")
	flag.BoolVar(&o.verify, "verify", true, "compare SHA-256 of source and target after the copies")
	flag.IntVar(&o.cfg.RequestSize, "request-size", 0, "blocksync RequestSize (0: default)")
	flag.IntVar(&o.cfg.InFlight, "in-flight", 0, "blocksync InFlight (0: default)")
	flag.IntVar(&o.cfg.Concurrency, "concurrency", 0, "blocksync Concurrency (0: default)")
	flag.IntVar(&o.cfg.ConnectionsPerDisk, "connections-per-disk", 0, "blocksync ConnectionsPerDisk (0: default)")
	flag.Int64Var(&o.cfg.MaxMemory, "max-memory", 0, "blocksync MaxMemory (0: default)")
	child := flag.String("child", "", "internal: run one copy described by this JSON file and print its result")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *child != "" {
		if err := runChild(ctx, *child); err != nil {
			fmt.Fprintln(os.Stderr, "benchsync child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchsync:", err)
		os.Exit(1)
	}
}

// mustJSON marshals v, which cannot fail for the types used here.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
