// Package storetest opens the product's store for a test: on a database
// of the test's own (testsvc.PostgresURL), migrated, closed when the test
// ends.
package storetest

import (
	"context"
	"testing"

	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/testsvc"
)

// Open opens the store on the test's own database; a failure ends the
// test.
func Open(t testing.TB, ctx context.Context) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, testsvc.PostgresURL(t))
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}
