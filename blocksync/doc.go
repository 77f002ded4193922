// Package blocksync is the final-sync engine: it copies the changed
// extents of a VM's disks from source NBD exports to target NBD exports as
// fast as the wire allows (the final-sync step, README "Performance").
//
// Copy plans each disk (extents checked against the export sizes, sorted,
// merged when they overlap, touch or lie within Config.CoalesceGap of each
// other) and runs a fixed pool of workers over all disks under one
// concurrency budget. A worker owns one connection to a source and one to
// a target and keeps Config.InFlight requests of at most
// Config.RequestSize bytes in flight with libnbd's asynchronous calls:
// each preallocated C buffer goes round a read on the source and a write
// (or, when the block read is all zeros, a zero request) on the target.
// Completions are found by peeking and polling, so no callback ever runs
// from C into Go. Memory is the buffers, bounded by Config.MaxMemory and
// never proportional to the disk size; the plan is proportional to the
// number of extents given.
//
// Several connections serve one disk only when the target advertises
// multi-conn, Config.ConnectionsPerDisk allows it (by default it does not:
// on two cores one pair keeps up with nbdcopy) and the disk has
// Config.BytesPerConnection of work per pair; each disk is flushed once at
// the end, after every write to it has completed. Cancelling the context stops the copy within a poll
// slice (100 ms): requests in flight are abandoned and the context's error
// returned.
package blocksync
