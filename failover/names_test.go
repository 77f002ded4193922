package failover

import (
	"regexp"
	"strings"
	"testing"
)

// rfcName is CloudStack's check of a VM name (UserVmManagerImpl.
// checkNameForRFCCompliance): a hostname label of at most 63 characters
// that starts with a letter.
var rfcName = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

func TestHostName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Database_Server.prod ", 3) // 63 characters
	cases := []struct{ in, want string }{
		{"web01", "web01"},
		{"Web_Server.prod 01", "web-server-prod-01"},
		{"Web_Server.prod 01-test-1764590000", "web-server-prod-01-test-1764590000"},
		{"--a--b--", "a-b"},
		{"01-db", "vm-01-db"},
		{"Ünïcode ☃", "n-code"},
		{"", "vm"},
		{"___", "vm"},
	}
	for _, c := range cases {
		if got := HostName(c.in); got != c.want {
			t.Errorf("HostName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, in := range []string{long, long + "-test-1764590000", long + "-test-1764590001", strings.Repeat("x", 200), "9" + strings.Repeat("a", 62)} {
		got := HostName(in)
		if !rfcName.MatchString(got) {
			t.Errorf("HostName(%q) = %q, not a valid CloudStack name", in, got)
		}
		if got != HostName(in) {
			t.Errorf("HostName(%q) is not deterministic", in)
		}
	}
	a, b := HostName(long+"-test-1764590000"), HostName(long+"-test-1764590001")
	if a == b || len(a) != 63 || len(b) != 63 {
		t.Errorf("two long names that differ in their tail: %q and %q, want distinct 63-character names", a, b)
	}
	for _, c := range cases {
		if got := HostName(c.in); !rfcName.MatchString(got) {
			t.Errorf("HostName(%q) = %q, not a valid CloudStack name", c.in, got)
		}
	}
}
