package auditstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	"github.com/batonhq/baton/audit"
)

// Problem kinds Verify reports.
const (
	// ProblemGap: positions are missing before this entry (rows deleted).
	ProblemGap = "deleted"
	// ProblemLink: the entry does not carry the hash of the entry before
	// it (an entry was inserted, removed or rewritten before it).
	ProblemLink = "broken-link"
	// ProblemHash: the entry's content does not match its hash (edited).
	ProblemHash = "edited"
	// ProblemHead: the chain does not end where its head says (the tail
	// was truncated or extended).
	ProblemHead = "head"
)

// Problem is one finding of Verify.
type Problem struct {
	Pos    int64  `json:"pos"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// ChainReport is the result of checking one instance's chain.
type ChainReport struct {
	WorkflowID string         `json:"workflowId"`
	Entries    int            `json:"entries"`
	HeadPos    int64          `json:"headPos"`
	HeadHash   string         `json:"headHash"`
	Problems   []Problem      `json:"problems,omitempty"`
	Records    []audit.Stored `json:"-"`
}

// OK reports whether the chain is intact.
func (r ChainReport) OK() bool { return len(r.Problems) == 0 }

// Verify reads an instance's chain and checks every link and hash, and
// that the chain ends at its head.
func (s *Store) Verify(ctx context.Context, workflowID string) (ChainReport, error) {
	recs, err := s.Trail(ctx, workflowID)
	if err != nil {
		return ChainReport{}, err
	}
	pos, head, err := s.Head(ctx, workflowID)
	if err != nil {
		return ChainReport{}, err
	}
	return CheckChain(workflowID, recs, pos, head), nil
}

// CheckChain checks records (ordered by position) against the head.
func CheckChain(workflowID string, recs []audit.Stored, headPos int64, headHash string) ChainReport {
	rep := ChainReport{WorkflowID: workflowID, Entries: len(recs), HeadPos: headPos, HeadHash: headHash, Records: recs}
	add := func(pos int64, kind, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Pos: pos, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	prev := audit.GenesisHash
	var want int64 = 1
	for _, r := range recs {
		if r.Pos > want {
			if want == r.Pos-1 {
				add(want, ProblemGap, "entry %d is missing", want)
			} else {
				add(want, ProblemGap, "entries %d..%d are missing", want, r.Pos-1)
			}
		}
		stored, _ := hex.DecodeString(r.PrevHash)
		if !bytes.Equal(stored, prev) {
			add(r.Pos, ProblemLink, "entry %d (%s by %s) does not carry the hash of the entry before it: one was inserted, removed or rewritten", r.Pos, r.Action, r.Actor)
		}
		h := audit.ChainHash(stored, r.Pos, r.Entry)
		if hexHash(h) != r.Hash {
			add(r.Pos, ProblemHash, "entry %d (%s by %s) does not match its hash: it was changed after it was written", r.Pos, r.Action, r.Actor)
		}
		prev, _ = hex.DecodeString(r.Hash)
		want = r.Pos + 1
	}
	last := int64(0)
	lastHash := ""
	if len(recs) > 0 {
		last, lastHash = recs[len(recs)-1].Pos, recs[len(recs)-1].Hash
	}
	switch {
	case headPos == 0 && len(recs) == 0:
	case headPos > last:
		add(last+1, ProblemHead, "the chain ends at entry %d but its head records %d entries: the tail was removed", last, headPos)
	case headPos < last:
		add(headPos+1, ProblemHead, "the chain has entries after its head (%d): entries were appended outside Baton", headPos)
	case headHash != lastHash:
		add(last, ProblemHead, "the last entry's hash does not match the head's: the tail was rewritten")
	}
	return rep
}
