// Package store is the product's Postgres store: versioned migrations and
// one repository file per aggregate (contexts, network mappings, jobs and
// their steps, events, failover jobs, decisions, drills), written with pgx.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ossea/unifiedfailover/errs"
)

// DefaultMaxConns is the connection pool size when the database URL does
// not set pool_max_conns.
const DefaultMaxConns = 10

// Store is the product's database. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	waiter *jobWaiter
	stop   context.CancelFunc // ends the waiter's listening connection
}

// Open connects to the database at url, creating the database when it is
// missing, applies the pending migrations (under an advisory lock, so
// several processes may start at once) and returns the store.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database url: %w", err)
	}
	// pgxpool's default (the number of CPUs, at least 4) would make a
	// worker's concurrent steps queue for connections; pool_max_conns in
	// the URL still wins.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if err := ensureDatabase(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	if err := Migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	return &Store{pool: pool, waiter: newJobWaiter(wctx, cfg.ConnConfig.Copy()), stop: stop}, nil
}

// Close closes the pool and the connection waiting for jobs to end.
func (s *Store) Close() {
	s.stop()
	s.pool.Close()
}

// Pool returns the underlying pool, for health checks and benchmarks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return errs.Transient(err, "pinging postgres")
	}
	return nil
}

// ensureDatabase creates the database named in cfg when it does not exist.
func ensureDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connecting to database %q: %w", cfg.Database, err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	admin.RuntimeParams = map[string]string{}
	aconn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to postgres to create database %q: %w", cfg.Database, err)
	}
	defer aconn.Close(ctx)
	_, err = aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	// Another process may be creating it at the same moment.
	if err != nil && !(errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505")) {
		return fmt.Errorf("creating database %q: %w", cfg.Database, err)
	}
	return nil
}

// isUniqueViolation reports whether err is a unique violation on the named
// constraint or index (any when name is empty).
func isUniqueViolation(err error, name string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (name == "" || pgErr.ConstraintName == name)
}

// isForeignKeyViolation reports whether err is a foreign-key violation.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// classify wraps a database error: connection-level failures are transient,
// a missing row is NotFound, anything else keeps its cause.
func classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, format, args...)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "57", "53", "40": // connection, operator intervention, resources, serialization
			return errs.Transient(err, format, args...)
		}
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	if errs.IsTransient(err) || pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Transient(err, format, args...)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return errs.Transient(err, format, args...)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// Read is one query sent in the round trip of another statement (see
// FailoverOfJob and BeginStep). Scan reads its row; a missing row is for
// Scan to record (readErr), any other error ends the batch.
type Read struct {
	SQL  string
	Args []any
	Scan func(pgx.Row) error
}

// readErr is the error a Read's Scan returns: nil for a missing row (the
// reader's result says NotFound), err otherwise.
func readErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}
