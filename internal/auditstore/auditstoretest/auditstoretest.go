// Package auditstoretest gives tests an audit store on a throwaway
// PostgreSQL, migrated and closed at the end of the test.
package auditstoretest

import (
	"context"
	"testing"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/pgtest"
)

// Start starts a PostgreSQL for the test and opens a migrated audit store
// in a database of its own; the server is returned so a test can stop and
// restart it.
func Start(t testing.TB) (*auditstore.Store, *pgtest.Server) {
	t.Helper()
	st, pg, _ := StartDSN(t)
	return st, pg
}

// StartDSN is Start, also returning the database's DSN (the superuser's).
func StartDSN(t testing.TB) (*auditstore.Store, *pgtest.Server, string) {
	t.Helper()
	pg := pgtest.Start(t)
	ctx := context.Background()
	dsn := pg.DB(t, "audit")
	st, err := auditstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st, pg, dsn
}
