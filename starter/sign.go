package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"baton/internal/signing"
	"baton/workflows/humantask"
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

// sign fills in the decision's signature over exactly what is sent.
func sign(key ed25519.PrivateKey, workflowID string, d *humantask.Decision) {
	signing.Sign(key, workflowID, d)
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
