package daemon_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/daemon"
	"github.com/ossea/unifiedfailover/testsvc"
)

func TestServeTLSServesHTTPSOnly(t *testing.T) {
	t.Parallel()
	cert, key, roots := testsvc.SelfSignedCert(t)
	addr := "127.0.0.1:" + strconv.Itoa(testsvc.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	go func() {
		done <- daemon.ServeTLS(ctx, slog.New(slog.DiscardHandler), addr, daemon.TLSFiles{CertFile: cert, KeyFile: key}, h)
	}()
	client := func(minV, maxV uint16) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: minV, MaxVersion: maxV}}}
	}
	// A client trusting the certificate, once the server listens.
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err = client(tls.VersionTLS12, 0).Get("https://" + addr + "/"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("HTTPS GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("HTTPS GET: %d %q, TLS %+v", resp.StatusCode, body, resp.TLS)
	}
	// TLS 1.1 is refused; plain HTTP gets no answer from the handler.
	if resp, err := client(tls.VersionTLS10, tls.VersionTLS11).Get("https://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) == "hello" {
			t.Error("plain HTTP was served")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeTLS after cancel: %v", err)
	}
}

func TestServeTLSRefusesAMissingKey(t *testing.T) {
	t.Parallel()
	cert, _, _ := testsvc.SelfSignedCert(t)
	err := daemon.ServeTLS(context.Background(), slog.New(slog.DiscardHandler), "127.0.0.1:0",
		daemon.TLSFiles{CertFile: cert, KeyFile: cert + ".missing"}, http.NotFoundHandler())
	if err == nil {
		t.Fatal("ServeTLS served without its key")
	}
}
