package nbdkit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// writeLog follows the log file of nbdkit's log filter and records the
// write-type requests (Write, Zero, Trim) in the order they completed.
//
// nbdkit 1.32 logs a request on two lines, one when it starts and one when
// it returns, correlated by connection and id:
//
//	2026-11-26 11:10:17.208947 connection=2 Write id=1 offset=0x0 count=0x2000 fua=0 ...
//	2026-11-26 11:10:17.208992 connection=2 ...Write id=1 return=0
//
// Each line is written and flushed before the request goes on (start) or
// before the reply is sent (return), so a write whose reply a client has
// received is in the file. A request counts when its return line is seen:
// a write that is still in flight when Mark is taken is reported as changed
// after that mark, which is what change tracking needs. Failed writes count
// too, since they may have changed part of their range.
type writeLog struct {
	path string

	mu      sync.Mutex
	f       *os.File
	partial []byte            // an incomplete last line
	started map[string]Extent // started, not returned, by "connection/id"
	done    []Extent          // completed write-type requests, in order
	err     error             // a parse error, sticky
	buf     []byte
}

func newWriteLog(path string) *writeLog {
	return &writeLog{path: path, started: map[string]Extent{}, buf: make([]byte, 64<<10)}
}

// sync reads what nbdkit has appended since the last call. The caller
// holds mu.
func (w *writeLog) sync() error {
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		if w.path == "" {
			return nil // closed: the history is final
		}
		f, err := os.Open(w.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil // nbdkit has not logged anything yet
		}
		if err != nil {
			return fmt.Errorf("open nbdkit log %s: %w", w.path, err)
		}
		w.f = f
	}
	for {
		n, err := w.f.Read(w.buf)
		w.partial = append(w.partial, w.buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read nbdkit log %s: %w", w.path, err)
		}
		if n == 0 {
			break
		}
	}
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if err := w.parseLine(line); err != nil {
			w.err = fmt.Errorf("parse nbdkit log %s: %w", w.path, err)
			return w.err
		}
	}
	if len(w.partial) == 0 {
		w.partial = w.partial[:0:0] // let the backing array go
	}
	return nil
}

// parseLine handles one log line.
func (w *writeLog) parseLine(line string) error {
	fields := strings.Fields(line)
	// Date, time, then "connection=N" for requests on a connection.
	if len(fields) < 4 || !strings.HasPrefix(fields[2], "connection=") {
		return nil
	}
	conn := strings.TrimPrefix(fields[2], "connection=")
	act, leave := strings.CutPrefix(fields[3], "...")
	if act != "Write" && act != "Zero" && act != "Trim" {
		return nil
	}
	kv := map[string]string{}
	for _, f := range fields[4:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	id, ok := kv["id"]
	if !ok {
		return fmt.Errorf("%s request without id: %q", act, line)
	}
	key := conn + "/" + id
	if leave {
		e, ok := w.started[key]
		if !ok {
			return fmt.Errorf("return of a %s request that did not start: %q", act, line)
		}
		delete(w.started, key)
		w.done = append(w.done, e)
		return nil
	}
	off, err := strconv.ParseInt(kv["offset"], 0, 64)
	if err != nil {
		return fmt.Errorf("%s request offset: %w: %q", act, err, line)
	}
	count, err := strconv.ParseInt(kv["count"], 0, 64)
	if err != nil {
		return fmt.Errorf("%s request count: %w: %q", act, err, line)
	}
	w.started[key] = Extent{Offset: off, Length: count}
	return nil
}

// mark reads the log and returns the number of write-type requests
// completed so far.
func (w *writeLog) mark() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.sync(); err != nil {
		return 0, err
	}
	return int64(len(w.done)), nil
}

// changedSince reads the log and returns the merged extents of the
// write-type requests completed after mark.
func (w *writeLog) changedSince(mark int64) ([]Extent, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.sync(); err != nil {
		return nil, err
	}
	if mark < 0 || mark > int64(len(w.done)) {
		return nil, fmt.Errorf("mark %d is not in 0..%d", mark, len(w.done))
	}
	return mergeExtents(w.done[mark:]), nil
}

// close reads the log one last time and stops following it; the history
// stays queryable. Requests that started but never returned (the server
// was stopped under them) count as completed, since they may have written.
func (w *writeLog) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.sync()
	for _, e := range w.started {
		w.done = append(w.done, e)
	}
	clear(w.started)
	if w.f != nil {
		if cerr := w.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close nbdkit log %s: %w", w.path, cerr)
		}
		w.f = nil
	}
	w.path = ""
	return err
}
