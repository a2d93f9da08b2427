package evidence

import (
	"context"
	"errors"
	"time"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
)

// ErrNoTrail: the store holds nothing for the instance.
var ErrNoTrail = errors.New("nothing in the audit store")

// Build reads an instance's trail from the store and its leaves from the
// log, waiting up to wait for a checkpoint that covers every entry, and
// packs them with the keys and the pinned policies' texts.
func Build(ctx context.Context, st *auditstore.Store, v *auditlog.Verifier, keys Keys, id string, wait time.Duration) (*Pack, error) {
	recs, err := st.Trail(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, ErrNoTrail
	}
	deadline := time.Now().Add(wait)
	var cp *auditlog.Checked
	var leaves []auditlog.Indexed
	for {
		if cp, err = v.Checkpoint(ctx); err != nil {
			return nil, err
		}
		if leaves, err = v.Leaves(ctx, id); err != nil {
			return nil, err
		}
		covered := 0
		for _, l := range leaves {
			if l.Index < cp.Size {
				covered++
			}
		}
		if covered >= len(recs) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	p, err := v.Prover(ctx, cp)
	if err != nil {
		return nil, err
	}
	pack := &Pack{Format: Format, WorkflowID: id, CreatedAt: time.Now().UTC(), Entries: recs,
		Checkpoint: string(cp.Raw), Policies: map[string]string{}, Keys: keys}
	for _, l := range leaves {
		if l.Index >= cp.Size {
			continue
		}
		pr, err := p.Prove(ctx, l.Index)
		if err != nil {
			return nil, err
		}
		pack.Leaves = append(pack.Leaves, pr)
	}
	for _, r := range recs {
		v := r.PolicyVersion
		if _, done := pack.Policies[v]; v == "" || done {
			continue
		}
		body, err := st.Policy(ctx, v)
		if err != nil {
			return nil, err
		}
		if body != nil {
			pack.Policies[v] = string(body)
		}
	}
	return pack, nil
}
