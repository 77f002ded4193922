package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUnauthenticatedBodyIsNotWaitedFor: a request without a valid token
// that announces a large body gets its 401 at once, and the connection is
// closed without reading the body, so it holds nothing open.
func TestUnauthenticatedBodyIsNotWaitedFor(t *testing.T) {
	t.Parallel()
	b := setupIdle(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// 1000 bytes announced (under the body limit), none sent.
	if _, err := conn.Write([]byte("POST /api/v1/failover/unified HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("reading the 401's body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("got %d (close %v), want 401 and Connection: close", resp.StatusCode, resp.Close)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("X-Content-Type-Options = %q, want nosniff", resp.Header.Get("X-Content-Type-Options"))
	}
	if _, err := rd.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after the 401")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept the connection open, waiting for the body")
	}
}
