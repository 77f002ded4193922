// Package ui is the operator console: server-rendered pages served at
// /ui/ by the api process, with every asset embedded. It reads and acts
// through the API's own routes (Config.API, called in-process with the
// session's token), so the API's auth, roles, approval rule ("confirm")
// and audit apply unchanged; the console adds a session cookie, CSRF
// tokens and a Content-Security-Policy.
package ui

import (
	"crypto/rand"
	"log/slog"
	"net/http"

	"github.com/ossea/unifiedfailover/auth"
)

// Path is where the console is served.
const Path = "/ui"

// Config configures the console.
type Config struct {
	// API is the API's handler (its whole router): the console calls
	// /api/v1 on it in-process with the session's bearer token. Required.
	API http.Handler
	// Authenticate checks a token as the API does (auth.Authenticator's
	// Authenticate). Required.
	Authenticate func(token string) (auth.Principal, error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// CSRFKey keys the CSRF tokens. Defaults to 32 random bytes made at
	// start-up (a restart invalidates the forms open in browsers, not the
	// sessions).
	CSRFKey []byte
}

// Console serves the console.
type Console struct {
	api   http.Handler
	authn func(string) (auth.Principal, error)
	log   *slog.Logger
	csrf  csrf
	pages *pages
}

// New returns the console.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	key := cfg.CSRFKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &Console{api: cfg.API, authn: cfg.Authenticate, log: cfg.Logger, csrf: csrf{key: key}, pages: loadPages()}
}
