package e2e

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/testsvc"
)

// TestObsAPIServesTLS starts the api process with FAILOVER_API_TLS_CERT and
// _KEY (a self-signed certificate made here) and reads /readyz and
// /metrics (no token) through a TLS client that trusts that certificate;
// /api/v1 still wants a token, and plain HTTP is not served.
func TestObsAPIServesTLS(t *testing.T) {
	t.Parallel()
	cert, key, roots := testsvc.SelfSignedCert(t)
	b := &obsBundle{bundle: &bundle{}, logDir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, b.logDir)
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(testsvc.FreePort(t))
	b.spawn(t, "api", []string{"FAILOVER_DATABASE_URL=" + testsvc.PostgresURL(t),
		"FAILOVER_REDIS_ADDR=" + testsvc.StartRedis(t, testsvc.RedisOptions{}).Addr,
		"FAILOVER_API_ADDR=" + addr, "FAILOVER_API_TLS_CERT=" + cert, "FAILOVER_API_TLS_KEY=" + key})
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	get := func(path string) (int, string, *tls.ConnectionState, error) {
		resp, err := c.Get("https://" + addr + path)
		if err != nil {
			return 0, "", nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.TLS, nil
	}
	var code int
	var err error
	var state *tls.ConnectionState
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, _, state, err = get("/readyz"); err == nil && code == http.StatusOK {
			break
		}
	}
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET https://%s/readyz: %d %v; see %s", addr, code, err, filepath.Join(b.logDir, "api.log"))
	}
	if state == nil || state.Version < tls.VersionTLS12 {
		t.Errorf("TLS state %+v, want TLS 1.2 or later", state)
	}
	if code, body, _, err := get("/metrics"); err != nil || code != http.StatusOK || !strings.Contains(body, "failover_active_jobs") {
		t.Errorf("GET /metrics over TLS without a token: %d %v %.200s", code, err, body)
	}
	if code, _, _, err := get("/api/v1/failover/jobs"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/failover/jobs over TLS without a token: %d %v, want 401", code, err)
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the API answered plain HTTP with TLS configured")
		}
	}
}
