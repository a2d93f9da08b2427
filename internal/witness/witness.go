// Package witness is a small C2SP tlog-witness: it cosigns a log's
// checkpoint only when given a valid consistency proof from the last
// checkpoint it cosigned for that log, which it keeps on disk. A log that
// rewrites its past (a fork, a rollback) cannot get a cosignature for the
// rewritten tree: verifiers that demand the witness's cosignature then
// refuse it.
package witness

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Witness cosigns checkpoints of one log.
type Witness struct {
	signer note.Signer   // cosignature/v1
	log    note.Verifier // the log's checkpoint key; its name is the origin
	file   string        // the last cosigned checkpoint

	mu   sync.Mutex
	last *log.Checkpoint // nil before the first
}

// New loads the witness's state from dir (created if missing).
func New(dir string, signer note.Signer, logKey note.Verifier) (*Witness, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("witness.dir: %w", err)
	}
	w := &Witness{signer: signer, log: logKey, file: filepath.Join(dir, "last-checkpoint")}
	b, err := os.ReadFile(w.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("witness: %w", err)
	default:
		cp, _, _, err := log.ParseCheckpoint(b, logKey.Name(), logKey)
		if err != nil {
			return nil, fmt.Errorf("witness: %s: %w", w.file, err)
		}
		w.last = cp
	}
	return w, nil
}

// Size is the size of the last cosigned checkpoint (0 before any).
func (w *Witness) Size() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		return 0
	}
	return w.last.Size
}

// Handler serves POST /add-checkpoint (c2sp.org/tlog-witness) and
// GET /healthz.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.addCheckpoint)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { _, _ = rw.Write([]byte("ok\n")) })
	return mux
}

const maxBody = 64 << 10

func (w *Witness) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(rw, "request too large or unreadable", http.StatusBadRequest)
		return
	}
	old, prf, cpRaw, err := parseRequest(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	sig, status, msg := w.Add(old, prf, cpRaw)
	switch status {
	case http.StatusOK:
		rw.Header().Set("Content-Type", "text/x.tlog.signature")
		_, _ = rw.Write(sig)
	case http.StatusConflict:
		if msg == "" {
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			_, _ = fmt.Fprintf(rw, "%d\n", w.Size())
			return
		}
		http.Error(rw, msg, status)
	default:
		http.Error(rw, msg, status)
	}
}

// Add checks a checkpoint against the last cosigned one and, when it is
// consistent, cosigns it and keeps it. It returns the cosignature line(s)
// or an HTTP status with why (409 with no message: old is not the size the
// witness holds).
func (w *Witness) Add(old uint64, prf [][]byte, cpRaw []byte) ([]byte, int, string) {
	n, err := note.Open(cpRaw, note.VerifierList(w.log))
	if err != nil {
		var unknown *note.UnknownVerifierError
		if errors.As(err, &unknown) {
			return nil, http.StatusNotFound, "unknown log"
		}
		return nil, http.StatusForbidden, "the log's signature does not verify"
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return nil, http.StatusBadRequest, "not a checkpoint"
	}
	if cp.Origin != w.log.Name() {
		return nil, http.StatusNotFound, "unknown log origin"
	}
	if old > cp.Size {
		return nil, http.StatusBadRequest, "old size is larger than the checkpoint's"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var lastSize uint64
	var lastRoot []byte
	if w.last != nil {
		lastSize, lastRoot = w.last.Size, w.last.Hash
	}
	if old != lastSize {
		return nil, http.StatusConflict, ""
	}
	switch {
	case old == cp.Size:
		if old > 0 && !bytes.Equal(lastRoot, cp.Hash) {
			return nil, http.StatusConflict, "same size, another root hash: the log forked"
		}
	case old > 0:
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old, cp.Size, prf, lastRoot, cp.Hash); err != nil {
			return nil, http.StatusUnprocessableEntity, "the consistency proof does not verify: " + err.Error()
		}
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, http.StatusInternalServerError, "cosign: " + err.Error()
	}
	tmp := w.file + ".tmp"
	if err := os.WriteFile(tmp, cpRaw, 0o600); err != nil {
		return nil, http.StatusInternalServerError, "keep the checkpoint: " + err.Error()
	}
	if err := os.Rename(tmp, w.file); err != nil {
		return nil, http.StatusInternalServerError, "keep the checkpoint: " + err.Error()
	}
	w.last = &cp
	// The signature lines follow the note's text and its blank line.
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	return sigs, http.StatusOK, ""
}

// parseRequest reads "old N", proof lines, a blank line, the checkpoint.
func parseRequest(body []byte) (old uint64, prf [][]byte, cp []byte, err error) {
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, errors.New("no blank line before the checkpoint")
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	if !sc.Scan() {
		return 0, nil, nil, errors.New("no old size line")
	}
	f := strings.Fields(sc.Text())
	if len(f) != 2 || f[0] != "old" {
		return 0, nil, nil, errors.New("first line is not \"old N\"")
	}
	if old, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return 0, nil, nil, errors.New("old size is not a number")
	}
	for sc.Scan() {
		p, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(p) != 32 {
			return 0, nil, nil, errors.New("a proof line is not a base64 hash")
		}
		prf = append(prf, p)
		if len(prf) > 63 {
			return 0, nil, nil, errors.New("too many proof lines")
		}
	}
	return old, prf, cp, nil
}
