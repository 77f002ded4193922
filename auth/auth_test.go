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
	a, err := NewAuthenticator(path)
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
