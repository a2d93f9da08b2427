package starter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/batonhq/baton/audit"

	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
)

// anchorGrace is how long a stored entry may wait for the anchor before
// --verify calls it not anchored: the anchor reads committed entries
// every fraction of a second and publishes a checkpoint every second, so
// minutes mean it refused the entry or is not running.
const anchorGrace = 2 * time.Minute

// anchoring is what --verify found beyond the chain: the writers'
// attestations and the log outside the database.
type anchoring struct {
	// Attestations: "checked" or why not.
	Attestations string `json:"attestations"`
	// Log: "checked" or why not; the checkpoint it was checked against
	// (size, and the size of the one kept before it).
	Log             string               `json:"log"`
	Checkpoint      uint64               `json:"checkpointSize,omitempty"`
	CheckpointSince uint64               `json:"checkpointSince,omitempty"`
	Anchored        int                  `json:"anchored"`
	Pending         int                  `json:"pending,omitempty"`
	Problems        []auditstore.Problem `json:"problems,omitempty"`
}

// OK reports whether nothing was found wrong.
func (an anchoring) OK() bool { return len(an.Problems) == 0 }

// trust is what a verifier trusts: the writers' keys, and the log (its
// key, its witnesses, where it is served); nil parts are not configured.
type trust struct {
	// The keys as configured (signed-note public keys), for evidence.
	writerKeys, witnessKeys []string
	logKey                  string
	writers                 []note.Verifier
	writersWhy              string
	log                     *auditlog.Verifier
	logWhy                  string
	// checkpoint is the log's verified checkpoint, fetched once per run.
	checkpoint *auditlog.Checked
}

// configuredKeys reads a key setting; a default file that does not exist
// means "not configured" (make dev writes them), anything else wrong is an
// error.
func configuredKeys(setting, value, def string) ([]string, string, error) {
	if value == "" {
		return nil, setting + " is not set", nil
	}
	if value == def {
		if _, err := os.Stat(value); err != nil {
			return nil, fmt.Sprintf("%s: %s does not exist (make dev writes it)", setting, value), nil
		}
	}
	keys, err := auditlog.Keys(setting, value)
	return keys, "", err
}

// trust builds what the verifier trusts from the configuration.
func (a *app) trust(ctx context.Context) (*trust, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	ac := cfg.Audit
	tr := &trust{}
	keys, why, err := configuredKeys("audit.writer_public_keys", ac.WriterPublicKeys, ".dev/audit-writer.key.pub")
	if err != nil {
		return nil, err
	}
	tr.writersWhy, tr.writerKeys = why, keys
	if tr.writers, err = auditlog.Verifiers("audit.writer_public_keys", keys); err != nil {
		return nil, err
	}
	logKeys, why, err := configuredKeys("audit.log_public_key", ac.LogPublicKey, ".dev/anchor.key.pub")
	if err != nil {
		return nil, err
	}
	if why != "" || ac.LogURL == "" {
		tr.logWhy = why
		if ac.LogURL == "" {
			tr.logWhy = "audit.log_url is not set"
		}
		return tr, nil
	}
	lv, err := auditlog.Verifiers("audit.log_public_key", logKeys)
	if err != nil {
		return nil, err
	}
	if len(lv) != 1 {
		return nil, fmt.Errorf("audit.log_public_key: want the log's one key, got %d", len(lv))
	}
	wkeys, _, err := configuredKeys("audit.witness_public_keys", ac.WitnessPublicKeys, "")
	if err != nil {
		return nil, err
	}
	tr.logKey, tr.witnessKeys = logKeys[0], wkeys
	wv, err := auditlog.CosignatureVerifiers("audit.witness_public_keys", wkeys)
	if err != nil {
		return nil, err
	}
	state := ac.CheckpointFile
	if state == "" {
		if state, err = auditlog.DefaultStateFile(lv[0]); err != nil {
			return nil, err
		}
	}
	if tr.log, err = auditlog.NewVerifier(ac.LogURL, lv[0], wv, state); err != nil {
		return nil, err
	}
	return tr, nil
}

// checkpointOnce fetches and verifies the log's checkpoint (consistent
// with the one kept from before), once per run.
func (tr *trust) checkpointOnce(ctx context.Context) (*auditlog.Checked, error) {
	if tr.checkpoint == nil {
		cp, err := tr.log.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		tr.checkpoint = cp
	}
	return tr.checkpoint, nil
}

// checkAnchoring checks each record's attestation and compares the
// instance's records with the leaves the log holds for it. An error is
// returned only when the check could not run (the log unreachable, or
// it failed its own proofs: a verifier cannot tell then).
func (tr *trust) checkAnchoring(ctx context.Context, id string, recs []audit.Stored) (anchoring, []auditlog.Proven, error) {
	var an anchoring
	an.Attestations, an.Log = "checked", "checked"
	if tr.writers == nil {
		an.Attestations = "not checked: " + tr.writersWhy
	} else {
		for _, r := range recs {
			// A content that does not match its hash is the chain's
			// finding already.
			if kind, detail := auditlog.Attested(r, tr.writers); kind != "" && kind != auditstore.ProblemHash {
				an.Problems = append(an.Problems, auditstore.Problem{Pos: r.Pos, Kind: kind, Detail: detail})
			}
		}
	}
	if tr.log == nil {
		an.Log = "not checked: " + tr.logWhy
		return an, nil, nil
	}
	cp, err := tr.checkpointOnce(ctx)
	if err != nil {
		return an, nil, err
	}
	an.Checkpoint, an.CheckpointSince = cp.Size, cp.Since
	leaves, err := tr.log.Leaves(ctx, id)
	if err != nil {
		return an, nil, err
	}
	p, err := tr.log.Prover(ctx, cp)
	if err != nil {
		return an, nil, err
	}
	var proven []auditlog.Proven
	unproven := 0
	for _, l := range leaves {
		if l.Index >= cp.Size {
			unproven++ // sequenced after the checkpoint
			continue
		}
		pr, err := p.Prove(ctx, l.Index)
		if err != nil {
			return an, nil, err
		}
		if pr.Leaf.WorkflowID != id || pr.Leaf.Pos != l.Pos || pr.Leaf.Hash != l.Hash {
			an.Problems = append(an.Problems, auditstore.Problem{Pos: l.Pos, Kind: auditlog.ProblemIndex,
				Detail: fmt.Sprintf("the anchor's index puts entry %d at leaf %d, which holds another entry", l.Pos, l.Index)})
			continue
		}
		proven = append(proven, pr)
	}
	cmp := auditlog.CompareLog(recs, proven, unproven, anchorGrace, time.Now())
	an.Anchored, an.Pending = cmp.Anchored, cmp.Pending+unproven
	an.Problems = append(an.Problems, cmp.Problems...)
	return an, proven, nil
}

// anchoringErr words a check that could not run.
func anchoringErr(id string, err error) error {
	if errors.Is(err, auditlog.ErrInconsistent) {
		return &codedError{exitVerifyFailed, fmt.Errorf("%s: %w", id, err)}
	}
	return fmt.Errorf("%s: cannot check the audit log: %w", id, err)
}

func (a *app) printAnchoring(an anchoring) {
	fmt.Fprintf(a.out, "signed:  ")
	if an.Attestations != "checked" {
		fmt.Fprintln(a.out, an.Attestations)
	} else {
		fmt.Fprintln(a.out, "every entry's writer attestation checked")
	}
	fmt.Fprintf(a.out, "log:     ")
	if an.Log != "checked" {
		fmt.Fprintln(a.out, an.Log)
	} else {
		fmt.Fprintf(a.out, "%d entries anchored in the log (checkpoint of %d leaves, cosigned", an.Anchored, an.Checkpoint)
		if an.CheckpointSince > 0 {
			fmt.Fprintf(a.out, ", consistent with the %d seen before", an.CheckpointSince)
		}
		fmt.Fprint(a.out, ")")
		if an.Pending > 0 {
			fmt.Fprintf(a.out, "; %d not anchored yet", an.Pending)
		}
		fmt.Fprintln(a.out)
	}
	for _, p := range an.Problems {
		fmt.Fprintf(a.out, "  - %s at %d: %s\n", p.Kind, p.Pos, p.Detail)
	}
}
