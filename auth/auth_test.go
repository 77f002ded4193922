package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
)

func TestTokenFileRoundTripAndReload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens")
	tok, line, err := NewToken("alice", Operator)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, tok) {
		t.Fatal("the tokens-file line must not contain the token")
	}
	if err := os.WriteFile(path, []byte("# tokens\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthenticator(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(tok)
	if err != nil || p.Name != "alice" || p.Role != Operator {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if _, err := a.Authenticate("uft_wrong"); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("wrong token: %v", err)
	}
	// Revoke by editing the file: the change applies without a restart.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(path, []byte("# nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.checked = time.Time{}
	a.mu.Unlock()
	if _, err := a.Authenticate(tok); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("revoked token still accepted: %v", err)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	if !Admin.Allows(Operator) || !Operator.Allows(Viewer) || Viewer.Allows(Operator) || Operator.Allows(Admin) || Role("root").Allows(Viewer) {
		t.Fatal("role order is viewer < operator < admin")
	}
	if _, _, err := NewToken("bob", "root"); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := Parse(strings.NewReader("x admin sha256:abc\n")); err == nil {
		t.Fatal("a malformed line must be refused")
	}
}

// TestRevocationFailsClosed: an edit that removes one token and adds a
// malformed line (or an unknown role) applies its valid lines, so the
// removed token stops working; the refused lines are counted. A file
// that disappears leaves no token.
func TestRevocationFailsClosed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens")
	keep, keepLine, _ := NewToken("keep", Operator)
	gone, goneLine, _ := NewToken("gone", Admin)
	added, addedLine, _ := NewToken("added", Viewer)
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(keepLine + "\n" + goneLine + "\n")
	a, err := NewAuthenticator(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	recheck := func() {
		a.mu.Lock()
		a.checked, a.modTime = time.Time{}, time.Time{}
		a.mu.Unlock()
	}
	if _, err := a.Authenticate(gone); err != nil || a.ReloadErrors() != 0 {
		t.Fatalf("before the edit: %v, %v reload errors", err, a.ReloadErrors())
	}
	for i, broken := range []string{"oops this is not a line", "mallory root sha256:" + strings.Repeat("0", 64)} {
		write(keepLine + "\n" + broken + "\n" + addedLine + "\n")
		recheck()
		if _, err := a.Authenticate(gone); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("edit %d: the removed token still works: %v", i, err)
		}
		if p, err := a.Authenticate(keep); err != nil || p.Name != "keep" {
			t.Fatalf("edit %d: a kept token: %+v %v", i, p, err)
		}
		if p, err := a.Authenticate(added); err != nil || p.Role != Viewer {
			t.Fatalf("edit %d: the added token: %+v %v", i, p, err)
		}
		if got := a.ReloadErrors(); got != float64(i+1) {
			t.Fatalf("edit %d: %v reload errors counted", i, got)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	recheck()
	if _, err := a.Authenticate(keep); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("tokens file gone: a token still works: %v", err)
	}
}
