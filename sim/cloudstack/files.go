package cloudstack

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// The simulator keeps snapshots as files. Volume files are sparse (the lab
// writes a few MiB into 64 MiB disks), so snapshots and reverts copy only
// the data regions of the source and leave holes as holes: a snapshot costs
// what the volume holds, as on real thin-provisioned storage, not its size.
// Nothing is fsynced: a simulator's disk does not need to survive a power
// cut, and syncing would add latency the simulator is not meant to add.

// copyFile copies src to a new file dst, data regions only.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := copySparse(out, in, false); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// writeBackInPlace overwrites dst with the bytes of src without replacing
// the file (a process may hold dst open): src's data regions are copied,
// its holes punched into dst, and dst gets src's size.
func writeBackInPlace(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := copySparse(out, in, true); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// copySparse makes out hold in's bytes and size. With punch, the ranges
// that are holes in in are zeroed in out (out may hold data there);
// otherwise out is taken to be empty.
func copySparse(out, in *os.File, punch bool) error {
	st, err := in.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if err := out.Truncate(size); err != nil {
		return err
	}
	extents, err := dataExtents(in, size)
	if err != nil {
		return err
	}
	var at int64 // end of the last data region
	for _, e := range extents {
		if punch && e[0] > at {
			if err := zeroRange(out, at, e[0]-at); err != nil {
				return err
			}
		}
		if err := copyRange(out, in, e[0], e[1]-e[0]); err != nil {
			return err
		}
		at = e[1]
	}
	if punch && size > at {
		return zeroRange(out, at, size-at)
	}
	return nil
}

// copyRange copies [off, off+n) of in to the same place in out, inside the
// kernel (copy_file_range: no buffer in the simulator's heap, whose garbage
// collection would take CPU from the processes being measured), or through
// a buffer where the kernel cannot.
func copyRange(out, in *os.File, off, n int64) error {
	for n > 0 {
		inOff, outOff := off, off
		k, err := unix.CopyFileRange(int(in.Fd()), &inOff, int(out.Fd()), &outOff, int(min(n, 1<<30)), 0)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
			_, err := io.Copy(io.NewOffsetWriter(out, off), io.NewSectionReader(in, off, n))
			return err
		}
		if err != nil {
			return fmt.Errorf("copying %s to %s: %w", in.Name(), out.Name(), err)
		}
		if k == 0 {
			return fmt.Errorf("copying %s to %s: %w", in.Name(), out.Name(), io.ErrUnexpectedEOF)
		}
		off, n = off+int64(k), n-int64(k)
	}
	return nil
}

// dataExtents lists the data regions [start, end) of f with SEEK_DATA and
// SEEK_HOLE; a file system that does not report holes gives one region.
func dataExtents(f *os.File, size int64) ([][2]int64, error) {
	var out [][2]int64
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole from off to the end
		}
		if err != nil {
			return nil, fmt.Errorf("finding data in %s: %w", f.Name(), err)
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, fmt.Errorf("finding holes in %s: %w", f.Name(), err)
		}
		out = append(out, [2]int64{start, min(end, size)})
		off = end
	}
	return out, nil
}

// zeroRange makes [off, off+n) of f read as zeros: a punched hole, or
// written zeros where the file system cannot punch.
func zeroRange(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("punching a hole in %s: %w", f.Name(), err)
	}
	zeros := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}
