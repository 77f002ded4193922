package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies the pending migrations to the database cfg names. It
// holds a Postgres advisory lock while it runs, so processes starting at
// once apply each migration exactly once. The lock id is derived from the
// database and search_path so isolated test schemas do not wait on each
// other.
func Migrate(ctx context.Context, cfg *pgx.ConnConfig) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("opening embedded migrations: %w", err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "unifiedfailover/%s/%s", cfg.Database, cfg.RuntimeParams["search_path"])
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("creating migration lock: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		if err := ensureSchema(ctx, db, sp); err != nil {
			return err
		}
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// ensureSchema creates the first schema of a search_path when missing.
func ensureSchema(ctx context.Context, db *sql.DB, searchPath string) error {
	schema := searchPath
	for i, r := range searchPath {
		if r == ',' {
			schema = searchPath[:i]
			break
		}
	}
	_, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	if err != nil && !isUniqueViolation(err, "") { // another process created it just now
		return fmt.Errorf("creating schema %q: %w", schema, err)
	}
	return nil
}
