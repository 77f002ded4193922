//go:build !race

package nbd_test

// raceEnabled reports whether the race detector is on, for timing logs.
const raceEnabled = false
