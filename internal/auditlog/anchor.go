package auditlog

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/internal/auditstore"
)

// AnchorConfig is what the anchor needs.
type AnchorConfig struct {
	// Store is the audit store, read only (SELECT is all the anchor needs).
	Store *auditstore.Store
	// Dir holds the log (Dir/log: checkpoint, tiles, entry bundles, served
	// over HTTP) and the anchor's own state (index, cursor, rejections).
	// The database role must not be able to write it.
	Dir string
	// Signer signs checkpoints (the log's key); its name is the origin.
	Signer note.Signer
	// Writers are the public keys whose attestations the anchor accepts.
	Writers []note.Verifier
	// WitnessURL and WitnessKey name the witness that cosigns every
	// checkpoint; a checkpoint is published only once it has cosigned.
	WitnessURL string
	WitnessKey string
	// Poll is how often the store is read when it had nothing new;
	// CheckpointInterval how often a checkpoint is published.
	Poll               time.Duration
	CheckpointInterval time.Duration
	Log                *zap.Logger
}

// Anchor reads committed entries in commit order, checks each (hash,
// attestation, chain link), appends a leaf per entry to the log and keeps
// an index of each instance's leaves.
type Anchor struct {
	cfg       AnchorConfig
	appender  *tessera.Appender
	shutdown  func(context.Context) error
	reader    tessera.LogReader
	stop      context.CancelFunc
	closeOnce sync.Once

	mu       sync.RWMutex
	index    map[string][]Indexed // workflow ID -> its leaves, by position
	size     uint64               // leaves in the index
	rejected []Rejection
	cursor   auditstore.Cursor
	ixFile   *os.File
}

// Rejection is an entry the anchor did not integrate (or integrated with
// a broken link), with why.
type Rejection struct {
	At         time.Time `json:"at"`
	WorkflowID string    `json:"workflowId"`
	Pos        int64     `json:"pos"`
	Kind       string    `json:"kind"`
	Detail     string    `json:"detail"`
	Integrated bool      `json:"integrated"`
}

// LogDir is where the log's public files are under the anchor's folder.
func LogDir(dir string) string { return filepath.Join(dir, "log") }

// NewAnchor opens (or creates) the log in cfg.Dir and loads the index.
func NewAnchor(ctx context.Context, cfg AnchorConfig) (*Anchor, error) {
	if cfg.Poll <= 0 {
		// Each read that finds rows is one integration of the tree (files
		// written and synced): reading twice a second batches a busy
		// store's entries, well inside the checkpoint interval.
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Second
	}
	if err := os.MkdirAll(LogDir(cfg.Dir), 0o755); err != nil {
		return nil, fmt.Errorf("anchor.dir: %w", err)
	}
	driver, err := posix.New(ctx, posix.Config{Path: LogDir(cfg.Dir)})
	if err != nil {
		return nil, fmt.Errorf("anchor: log storage: %w", err)
	}
	opts := tessera.NewAppendOptions().WithCheckpointSigner(cfg.Signer).
		WithBatching(512, 100*time.Millisecond).WithCheckpointInterval(cfg.CheckpointInterval)
	if cfg.WitnessURL != "" {
		u, err := url.Parse(cfg.WitnessURL)
		if err != nil {
			return nil, fmt.Errorf("anchor.witness_url: %w", err)
		}
		w, err := tessera.NewWitness(cfg.WitnessKey, u)
		if err != nil {
			return nil, fmt.Errorf("anchor.witness_key: %w", err)
		}
		opts.WithWitnesses(tessera.NewWitnessGroup(1, w), &tessera.WitnessOptions{Timeout: 5 * time.Second})
	}
	a := &Anchor{cfg: cfg, index: map[string][]Indexed{}}
	// The log's background work (integration, checkpoints) lives until
	// Close, whatever ctx does.
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.appender, a.shutdown, a.reader, err = tessera.NewAppender(lctx, driver, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("anchor: open the log: %w", err)
	}
	a.stop = cancel
	if err := a.load(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close publishes what was appended and stops the log's background work.
func (a *Anchor) Close() {
	a.closeOnce.Do(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.shutdown(sctx); err != nil {
			a.cfg.Log.Warn("anchor: shutdown", zap.Error(err))
		}
		a.stop()
		if a.ixFile != nil {
			_ = a.ixFile.Close()
		}
	})
}

func (a *Anchor) path(name string) string { return filepath.Join(a.cfg.Dir, name) }

type indexLine struct {
	W string `json:"w"`
	Indexed
}

// load reads the index and cursor, and adds to the index what the log
// holds beyond it (the anchor stopped after a leaf was sequenced, before
// it was indexed), so a restart never appends an entry twice.
func (a *Anchor) load(ctx context.Context) error {
	if b, err := os.ReadFile(a.path("cursor.json")); err == nil {
		if err := json.Unmarshal(b, &a.cursor); err != nil {
			return fmt.Errorf("anchor: %s: %w", a.path("cursor.json"), err)
		}
	}
	var good int64 // bytes of whole, in-order lines
	if b, err := os.ReadFile(a.path("index.jsonl")); err == nil {
		for len(b) > 0 {
			line, rest, ok := bytes.Cut(b, []byte("\n"))
			var l indexLine
			if !ok || json.Unmarshal(line, &l) != nil || l.Index != a.size {
				break // a torn last line: recovered from the log below
			}
			a.addIndexed(l.W, l.Indexed)
			good += int64(len(line)) + 1
			b = rest
		}
	}
	f, err := os.OpenFile(a.path("index.jsonl"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("anchor: index: %w", err)
	}
	if err := f.Truncate(good); err != nil {
		return fmt.Errorf("anchor: index: %w", err)
	}
	if _, err := f.Seek(good, 0); err != nil {
		return fmt.Errorf("anchor: index: %w", err)
	}
	a.ixFile = f
	size, err := a.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("anchor: log size: %w", err)
	}
	for a.size < size {
		bundle, err := client.GetEntryBundle(ctx, a.reader.ReadEntryBundle, a.size/256, size)
		if err != nil {
			return fmt.Errorf("anchor: read leaf %d: %w", a.size, err)
		}
		for i := a.size % 256; i < uint64(len(bundle.Entries)) && a.size < size; i++ {
			l, err := ParseLeaf(bundle.Entries[i])
			if err != nil {
				return fmt.Errorf("anchor: leaf %d: %w", a.size, err)
			}
			if err := a.record(l.WorkflowID, Indexed{Index: a.size, Pos: l.Pos, Hash: l.Hash, At: l.At}); err != nil {
				return err
			}
		}
	}
	if b, err := os.ReadFile(a.path("rejected.jsonl")); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			var r Rejection
			if json.Unmarshal(line, &r) == nil {
				a.rejected = append(a.rejected, r)
			}
		}
	}
	return nil
}

func (a *Anchor) addIndexed(id string, l Indexed) {
	a.index[id] = append(a.index[id], l)
	a.size = l.Index + 1
}

// record adds a leaf to the index and its file.
func (a *Anchor) record(id string, l Indexed) error {
	b, _ := json.Marshal(indexLine{id, l})
	if _, err := a.ixFile.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("anchor: index: %w", err)
	}
	a.mu.Lock()
	a.addIndexed(id, l)
	a.mu.Unlock()
	return nil
}

func (a *Anchor) reject(r Rejection) {
	r.At = time.Now().UTC()
	fields := []zap.Field{zap.String("workflowId", r.WorkflowID), zap.Int64("pos", r.Pos), zap.String("kind", r.Kind), zap.String("detail", r.Detail)}
	if r.Integrated {
		a.cfg.Log.Warn("audit entry anchored with a problem", fields...)
	} else {
		a.cfg.Log.Error("audit entry refused by the anchor: not in the log", fields...)
	}
	b, _ := json.Marshal(r)
	if f, err := os.OpenFile(a.path("rejected.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		_, _ = f.Write(append(b, '\n'))
		_ = f.Close()
	}
	a.mu.Lock()
	a.rejected = append(a.rejected, r)
	a.mu.Unlock()
}

// last is the last leaf of an instance (ok false when none).
func (a *Anchor) last(id string) (Indexed, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	ls := a.index[id]
	if len(ls) == 0 {
		return Indexed{}, false
	}
	return ls[len(ls)-1], true
}

// anchored is the leaf anchored at an instance's position, if any.
func (a *Anchor) anchored(id string, pos int64) (Indexed, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, l := range a.index[id] {
		if l.Pos == pos {
			return l, true
		}
	}
	return Indexed{}, false
}

// feedBatch is how many entries one step reads at most.
const feedBatch = 500

// Run anchors until ctx ends, then publishes what it appended.
func (a *Anchor) Run(ctx context.Context) error {
	defer a.Close()
	backoff := a.cfg.Poll
	for {
		n, err := a.Step(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			a.cfg.Log.Warn("anchor: reading the audit store", zap.Error(err))
			backoff = min(2*backoff, 10*time.Second)
		case n == feedBatch:
			backoff = a.cfg.Poll
			continue // a backlog: read on at once
		default:
			backoff = a.cfg.Poll
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

// Step anchors one batch of committed entries and returns how many it
// read.
func (a *Anchor) Step(ctx context.Context) (int, error) {
	batch, err := a.cfg.Store.Committed(ctx, a.cursor, feedBatch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	type pending struct {
		id string
		l  Indexed
		f  tessera.IndexFuture
	}
	var added []pending
	lastOf := map[string]Indexed{}
	for _, c := range batch {
		r := c.Stored
		if old, ok := a.anchored(r.WorkflowID, r.Pos); ok {
			if old.Hash != r.Hash {
				a.reject(Rejection{WorkflowID: r.WorkflowID, Pos: r.Pos, Kind: "rewritten",
					Detail: fmt.Sprintf("position %d was anchored with hash %s at leaf %d; the store now has another entry there", r.Pos, short(old.Hash), old.Index)})
			}
			continue
		}
		if kind, detail := a.check(r); kind != "" {
			a.reject(Rejection{WorkflowID: r.WorkflowID, Pos: r.Pos, Kind: kind, Detail: detail})
			continue
		}
		prev, ok := lastOf[r.WorkflowID]
		if !ok {
			prev, ok = a.last(r.WorkflowID)
		}
		switch {
		case !ok && r.Pos != 1:
			a.reject(Rejection{WorkflowID: r.WorkflowID, Pos: r.Pos, Kind: "broken-link", Integrated: true,
				Detail: fmt.Sprintf("first anchored entry of the instance is at position %d", r.Pos)})
		case ok && (r.Pos != prev.Pos+1 || r.PrevHash != prev.Hash):
			a.reject(Rejection{WorkflowID: r.WorkflowID, Pos: r.Pos, Kind: "broken-link", Integrated: true,
				Detail: fmt.Sprintf("does not follow the last anchored entry (position %d, hash %s)", prev.Pos, short(prev.Hash))})
		}
		leaf := Leaf{WorkflowID: r.WorkflowID, Pos: r.Pos, Hash: r.Hash, At: r.Time, Attestation: r.Attestation}
		l := Indexed{Pos: r.Pos, Hash: r.Hash, At: r.Time}
		lastOf[r.WorkflowID] = l
		added = append(added, pending{r.WorkflowID, l, a.appender.Add(ctx, tessera.NewEntry(leaf.Marshal()))})
	}
	for _, p := range added {
		idx, err := p.f()
		if err != nil {
			return 0, fmt.Errorf("anchor: append %s/%d: %w", p.id, p.l.Pos, err)
		}
		p.l.Index = idx.Index
		if err := a.record(p.id, p.l); err != nil {
			return 0, err
		}
	}
	a.cursor = batch[len(batch)-1].Cursor
	b, _ := json.Marshal(a.cursor)
	tmp := a.path("cursor.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, a.path("cursor.json")); err != nil {
		return 0, err
	}
	return len(batch), nil
}

// check names what is wrong with a stored entry that keeps it out of the
// log: content that does not match its hash, or an attestation no writer
// key made.
func (a *Anchor) check(r audit.Stored) (kind, detail string) {
	prev, err1 := hex.DecodeString(r.PrevHash)
	if err1 != nil || hex.EncodeToString(audit.ChainHash(prev, r.Pos, r.Entry)) != r.Hash {
		return auditstore.ProblemHash, "its content does not match its hash"
	}
	h, _ := hex.DecodeString(r.Hash)
	if _, err := VerifyAttestation(a.cfg.Writers, h, r.Attestation); err != nil {
		kind := ProblemForged
		if errors.Is(err, ErrUnattested) {
			kind = ProblemUnattested
		}
		return kind, err.Error()
	}
	return "", ""
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// Handler serves the log (checkpoint, tiles, entry bundles: tlog-tiles)
// and Baton's index: /baton/index?workflow=ID (an instance's leaves),
// /baton/instances?since=RFC3339 (instances with a leaf since),
// /baton/rejected (entries not integrated, with why).
func (a *Anchor) Handler() http.Handler {
	mux := http.NewServeMux()
	files := http.FileServer(http.Dir(LogDir(a.cfg.Dir)))
	mux.HandleFunc("GET /checkpoint", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	mux.Handle("GET /tile/", files)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /baton/index", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("workflow")
		a.mu.RLock()
		leaves := slices.Clone(a.index[id])
		a.mu.RUnlock()
		writeJSON(w, IndexDoc{WorkflowID: id, Leaves: leaves})
	})
	mux.HandleFunc("GET /baton/instances", func(w http.ResponseWriter, r *http.Request) {
		var since time.Time
		if s := r.URL.Query().Get("since"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				http.Error(w, "since: not an RFC 3339 time", http.StatusBadRequest)
				return
			}
			since = t
		}
		var ids []string
		a.mu.RLock()
		for id, ls := range a.index {
			if slices.ContainsFunc(ls, func(l Indexed) bool { return !l.At.Before(since) }) {
				ids = append(ids, id)
			}
		}
		a.mu.RUnlock()
		slices.Sort(ids)
		writeJSON(w, ids)
	})
	mux.HandleFunc("GET /baton/rejected", func(w http.ResponseWriter, _ *http.Request) {
		a.mu.RLock()
		rs := slices.Clone(a.rejected)
		a.mu.RUnlock()
		writeJSON(w, rs)
	})
	return mux
}

// IndexDoc is /baton/index's answer.
type IndexDoc struct {
	WorkflowID string    `json:"workflowId"`
	Leaves     []Indexed `json:"leaves"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// Problem kinds the anchor and the verifiers report beyond the chain's.
const (
	ProblemForged     = "forged"
	ProblemUnattested = "unattested"
)
