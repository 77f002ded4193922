package api

import (
	"net/http"

	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/ossea/unifiedfailover/auth"
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
