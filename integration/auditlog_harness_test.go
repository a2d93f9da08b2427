package integration

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/pgtest"
)

// auditLogEnv is the audit log of the run: the writer's, the log's and
// the witness's keys, and where the anchor serves the log.
type auditLogEnv struct {
	writerKey, logKey, witnessKey string
	logURL, witnessURL            string
	checkpointFile                string // the starter's last seen checkpoint
	anchorLog, witnessLog         *lockedBuffer
	anchor, witness               *exec.Cmd
	anchorEnv, witnessEnv         []string
}

// makeAuditKeys writes the three keys of the audit log into tmp, as make
// dev writes them into .dev/.
func makeAuditKeys(tmp string) error {
	a := &env.audit
	a.writerKey, a.logKey, a.witnessKey = filepath.Join(tmp, "audit-writer.key"), filepath.Join(tmp, "anchor.key"), filepath.Join(tmp, "witness.key")
	a.checkpointFile = filepath.Join(tmp, "seen-checkpoint")
	for _, k := range []struct{ path, name string }{{a.writerKey, auditlog.WriterKeyName}, {a.logKey, auditlog.LogOrigin}, {a.witnessKey, auditlog.WitnessKeyName}} {
		if _, err := auditlog.NewKeyFile(k.path, k.name); err != nil {
			return err
		}
	}
	return nil
}

// newAuditDB creates an audit database with its owner, writer and reader
// roles and migrates it with `worker --migrate`, as the owner: the worker
// and the starter then use the writer's DSN.
func newAuditDB(ctx context.Context, name string) (pgtest.AuditDSNs, error) {
	dsns, err := env.pg.CreateAuditDB(ctx, name)
	if err != nil {
		return dsns, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(env.bin, "worker"), "--migrate")
	cmd.Env = append(baseEnv(), "BATON_AUDIT_OWNER_DSN="+dsns.Owner, "BATON_AUDIT_DSN="+dsns.Writer, "BATON_AUDIT_READERS="+pgtest.AuditReader)
	if out, err := cmd.CombinedOutput(); err != nil {
		return dsns, fmt.Errorf("worker --migrate: %v\n%s", err, out)
	}
	return dsns, nil
}

// startAuditLog starts the witness and the anchor (on the reader's DSN)
// and returns once both answer.
func startAuditLog(ctx context.Context, tmp string) (func(), error) {
	a := &env.audit
	a.witnessURL, a.logURL = "http://"+freePort(), "http://"+freePort()
	a.anchorLog, a.witnessLog = &lockedBuffer{}, &lockedBuffer{}
	a.witnessEnv = append(baseEnv(), "BATON_WITNESS_LISTEN="+a.witnessURL[len("http://"):], "BATON_WITNESS_DIR="+filepath.Join(tmp, "witness"),
		"BATON_WITNESS_KEY_FILE="+a.witnessKey)
	a.anchorEnv = append(baseEnv(), "BATON_AUDIT_DSN="+env.auditDSNs.Reader, "BATON_ANCHOR_LISTEN="+a.logURL[len("http://"):],
		"BATON_ANCHOR_DIR="+filepath.Join(tmp, "anchor"), "BATON_ANCHOR_KEY_FILE="+a.logKey, "BATON_ANCHOR_WITNESS_URL="+a.witnessURL)
	if err := startAuditProcesses(ctx); err != nil {
		stopAuditProcesses()
		return nil, err
	}
	return stopAuditProcesses, nil
}

// startAuditProcesses starts the witness, then the anchor, and waits until
// both answer.
func startAuditProcesses(ctx context.Context) error {
	a := &env.audit
	a.witness = exec.Command(filepath.Join(env.bin, "witness"))
	a.witness.Env = a.witnessEnv
	a.witness.Stdout, a.witness.Stderr = a.witnessLog, a.witnessLog
	if err := a.witness.Start(); err != nil {
		return fmt.Errorf("start witness: %w", err)
	}
	if err := waitHealthy(ctx, a.witnessURL+"/healthz", a.witnessLog); err != nil {
		return err
	}
	a.anchor = exec.Command(filepath.Join(env.bin, "anchor"))
	a.anchor.Env = a.anchorEnv
	a.anchor.Stdout, a.anchor.Stderr = a.anchorLog, a.anchorLog
	if err := a.anchor.Start(); err != nil {
		return fmt.Errorf("start anchor: %w", err)
	}
	return waitHealthy(ctx, a.logURL+"/healthz", a.anchorLog)
}

// stopAuditProcesses stops the anchor, then the witness.
func stopAuditProcesses() {
	for _, c := range []*exec.Cmd{env.audit.anchor, env.audit.witness} {
		if c != nil && c.Process != nil {
			_ = c.Process.Signal(syscall.SIGTERM)
			_ = c.Wait()
		}
	}
	env.audit.anchor, env.audit.witness = nil, nil
}
