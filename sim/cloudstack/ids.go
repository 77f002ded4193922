package cloudstack

import (
	"crypto/rand"
	"fmt"
)

// newID returns a random UUID (version 4), as CloudStack uses for ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newMAC returns a MAC address not handed out before by this sim. Callers
// hold s.mu.
func (s *Sim) newMAC() string {
	s.macSeq++
	n := s.macSeq
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
