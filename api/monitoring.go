package api

import (
	"net/http"
	"strings"

	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
)

// MonitoringPath is where asynqmon is served.
const MonitoringPath = "/monitoring"

// sharedRedis hands asynqmon the API's own Redis client instead of a new
// connection pool. The handlers are never closed: the pool lives as long as
// the process.
type sharedRedis struct{ c redis.UniversalClient }

// MakeRedisClient implements asynq.RedisConnOpt.
func (s sharedRedis) MakeRedisClient() any { return s.c }

// monitoring returns asynqmon behind the API's authorization: any
// authenticated principal (viewer and up) may look; only an admin may act
// (pause a queue, cancel, run, archive or delete tasks). Non-admins get a
// read-only asynqmon, whose UI hides the actions; a non-GET request from
// them is refused with 403 before it reaches asynqmon. Authentication is
// the API's bearer token; browsers reach it through an SSO proxy that adds
// the header.
func (s *Server) monitoring() http.Handler {
	opt := sharedRedis{c: s.cfg.Redis}
	full := asynqmon.New(asynqmon.Options{RootPath: MonitoringPath, RedisConnOpt: opt})
	readOnly := asynqmon.New(asynqmon.Options{RootPath: MonitoringPath, RedisConnOpt: opt, ReadOnly: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.monitoringGuard(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := need(r, auth.Admin, "changing queues or tasks in asynqmon"); err != nil {
				s.writeError(w, r, err)
				return
			}
			full.ServeHTTP(w, r)
			return
		}
		if err := need(r, auth.Viewer, "asynqmon"); err != nil {
			s.writeError(w, r, err)
			return
		}
		if principalOf(r).Role.Allows(auth.Admin) {
			full.ServeHTTP(w, r)
			return
		}
		readOnly.ServeHTTP(w, r)
	})
}

// monitoringGuard answers, before asynqmon, what asynqmon would answer
// with a 500 or show too widely:
//   - its Redis info (server and kernel versions, every database's
//     keyspace) is for admins;
//   - its metrics page needs a Prometheus address the product does not
//     give it (Grafana shows the metrics): 404;
//   - a queue that does not exist is 404, not asynqmon's 500.
func (s *Server) monitoringGuard(r *http.Request) error {
	rest, ok := strings.CutPrefix(r.URL.Path, MonitoringPath+"/api/")
	if !ok {
		return nil
	}
	switch {
	case rest == "redis_info":
		return need(r, auth.Admin, "asynqmon's Redis info")
	case rest == "metrics":
		return errs.New(errs.NotFound, "asynqmon's metrics page is off: the product's metrics are on /metrics and in Grafana")
	}
	q, ok := strings.CutPrefix(rest, "queues/")
	if !ok {
		return nil
	}
	name, _, _ := strings.Cut(q, "/")
	name, _, _ = strings.Cut(name, ":")
	known, err := s.cfg.Redis.SIsMember(r.Context(), "asynq:queues", name).Result()
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "asynqmon: reading the queues from Redis")
	}
	if !known {
		return errs.New(errs.NotFound, "no queue %q", name)
	}
	return nil
}
