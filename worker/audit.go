package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/policy"
)

// openAudit connects to the audit store as the append-only writer, checks
// that its schema is the one this binary writes (the worker does not
// migrate: `worker --migrate` does, as the owner) and makes every entry it
// stores carry the writer key's attestation. A missing or unreachable
// database, an old schema or a missing key stops the worker with one
// line: a worker that cannot audit must not run processes.
func openAudit(ctx context.Context, cfg config.Audit, zl *zap.Logger) (*auditstore.Store, error) {
	w, err := auditlog.LoadWriter(cfg.WriterKey)
	if err != nil {
		return nil, fmt.Errorf("%w: create one with: worker --new-key FILE", err)
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := auditstore.Open(octx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSchema(octx); err != nil {
		st.Close()
		return nil, err
	}
	st.SetAttestor(w)
	role, err := st.Role(octx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if !role.AppendOnly() {
		zl.Warn("the audit store role can rewrite the trail: give the worker an append-only role (worker --migrate grants one: set audit.owner_dsn / BATON_AUDIT_OWNER_DSN to the owner, audit.dsn to the writer)",
			zap.String("role", role.Name), zap.Bool("superuser", role.Superuser), zap.Bool("owner", role.Owner), zap.Strings("rights", role.Rewrite))
	}
	zl.Info("audit store ready", zap.String("at", st.Host()), zap.Int("schemaVersion", auditstore.SchemaVersion()), zap.String("role", role.Name), zap.Bool("appendOnly", role.AppendOnly()))
	return st, nil
}

// migrateAudit applies the schema migrations as the owner (audit.owner_dsn)
// and grants the writer (audit.dsn's role) and the readers their rights.
func migrateAudit(ctx context.Context, cfg config.Audit, zl *zap.Logger) error {
	if strings.TrimSpace(cfg.OwnerDSN) == "" {
		return errors.New("audit.owner_dsn: required for --migrate (BATON_AUDIT_OWNER_DSN): the role that owns the audit tables")
	}
	writer, err := auditstore.User(cfg.DSN)
	if err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := auditstore.Open(octx, cfg.OwnerDSN)
	if err != nil {
		return fmt.Errorf("audit.owner_dsn: %w", err)
	}
	defer st.Close()
	applied, err := st.Migrate(octx)
	if err != nil {
		return err
	}
	if slices.Contains(applied, auditstore.InboxMigration) {
		// The read model is new: fill it from the trail already stored.
		rctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		res, err := st.RebuildInbox(rctx)
		cancel()
		if err != nil {
			return err
		}
		zl.Info("task read model filled from the trail", zap.Int("instances", res.Instances), zap.Int("openTasks", res.Tasks), zap.Int("substitutions", res.Substitutions))
	}
	owner, err := st.Role(octx)
	if err != nil {
		return err
	}
	if writer == owner.Name {
		writer = "" // one role for both: nothing to grant (and it can rewrite)
		zl.Warn("audit.dsn connects as the owner: the worker could rewrite the trail; give it a role of its own")
	}
	if err := st.Grant(octx, writer, strings.Split(cfg.Readers, ",")); err != nil {
		return err
	}
	zl.Info("audit store migrated", zap.Int("schemaVersion", auditstore.SchemaVersion()), zap.Ints("migrationsApplied", applied),
		zap.String("owner", owner.Name), zap.String("writer", writer), zap.String("readers", cfg.Readers))
	return nil
}

// rebuildInbox makes the task read model again from the whole trail.
func rebuildInbox(ctx context.Context, cfg config.Audit, zl *zap.Logger) error {
	octx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	st, err := auditstore.Open(octx, cfg.DSN)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(octx); err != nil {
		return err
	}
	start := time.Now()
	res, err := st.RebuildInbox(octx)
	if err != nil {
		return err
	}
	zl.Info("task read model rebuilt from the trail", zap.Int("instances", res.Instances), zap.Int("openTasks", res.Tasks),
		zap.Int("substitutions", res.Substitutions), zap.Duration("took", time.Since(start).Round(time.Millisecond)))
	return nil
}

// storePolicy keeps the text of the policy the worker pins, by version
// (its content hash), for evidence packs.
func storePolicy(ctx context.Context, st *auditstore.Store, file string, pol *policy.Policy) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("policy: read %s: %w", file, err)
	}
	sum := sha256.Sum256(body)
	if v := "sha256:" + hex.EncodeToString(sum[:])[:12]; v != pol.Version {
		return fmt.Errorf("policy: %s changed while the worker started (version %s, now %s): start it again", file, pol.Version, v)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return st.PutPolicy(sctx, pol.Version, body)
}
