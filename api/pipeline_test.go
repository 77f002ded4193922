package api_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
	"github.com/ossea/unifiedfailover/tasks"
	"github.com/ossea/unifiedfailover/testsvc"
)

// pipeline is what every API test stands on: a store in a schema of the
// test's own, a private Redis, a runner with the product's built-in chains,
// and the metrics registry.
type pipeline struct {
	store  *store.Store
	redis  queue.RedisConfig
	rdb    *redis.Client
	runner *queue.Runner
	log    *slog.Logger
	reg    *prometheus.Registry
	m      *metrics.Metrics
}

func newPipeline(t *testing.T, ctx context.Context) *pipeline {
	t.Helper()
	st := storetest.Open(t, ctx)
	rd := testsvc.StartRedis(t, testsvc.RedisOptions{})
	p := &pipeline{store: st, redis: queue.RedisConfig{Addr: rd.Addr}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		reg: prometheus.NewRegistry()}
	qc := asynq.NewClient(p.redis.ConnOpt())
	t.Cleanup(func() { qc.Close() })
	p.rdb = redis.NewClient(&redis.Options{Addr: rd.Addr})
	t.Cleanup(func() { p.rdb.Close() })
	p.m = metrics.New(p.reg)
	p.runner = queue.NewRunner(st, qc, p.log, p.m)
	if err := tasks.Register(p.runner, tasks.Deps{Store: st, Log: p.log, Metrics: p.m}); err != nil {
		t.Fatal(err)
	}
	return p
}

// startWorker runs an in-process worker over the runner's chains.
func (p *pipeline) startWorker(t *testing.T) {
	t.Helper()
	srv := queue.NewServer(p.redis, queue.ServerConfig{PollInterval: 10 * time.Millisecond}, p.runner, p.log)
	if err := srv.Start(p.runner.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}
