package starter

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/signing"
)

// A signing key file holds the Ed25519 seed, base64, one line, mode 0600
// (internal/signing reads and writes it).

func loadSigningKey(path string) (ed25519.PrivateKey, error) {
	key, err := signing.LoadKey(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, usageErr("--key: %v", err)
		}
		return nil, usageErr("--key: %v (see: starter keygen)", err)
	}
	return key, nil
}

// openTask is the open task a decision is about (id, or the only open
// one): its subject (run, task occurrence, facts digest), which a
// signature covers, and its form.
func (a *app) openTask(cmd *cobra.Command, id, taskID string) (humantask.TaskView, error) {
	var views []humantask.TaskView
	if err := a.query(cmd, id, humantask.QueryTasks, &views); err != nil {
		return humantask.TaskView{}, err
	}
	var open []humantask.TaskView
	for _, v := range views {
		if v.State == humantask.StateOpen && (taskID == "" || v.ID == taskID) {
			open = append(open, v)
		}
	}
	switch {
	case len(open) == 0 && taskID != "":
		return humantask.TaskView{}, &codedError{exitRefused, fmt.Errorf("refused: task %q of %s is not open", taskID, id)}
	case len(open) == 0:
		return humantask.TaskView{}, &codedError{exitRefused, fmt.Errorf("refused: no task of %s is open", id)}
	case len(open) > 1:
		return humantask.TaskView{}, usageErr("--task: required, %d tasks of %s are open", len(open), id)
	}
	return open[0], nil
}

func (a *app) keygenCommand() *cobra.Command {
	var user, out string
	cmd := &cobra.Command{
		Use:   "keygen --user <id> [--out <file>]",
		Short: "Create a signing key for decisions; prints the public key for the policy",
		Long: `Create an Ed25519 key pair for signing decisions. The private key goes to
--out (default ~/.config/baton/<user>.key, mode 0600); the public key is printed
for the user's publicKey entry in the policy file. With
requireSignedDecisions: true, decisions must then be sent with --key.`,
		Example: "  starter keygen --user ana\n  starter approve loan-A-17 --as ana --key ~/.config/baton/ana.key",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if user == "" {
				return usageErr("--user: required")
			}
			if out == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return err
				}
				out = filepath.Join(home, ".config", "baton", user+".key")
			}
			pubB64, err := signing.WriteNewKey(out)
			if err != nil {
				return usageErr("--out: %v", err)
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]string{"user": user, "keyFile": out, "publicKey": pubB64})
			}
			_, err = fmt.Fprintf(a.out, "private key written to %s\nadd to the policy under users.%s:\n  publicKey: %s\n", out, user, pubB64)
			return err
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the user the key belongs to (required)")
	cmd.Flags().StringVar(&out, "out", "", "private key file (default ~/.config/baton/<user>.key)")
	return cmd
}
