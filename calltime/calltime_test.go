package calltime_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/calltime"
)

func TestOverlappingCallsCountOnce(t *testing.T) {
	t.Parallel()
	ctx := calltime.With(context.Background())
	a := calltime.Start(ctx)
	b := calltime.Start(ctx)
	time.Sleep(30 * time.Millisecond)
	a()
	a() // a second call of done does nothing
	time.Sleep(10 * time.Millisecond)
	b()
	time.Sleep(20 * time.Millisecond)
	got := calltime.Total(ctx)
	if got < 40*time.Millisecond || got > 55*time.Millisecond {
		t.Fatalf("total %s, want about 40ms (the union of both calls)", got)
	}
	calltime.Add(ctx, time.Second)
	if calltime.Total(ctx) < time.Second {
		t.Fatal("Add did not add")
	}
	if calltime.Total(context.Background()) != 0 {
		t.Fatal("a context without an accumulator has a total")
	}
	calltime.Start(context.Background())() // no accumulator: no-op
}

func TestTransportCountsUntilTheBodyIsRead(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(25 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ctx := calltime.With(context.Background())
	hc := &http.Client{Transport: calltime.Transport(nil)}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	time.Sleep(20 * time.Millisecond)
	if got := calltime.Total(ctx); got < 25*time.Millisecond || got > 40*time.Millisecond {
		t.Fatalf("total %s, want the round trip's ~25ms", got)
	}
}
