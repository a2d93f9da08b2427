package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditstore"
)

// openAudit connects to the audit store and applies its schema migrations.
// A missing or unreachable database stops the worker with one line: a
// worker that cannot audit must not run processes.
func openAudit(ctx context.Context, cfg config.Audit, zl *zap.Logger) (*auditstore.Store, error) {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := auditstore.Open(octx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(octx)
	if err != nil {
		st.Close()
		return nil, err
	}
	zl.Info("audit store ready", zap.String("at", st.Host()), zap.Int("schemaVersion", auditstore.SchemaVersion()), zap.Ints("migrationsApplied", applied))
	return st, nil
}
