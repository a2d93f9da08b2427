// Package pgtest starts a throwaway PostgreSQL for tests: initdb into a
// temporary directory (as the `postgres` user when running as root, since
// initdb refuses root), a free TCP port on 127.0.0.1 and a private unix
// socket directory, stopped and removed on cleanup. Missing binaries fail
// the test with the way to install them: tests that need PostgreSQL never
// skip.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is one running (or stopped) PostgreSQL cluster.
type Server struct {
	Dir  string // root: data/, sock/, log
	Port int
	bin  string // folder of initdb, pg_ctl, postgres
	cred *syscall.Credential
}

// Binaries finds the folder holding initdb and pg_ctl: the PATH first,
// then Debian's /usr/lib/postgresql/<version>/bin (newest first).
func Binaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: install them with `make postgresql` (Debian's postgresql)")
}

// Start initialises and starts a cluster for the test and stops it and
// removes its files when the test ends. A failure to start fails the test.
func Start(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := New(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// New initialises and starts a cluster in a new temporary directory; Close
// stops it and removes the directory.
func New(ctx context.Context) (*Server, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "baton-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin, Port: freePort()}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, errors.New("running as root and there is no `postgres` user for initdb (initdb refuses root): install Debian's postgresql, which creates it")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := os.Mkdir(s.sockDir(), 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if s.cred != nil {
		_ = os.Chown(s.sockDir(), int(s.cred.Uid), int(s.cred.Gid))
	}
	if err := s.run(ctx, "initdb", "-D", s.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.StartServer(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }
func (s *Server) sockDir() string { return filepath.Join(s.Dir, "sock") }

// StartServer starts the (stopped) cluster on its port and waits until it
// accepts connections.
func (s *Server) StartServer(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", s.Port, s.sockDir())
	return s.run(ctx, "pg_ctl", "-D", s.dataDir(), "-l", filepath.Join(s.Dir, "log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the cluster: "fast" disconnects clients and shuts down
// cleanly; "immediate" aborts every server process, as a crash would
// (recovery replays the WAL on the next start).
func (s *Server) Stop(ctx context.Context, mode string) error {
	return s.run(ctx, "pg_ctl", "-D", s.dataDir(), "-m", mode, "-w", "-t", "60", "stop")
}

// Close stops the cluster and removes its files.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = s.Stop(ctx, "immediate")
	_ = os.RemoveAll(s.Dir)
}

// DSN is the connection string for database db as the superuser.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDB creates database name (a fresh one per test keeps tests
// independent) and returns its DSN.
func (s *Server) CreateDB(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// DB creates a fresh database for the test and returns its DSN.
func (s *Server) DB(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := s.CreateDB(ctx, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// Log is the server's log so far, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
	return string(b)
}

func (s *Server) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.Dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s%s", name, args, err, out.String(), s.Log())
	}
	return nil
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Audit store roles, as make dev, make cluster and compose create them.
const (
	AuditOwner  = "baton_owner"  // owns the tables, runs migrations
	AuditWriter = "baton_writer" // the worker's: append only
	AuditReader = "baton_reader" // the anchor's and auditors': SELECT
)

// AuditDSNs are the connection strings of an audit database's roles.
type AuditDSNs struct{ Owner, Writer, Reader string }

// CreateAuditDB creates the audit roles (once per server; no password:
// the test cluster trusts loopback) and database name owned by the owner
// role, and returns each role's DSN. Nothing is migrated.
func (s *Server) CreateAuditDB(ctx context.Context, name string) (AuditDSNs, error) {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return AuditDSNs{}, err
	}
	defer conn.Close(ctx)
	for _, role := range []string{AuditOwner, AuditWriter, AuditReader} {
		if _, err := conn.Exec(ctx, `DO $$ BEGIN CREATE ROLE `+role+` LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`); err != nil {
			return AuditDSNs{}, fmt.Errorf("create role %s: %w", role, err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER "+AuditOwner); err != nil {
		return AuditDSNs{}, fmt.Errorf("create database %s: %w", name, err)
	}
	dsn := func(role string) string {
		return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", role, s.Port, name)
	}
	return AuditDSNs{Owner: dsn(AuditOwner), Writer: dsn(AuditWriter), Reader: dsn(AuditReader)}, nil
}
