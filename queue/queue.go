// Package queue wires the product to asynq: queue names and priorities,
// task type names, step payloads, and the step chain that runs a job's
// planned steps one task at a time, each step's handler enqueueing the next.
package queue

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Queue names. Live failovers and rollbacks go ahead of test failovers;
// drills run last.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Priorities are the weights asynq gives each queue.
var Priorities = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// DefaultRedisAddr is where Redis is when nothing says otherwise.
const DefaultRedisAddr = "127.0.0.1:6379"

// RedisConfig says where Redis is.
type RedisConfig struct {
	// Addr is host:port. Defaults to DefaultRedisAddr.
	Addr string
	// Password is the Redis password, if any. Never logged.
	Password string
	// DB is the Redis database number. Defaults to 0.
	DB int
}

// ConnOpt returns asynq's connection options.
func (c RedisConfig) ConnOpt() asynq.RedisClientOpt {
	addr := c.Addr
	if addr == "" {
		addr = DefaultRedisAddr
	}
	return asynq.RedisClientOpt{Addr: addr, Password: c.Password, DB: c.DB,
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
}

// TaskType is the asynq task type of one step of a chain, for example
// "failover:snapshot". Every task type the product enqueues is made here.
func TaskType(chain, step string) string { return chain + ":" + step }

// stepTaskID is the asynq task id of one run of one step of a job. asynq
// refuses a reused id while the task exists in any state, so the same step
// of the same run cannot be enqueued twice; a retry of a failed job is a
// new run and gets new ids.
func stepTaskID(jobID string, seq, run int) string {
	return fmt.Sprintf("%s:%d:r%d", jobID, seq, run)
}

// StepPayload is the JSON payload of a step task: ids only, the job's
// configuration lives in Postgres.
type StepPayload struct {
	JobID string `json:"job_id"`
	Seq   int    `json:"seq"`
	Run   int    `json:"run"`
}
