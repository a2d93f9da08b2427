package auditlog

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/audit"

	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/internal/auditstore"
)

// Problem kinds an instance's check against its writers' keys and the log
// reports (beside the chain's, auditstore.Problem*).
const (
	// ProblemMissing: the log anchored an entry the store no longer holds
	// (a truncated tail, a deleted trail).
	ProblemMissing = "missing-from-store"
	// ProblemDiffers: the store holds another entry where the log anchored
	// one (rewritten, reordered, recomputed).
	ProblemDiffers = "differs-from-log"
	// ProblemNotAnchored: an entry older than the grace period is not in
	// the log (the anchor refused it, or is not running).
	ProblemNotAnchored = "not-anchored"
	// ProblemIndex: the anchor's index points at a leaf that says
	// something else.
	ProblemIndex = "log-index"
)

// Attested checks one record's attestation against the writers' keys,
// after checking that its content matches its hash; an empty kind means
// it holds.
func Attested(r audit.Stored, writers []note.Verifier) (kind, detail string) {
	if kind, detail := contentMatches(r); kind != "" {
		return kind, detail
	}
	h, _ := hex.DecodeString(r.Hash)
	if _, err := VerifyAttestation(writers, h, r.Attestation); err != nil {
		if errors.Is(err, ErrUnattested) {
			return ProblemUnattested, fmt.Sprintf("entry %d (%s by %s) carries no writer attestation: it was not written by a Baton worker", r.Pos, r.Action, r.Actor)
		}
		return ProblemForged, fmt.Sprintf("entry %d (%s by %s) has an attestation no writer key made: a forgery", r.Pos, r.Action, r.Actor)
	}
	return "", ""
}

// Anchoring is the outcome of comparing an instance's records with its
// leaves in the log.
type Anchoring struct {
	Anchored int `json:"anchored"`
	// Pending are entries not in the log yet, within the grace period.
	Pending  int                  `json:"pending"`
	Problems []auditstore.Problem `json:"problems,omitempty"`
}

// CompareLog compares an instance's records (in position order) with its
// proven leaves: every anchored entry must be in the store unchanged, and
// every stored entry older than grace must be anchored. Records must have
// passed Attested for the answer to mean anything; entries the log does
// not hold and that are newer than grace are pending.
func CompareLog(recs []audit.Stored, leaves []Proven, unproven int, grace time.Duration, now time.Time) Anchoring {
	var out Anchoring
	add := func(pos int64, kind, format string, args ...any) {
		out.Problems = append(out.Problems, auditstore.Problem{Pos: pos, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	byPos := map[int64]audit.Stored{}
	for _, r := range recs {
		byPos[r.Pos] = r
	}
	anchored := map[int64]bool{}
	for _, l := range leaves {
		r, ok := byPos[l.Leaf.Pos]
		anchored[l.Leaf.Pos] = true
		switch {
		case !ok:
			add(l.Leaf.Pos, ProblemMissing, "entry %d was anchored in the log (leaf %d, written %s) but is not in the store: it was deleted", l.Leaf.Pos, l.Index, l.Leaf.At.Format(time.RFC3339))
		case r.Hash != l.Leaf.Hash || contentHash(r) != l.Leaf.Hash:
			add(l.Leaf.Pos, ProblemDiffers, "entry %d (%s by %s) is not the one the log anchored at leaf %d: it was rewritten, moved or the chain recomputed", r.Pos, r.Action, r.Actor, l.Index)
		default:
			out.Anchored++
		}
	}
	for _, r := range recs {
		if anchored[r.Pos] {
			continue
		}
		if now.Sub(r.RecordedAt) < grace || unproven > 0 && now.Sub(r.RecordedAt) < 2*grace {
			out.Pending++
			continue
		}
		add(r.Pos, ProblemNotAnchored, "entry %d (%s by %s, stored %s) is not in the audit log: the anchor refused it or is not running", r.Pos, r.Action, r.Actor, r.RecordedAt.Format(time.RFC3339))
	}
	return out
}

// contentMatches checks that a record's content hashes to its hash.
func contentMatches(r audit.Stored) (kind, detail string) {
	if h := contentHash(r); h == "" || h != r.Hash {
		return auditstore.ProblemHash, fmt.Sprintf("entry %d (%s by %s) does not match its hash: it was changed after it was written", r.Pos, r.Action, r.Actor)
	}
	return "", ""
}

// contentHash is the chain hash recomputed from a record's content (its
// hash column may have been left as it was when the content changed).
func contentHash(r audit.Stored) string {
	prev, err := hex.DecodeString(r.PrevHash)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(audit.ChainHash(prev, r.Pos, r.Entry))
}
