package auditstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Grant gives the writer role (the worker's) exactly what appending needs
// and the reader roles (the anchor, people running starter audit) SELECT:
// the writer may insert entries and policy texts, read, and move a chain
// head forward (the trigger refuses anything else); no UPDATE or DELETE of
// entries, no TRUNCATE, no DDL. Run it as the owner, after Migrate; it is
// idempotent.
func (s *Store) Grant(ctx context.Context, writer string, readers []string) error {
	var stmts []string
	if writer != "" {
		w := pgx.Identifier{writer}.Sanitize()
		stmts = append(stmts,
			`GRANT SELECT, INSERT ON audit_entries, audit_policies, audit_heads TO `+w,
			`GRANT UPDATE (pos, hash, updated_at) ON audit_heads TO `+w,
			`GRANT SELECT ON audit_schema_migrations TO `+w,
			// The task read model is a view of the entries, kept in the
			// same transaction: the writer changes it as it appends.
			`GRANT SELECT, INSERT, UPDATE, DELETE ON inbox_tasks, inbox_substitutes TO `+w)
	}
	for _, r := range readers {
		if r = strings.TrimSpace(r); r != "" {
			stmts = append(stmts, `GRANT SELECT ON audit_entries, audit_heads, audit_policies, audit_schema_migrations, inbox_tasks, inbox_substitutes TO `+pgx.Identifier{r}.Sanitize())
		}
	}
	for _, q := range stmts {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("audit store: %s: %w", q, err)
		}
	}
	return nil
}

// Role is what the connection's role may do to the trail.
type Role struct {
	Name      string
	Superuser bool
	Owner     bool
	// Rewrite lists the rights beyond appending it holds on the entries
	// (UPDATE, DELETE, TRUNCATE).
	Rewrite []string
}

// AppendOnly reports whether the role can only append.
func (r Role) AppendOnly() bool { return !r.Superuser && !r.Owner && len(r.Rewrite) == 0 }

// Role reads what the connection's role may do.
func (s *Store) Role(ctx context.Context) (Role, error) {
	var r Role
	var owner string
	err := s.pool.QueryRow(ctx, `SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
		coalesce((SELECT tableowner FROM pg_tables WHERE tablename = 'audit_entries' AND schemaname = current_schema()), '')`).Scan(&r.Name, &r.Superuser, &owner)
	if err != nil {
		return r, s.queryErr(err)
	}
	r.Owner = owner == r.Name
	if owner == "" {
		return r, nil
	}
	for _, p := range []string{"UPDATE", "DELETE", "TRUNCATE"} {
		var has bool
		if err := s.pool.QueryRow(ctx, `SELECT has_table_privilege('audit_entries', $1)`, p).Scan(&has); err != nil {
			return r, s.queryErr(err)
		}
		if has {
			r.Rewrite = append(r.Rewrite, p)
		}
	}
	return r, nil
}

// User is the role name in dsn (empty when it names none).
func User(dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("audit.dsn: %s", strings.TrimPrefix(err.Error(), "cannot parse `"+dsn+"`: "))
	}
	return cfg.User, nil
}
