package blocksync

import (
	"fmt"
	"time"

	"github.com/ossea/unifiedfailover/errs"
)

// Limits and defaults. The defaults were tuned by measurement with
// make bench-sync (see the README's performance section).
const (
	// DefaultRequestSize is the default largest read or write request.
	DefaultRequestSize = 256 << 10
	// DefaultInFlight is the default number of requests in flight per
	// connection pair.
	DefaultInFlight = 4
	// DefaultConcurrency is the default number of connection pairs over all
	// disks.
	DefaultConcurrency = 4
	// DefaultConnectionsPerDisk is the default number of connection pairs
	// one disk may use.
	DefaultConnectionsPerDisk = 1
	// DefaultMaxMemory is the default bound on the copy buffers.
	DefaultMaxMemory = 64 << 20
	// DefaultBytesPerConnection is the default least work for another
	// connection pair to a disk.
	DefaultBytesPerConnection = 256 << 20
	// DefaultCoalesceGap is the default largest gap between two extents
	// that are copied as one range.
	DefaultCoalesceGap = 64 << 10
	// DefaultProgressEvery is the default interval between progress reports.
	DefaultProgressEvery = time.Second
	// DefaultConnectTimeout is the default bound on one NBD connection.
	DefaultConnectTimeout = 10 * time.Second

	// maxRequestSize is libnbd's limit on one request (64 MiB) halved.
	maxRequestSize = 32 << 20
)

// Config tunes a Copy. The zero value of every numeric field means its
// default; the two booleans cannot default to true, so start from
// DefaultConfig, which turns them on.
type Config struct {
	// RequestSize is the largest read or write request, in bytes; ranges
	// are split into pieces of this size. Defaults to 256 KiB; at most
	// 32 MiB.
	RequestSize int
	// InFlight is the number of requests in flight on each connection
	// pair (each holds one buffer of RequestSize bytes). Defaults to 4.
	InFlight int
	// MaxMemory bounds the copy buffers, in bytes: at most
	// MaxMemory/RequestSize buffers are allocated in all, whatever the
	// size of the disks. Defaults to 64 MiB; at least RequestSize.
	MaxMemory int64
	// Concurrency is the total number of connection pairs (source and
	// target) over all disks, hence the number of disks copied at once.
	// Disks share it: each gets one pair while there are enough, and a
	// disk whose target advertises multi-conn may get up to
	// ConnectionsPerDisk. Defaults to 4.
	Concurrency int
	// ConnectionsPerDisk is the most connection pairs one disk may use; a
	// target that does not advertise multi-conn gets one whatever it says.
	// Measured on two cores (make bench-sync), one pair with InFlight
	// requests keeps up with nbdcopy and uses the least CPU: more pairs per
	// disk only paid for their connections. Raise it for sources whose
	// connections are slow on their own (VDDK, a distant site). Defaults
	// to 1.
	ConnectionsPerDisk int
	// BytesPerConnection is the least work, in bytes, that warrants
	// another connection pair to a disk: a disk gets at most one pair per
	// BytesPerConnection of its ranges. On two cores one pair keeps up with
	// nbdcopy, and a connection costs a handshake plus, on some servers, a
	// good deal of CPU (nbdkit's file plugin scans a file on tmpfs for holes
	// when it opens it: 50 to 70 ms for 4 GiB). Defaults to 256 MiB, a
	// quarter of a second of copying.
	BytesPerConnection int64
	// CoalesceGap is the largest gap, in bytes, between two extents that
	// are copied as one range (the gap is copied too, which is harmless in
	// a final sync: outside the changed areas the target already equals
	// the source). Defaults to 64 KiB; negative merges only overlapping
	// and adjacent extents.
	CoalesceGap int64
	// ZeroDetect writes blocks read as all zeros with NBD zero requests
	// instead of data. Off when false; DefaultConfig turns it on.
	ZeroDetect bool
	// Flush flushes each target once all its writes have completed. Off
	// when false; DefaultConfig turns it on.
	Flush bool
	// ProgressEvery is the least interval between two progress reports.
	// Defaults to 1 s.
	ProgressEvery time.Duration
	// ConnectTimeout bounds each NBD connection. Defaults to 10 s.
	ConnectTimeout time.Duration
}

// DefaultConfig is the configuration of a final sync: defaults, zero
// detection and flush on.
func DefaultConfig() Config {
	return Config{ZeroDetect: true, Flush: true}.WithDefaults()
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.RequestSize == 0 {
		c.RequestSize = DefaultRequestSize
	}
	if c.InFlight == 0 {
		c.InFlight = DefaultInFlight
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.ConnectionsPerDisk == 0 {
		c.ConnectionsPerDisk = DefaultConnectionsPerDisk
	}
	if c.BytesPerConnection == 0 {
		c.BytesPerConnection = DefaultBytesPerConnection
	}
	if c.CoalesceGap == 0 {
		c.CoalesceGap = DefaultCoalesceGap
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	return c
}

// validate checks a configuration that has its defaults.
func (c Config) validate() error {
	var bad string
	switch {
	case c.RequestSize < 512 || c.RequestSize > maxRequestSize:
		bad = fmt.Sprintf("RequestSize %d is not in 512..%d", c.RequestSize, maxRequestSize)
	case c.InFlight < 1:
		bad = fmt.Sprintf("InFlight %d is not positive", c.InFlight)
	case c.MaxMemory < int64(c.RequestSize):
		bad = fmt.Sprintf("MaxMemory %d is less than RequestSize %d", c.MaxMemory, c.RequestSize)
	case c.Concurrency < 1:
		bad = fmt.Sprintf("Concurrency %d is not positive", c.Concurrency)
	case c.ConnectionsPerDisk < 1:
		bad = fmt.Sprintf("ConnectionsPerDisk %d is not positive", c.ConnectionsPerDisk)
	case c.BytesPerConnection < 1:
		bad = fmt.Sprintf("BytesPerConnection %d is not positive", c.BytesPerConnection)
	case c.ProgressEvery < 0:
		bad = fmt.Sprintf("ProgressEvery %v is negative", c.ProgressEvery)
	case c.ConnectTimeout < 0:
		bad = fmt.Sprintf("ConnectTimeout %v is negative", c.ConnectTimeout)
	default:
		return nil
	}
	return errs.New(errs.InvalidArgument, "blocksync: invalid config: %s", bad)
}
