package starter

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/internal/evidence"
	"github.com/batonhq/baton/textsafe"
)

// evidenceWait bounds how long --evidence waits for the log to anchor the
// instance's newest entries (a checkpoint is published every second).
const evidenceWait = 30 * time.Second

// auditEvidence writes an instance's evidence pack to file.
func (a *app) auditEvidence(cmd *cobra.Command, id, file string) error {
	ctx := cmd.Context()
	st, err := a.auditStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	tr, err := a.trust(ctx)
	if err != nil {
		return err
	}
	switch {
	case tr.writers == nil:
		return fmt.Errorf("--evidence: %s: an auditor checks the writer's attestations", tr.writersWhy)
	case tr.log == nil:
		return fmt.Errorf("--evidence: %s: the pack proves the entries against the audit log", tr.logWhy)
	}
	pack, err := evidence.Build(ctx, st, tr.log, evidence.Keys{Log: tr.logKey, Witnesses: tr.witnessKeys, Writers: tr.writerKeys}, id, evidenceWait)
	switch {
	case errors.Is(err, evidence.ErrNoTrail):
		return &codedError{exitNotFound, fmt.Errorf("%s: %w", id, err)}
	case err != nil:
		return anchoringErr(id, err)
	}
	b, err := pack.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	rep := evidence.Verify(pack, evidence.Pins{})
	fmt.Fprintf(a.out, "evidence pack for %s written to %s: %d entries, %d leaves, checkpoint of %d leaves, %d policy text(s)\n",
		textsafe.Clean(id), file, len(pack.Entries), len(pack.Leaves), rep.Size, len(pack.Policies))
	if rep.Failed != nil {
		return &codedError{exitVerifyFailed, fmt.Errorf("%s: the pack does not verify: %s: %s", id, rep.Failed.Name, rep.Failed.Detail)}
	}
	fmt.Fprintf(a.out, "it verifies offline: starter verify-evidence %s\n", file)
	return nil
}

func (a *app) verifyEvidenceCommand() *cobra.Command {
	var pins evidence.Pins
	cmd := &cobra.Command{
		Use:   "verify-evidence FILE",
		Short: "Check an instance's evidence pack offline (no server, no database)",
		Long: `verify-evidence checks an evidence pack written by starter audit ID --evidence
FILE, with nothing but the file: the log's checkpoint (signed by the log's key,
cosigned by every witness), every entry (chained, matching its hash, attested
by a writer key), every entry's leaf and inclusion proof in the checkpoint's
tree, the pinned policies' texts (each must hash to its version) and every
signed decision (checked with the keys of its pinned policy). It stops at the
first item that fails and names it (exit 5).

The pack carries the public keys it is checked with; pin the ones you know
from elsewhere with --log-key, --witness-key and --writer-key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			p, err := evidence.Parse(b)
			if err != nil {
				return &codedError{exitVerifyFailed, fmt.Errorf("%s: %w", args[0], err)}
			}
			rep := evidence.Verify(p, pins)
			if a.jsonOutput() {
				if err := a.printJSON(rep); err != nil {
					return err
				}
			} else {
				for _, it := range rep.Items {
					mark := "ok  "
					if !it.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(a.out, "%s %-12s %s\n", mark, it.Name, textsafe.Clean(it.Detail))
				}
				for _, n := range rep.Notes {
					fmt.Fprintf(a.out, "note %s\n", textsafe.Clean(n))
				}
			}
			if rep.Failed != nil {
				return &codedError{exitVerifyFailed, fmt.Errorf("%s: %s: %s", args[0], rep.Failed.Name, rep.Failed.Detail)}
			}
			if !a.jsonOutput() {
				fmt.Fprintf(a.out, "verified: %s's trail, as of the checkpoint\n", textsafe.Clean(p.WorkflowID))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&pins.Log, "log-key", "", "the audit log's public key you trust")
	f.StringVar(&pins.Witness, "witness-key", "", "a witness's public key you trust")
	f.StringVar(&pins.Writer, "writer-key", "", "a writer's public key you trust")
	return cmd
}
