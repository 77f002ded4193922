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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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

// Parse reads a tokens file. It returns the tokens of every valid line,
// and an error naming each line it refused (a malformed line, an unknown
// role): a bad line never keeps the file's other edits from applying.
func Parse(r io.Reader) (map[string]Principal, error) {
	out := map[string]Principal{}
	var bad []error
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[2], "sha256:") || len(f[2]) != len("sha256:")+64 {
			bad = append(bad, fmt.Errorf("tokens file line %d: want \"<name> <role> sha256:<hex>\"", n))
			continue
		}
		role := Role(f[1])
		if !role.Valid() {
			bad = append(bad, fmt.Errorf("tokens file line %d: unknown role %q", n, f[1]))
			continue
		}
		out[strings.ToLower(f[2])] = Principal{Name: f[0], Role: role}
	}
	if err := sc.Err(); err != nil {
		bad = append(bad, fmt.Errorf("reading tokens file: %w", err))
	}
	return out, errors.Join(bad...)
}

// Authenticator checks bearer tokens against a tokens file, re-reading the
// file when it changes (so a token is added or revoked without a restart).
// It is safe for concurrent use.
type Authenticator struct {
	path string
	log  *slog.Logger
	// reloadErrors counts the reads of the file that refused lines or
	// failed (failover_api_tokens_reload_errors_total).
	reloadErrors atomic.Uint64

	mu      sync.Mutex
	tokens  map[string]Principal
	modTime time.Time
	size    int64
	checked time.Time
}

// NewAuthenticator reads the tokens file at path; log (slog.Default()
// when nil) gets the lines it refuses. An empty path gives an
// authenticator that refuses every token. A file that cannot be read at
// all is an error; refused lines are logged and counted, and the valid
// ones apply.
func NewAuthenticator(path string, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &Authenticator{path: path, log: log, tokens: map[string]Principal{}}
	if path == "" {
		return a, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("reading tokens file: %w", err)
	}
	a.reload()
	return a, nil
}

// ReloadErrors is how many reads of the tokens file refused a line or
// failed.
func (a *Authenticator) ReloadErrors() float64 { return float64(a.reloadErrors.Load()) }

// Static returns an authenticator over fixed token→principal pairs, for
// tests and embedding.
func Static(tokens map[string]Principal) *Authenticator {
	a := &Authenticator{tokens: map[string]Principal{}}
	for t, p := range tokens {
		a.tokens[Hash(t)] = p
	}
	return a
}

// reload re-reads the file when it changed. It fails closed: the valid
// lines replace every token (a removed one is gone even when another line
// is broken), and a file that cannot be read leaves no token at all.
// Callers hold a.mu (or own a).
func (a *Authenticator) reload() {
	st, err := os.Stat(a.path)
	if err == nil && st.ModTime().Equal(a.modTime) && st.Size() == a.size {
		return
	}
	var tokens map[string]Principal
	if err == nil {
		var f *os.File
		if f, err = os.Open(a.path); err == nil {
			tokens, err = Parse(f)
			f.Close()
		}
	}
	if tokens == nil {
		tokens = map[string]Principal{}
		a.modTime, a.size = time.Time{}, -1
	} else {
		a.modTime, a.size = st.ModTime(), st.Size()
	}
	a.tokens = tokens
	if err != nil {
		a.reloadErrors.Add(1)
		a.log.Error("tokens file: refused lines or could not be read; the valid lines apply", "path", a.path,
			"tokens", len(tokens), "error", err)
	}
}

// Authenticate returns the principal of a bearer token, or Unauthenticated.
func (a *Authenticator) Authenticate(token string) (Principal, error) {
	if token == "" {
		return Principal{}, errs.New(errs.Unauthenticated, "a bearer token is required (Authorization: Bearer <token>)")
	}
	a.mu.Lock()
	if a.path != "" && time.Since(a.checked) > time.Second {
		a.checked = time.Now()
		a.reload()
	}
	p, ok := a.tokens[Hash(token)]
	a.mu.Unlock()
	if !ok {
		return Principal{}, errs.New(errs.Unauthenticated, "unknown or revoked token")
	}
	return p, nil
}
