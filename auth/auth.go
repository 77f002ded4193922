// Package auth is the API's bearer-token authentication: tokens with roles
// (viewer, operator, admin), kept hashed in a file an operator edits.
//
// A tokens file has one token per line: "<name> <role> sha256:<hex>".
// Blank lines and lines starting with # are ignored. A token is never
// stored, only its SHA-256 (tokens are 256-bit random values, so a fast
// hash is enough).
package auth

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ossea/unifiedfailover/errs"
)

// Role is what a token may do.
type Role string

// Roles, from least to most trusted.
const (
	// Viewer reads.
	Viewer Role = "viewer"
	// Operator also runs test failovers and their rollbacks, retries them,
	// and edits network mappings.
	Operator Role = "operator"
	// Admin also runs live failovers and their rollbacks, commits, and
	// manages drill schedules.
	Admin Role = "admin"
)

var rank = map[Role]int{Viewer: 1, Operator: 2, Admin: 3}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return rank[r] > 0 }

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return rank[r] >= rank[need] && rank[r] > 0 }

// Principal is who a request comes from.
type Principal struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Hash is the stored form of a token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewToken returns a new random token and the tokens-file line that
// grants it role under name.
func NewToken(name string, role Role) (token, line string, err error) {
	if !role.Valid() {
		return "", "", errs.New(errs.InvalidArgument, "role must be viewer, operator or admin, not %q", role)
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n#") {
		return "", "", errs.New(errs.InvalidArgument, "a token name must be one word")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("making a token: %w", err)
	}
	token = "uft_" + base64.RawURLEncoding.EncodeToString(b)
	return token, fmt.Sprintf("%s %s %s", name, role, Hash(token)), nil
}

// Parse reads a tokens file.
func Parse(r io.Reader) (map[string]Principal, error) {
	out := map[string]Principal{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[2], "sha256:") || len(f[2]) != len("sha256:")+64 {
			return nil, fmt.Errorf("tokens file line %d: want \"<name> <role> sha256:<hex>\"", n)
		}
		role := Role(f[1])
		if !role.Valid() {
			return nil, fmt.Errorf("tokens file line %d: unknown role %q", n, f[1])
		}
		out[strings.ToLower(f[2])] = Principal{Name: f[0], Role: role}
	}
	return out, sc.Err()
}

// Authenticator checks bearer tokens against a tokens file, re-reading the
// file when it changes (so a token is added or revoked without a restart).
// It is safe for concurrent use.
type Authenticator struct {
	path string

	mu      sync.Mutex
	tokens  map[string]Principal
	modTime time.Time
	size    int64
	checked time.Time
}

// NewAuthenticator reads the tokens file at path. An empty path gives an
// authenticator that refuses every token.
func NewAuthenticator(path string) (*Authenticator, error) {
	a := &Authenticator{path: path, tokens: map[string]Principal{}}
	if path == "" {
		return a, nil
	}
	if err := a.reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Static returns an authenticator over fixed token→principal pairs, for
// tests and embedding.
func Static(tokens map[string]Principal) *Authenticator {
	a := &Authenticator{tokens: map[string]Principal{}}
	for t, p := range tokens {
		a.tokens[Hash(t)] = p
	}
	return a
}

func (a *Authenticator) reload() error {
	st, err := os.Stat(a.path)
	if err != nil {
		return fmt.Errorf("reading tokens file: %w", err)
	}
	if st.ModTime().Equal(a.modTime) && st.Size() == a.size {
		return nil
	}
	f, err := os.Open(a.path)
	if err != nil {
		return fmt.Errorf("reading tokens file: %w", err)
	}
	defer f.Close()
	tokens, err := Parse(f)
	if err != nil {
		return err
	}
	a.tokens, a.modTime, a.size = tokens, st.ModTime(), st.Size()
	return nil
}

// Authenticate returns the principal of a bearer token, or Unauthenticated.
func (a *Authenticator) Authenticate(token string) (Principal, error) {
	if token == "" {
		return Principal{}, errs.New(errs.Unauthenticated, "a bearer token is required (Authorization: Bearer <token>)")
	}
	a.mu.Lock()
	if a.path != "" && time.Since(a.checked) > time.Second {
		a.checked = time.Now()
		_ = a.reload() // a broken edit keeps the last good tokens
	}
	p, ok := a.tokens[Hash(token)]
	a.mu.Unlock()
	if !ok {
		return Principal{}, errs.New(errs.Unauthenticated, "unknown or revoked token")
	}
	return p, nil
}
