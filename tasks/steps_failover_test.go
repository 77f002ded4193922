package tasks

import "testing"

func TestSnapshotWaitGrowsWithSize(t *testing.T) {
	t.Parallel()
	if snapshotWait(0) != snapshotBaseWait {
		t.Fatalf("an empty volume waits %v, want %v", snapshotWait(0), snapshotBaseWait)
	}
	const tib = 1 << 40
	if got := snapshotWait(tib); got <= snapshotWait(1<<30) || got < 11*3600e9 {
		t.Fatalf("a 1 TiB volume waits %v: it must allow a backup at 25 MiB/s (about 11.7 h)", got)
	}
}
