package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ossea/unifiedfailover/nbd"
)

// WriteSource writes data at offset off of disk diskIndex (0-based) of the
// named VM, through NBD to the disk's source export, as the running guest
// would: the vCenter simulator reports the area as changed since any
// earlier change id.
func (l *Lab) WriteSource(ctx context.Context, vmName string, diskIndex int, off int64, data []byte) error {
	vm, err := l.VMByName(vmName)
	if err != nil {
		return fmt.Errorf("writing to a source disk: %w", err)
	}
	if diskIndex < 0 || diskIndex >= len(vm.Disks) {
		return fmt.Errorf("writing to a source disk: VM %s has no disk %d (%d disks)", vmName, diskIndex, len(vm.Disks))
	}
	d := vm.Disks[diskIndex]
	if off < 0 || off+int64(len(data)) > d.SizeBytes {
		return fmt.Errorf("writing to disk %d of VM %s: %d bytes at offset %d do not fit in %d", diskIndex, vmName, len(data), off, d.SizeBytes)
	}
	h, err := nbd.Connect(ctx, d.Source.URI)
	if err != nil {
		return fmt.Errorf("writing to disk %d of VM %s: %w", diskIndex, vmName, err)
	}
	defer h.Close()
	if err := h.Pwrite(data, off); err != nil {
		return fmt.Errorf("writing to disk %d of VM %s at offset %d: %w", diskIndex, vmName, off, err)
	}
	return nil
}

// checksumChunk is how much Checksum reads per request.
const checksumChunk = 4 << 20

// Checksum returns the hex SHA-256 of the whole contents of the NBD export
// at uri, read through NBD.
func Checksum(ctx context.Context, uri string) (string, error) {
	h, err := nbd.Connect(ctx, uri)
	if err != nil {
		return "", fmt.Errorf("checksumming %s: %w", uri, err)
	}
	defer h.Close()
	size, err := h.Size()
	if err != nil {
		return "", fmt.Errorf("checksumming %s: %w", uri, err)
	}
	sum := sha256.New()
	buf := make([]byte, checksumChunk)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("checksumming %s: %w", uri, err)
		}
		n := int(min(int64(len(buf)), size-off))
		if err := h.Pread(buf[:n], off); err != nil {
			return "", fmt.Errorf("checksumming %s at offset %d: %w", uri, off, err)
		}
		sum.Write(buf[:n])
		off += int64(n)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}
