package blocksync_test

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/ossea/unifiedfailover/blocksync"
)

// requests reads the Write and Zero requests from an nbdkit log filter
// file: op → total bytes.
func requests(t *testing.T, log string) map[string]int64 {
	t.Helper()
	fh, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	re := regexp.MustCompile(`connection=\d+ (Write|Zero) id=\d+ offset=0x[0-9a-f]+ count=0x([0-9a-f]+)`)
	out := map[string]int64{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, err := strconv.ParseInt(m[2], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			out[m[1]] += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestZeroRunsAreZeroRequests(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const size, rs = 8 << 20, 256 << 10
	src := f.random(size)
	clear(src[1<<20 : 3<<20]) // 8 whole requests of zeros
	clear(src[5<<20+100 : 5<<20+rs+100])
	dst := f.random(size)
	s := f.export(src)
	d, log := f.exportWith(dst, []string{"--filter=log"})
	ext := []blocksync.Extent{{Offset: 0, Length: 4 << 20}, {Offset: 5 << 20, Length: 1 << 20}}
	res := f.copyDisks(blocksync.Config{ZeroDetect: true, Flush: true, RequestSize: rs},
		blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI, Extents: ext})
	f.sameAs(d.Path, apply(dst, src, ext))
	// Only whole requests of zeros become zero requests: the unaligned run
	// straddles two requests with data.
	if res.BytesZeroed != 2<<20 || res.BytesCopied != 3<<20 {
		t.Fatalf("result %+v: want 2 MiB zeroed and 3 MiB copied", res)
	}
	if got := requests(t, log); got["Zero"] != 2<<20 || got["Write"] != 3<<20 {
		t.Fatalf("the target saw %v bytes of requests, want Zero 2 MiB and Write 3 MiB", got)
	}
}
