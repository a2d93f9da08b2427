package config

import (
	"fmt"
	"io"
	"os"

	"github.com/batonhq/baton/policy"
)

// ReadPolicyFile reads a policy file of at most policy.policy.MaxFileBytes: every
// policy file Baton reads goes through it (policy itself reads no file: it
// is workflow code).
func ReadPolicyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	defer f.Close()
	// Read one byte past the bound: a file that grows, a pipe or a device
	// (/dev/zero) is refused as surely as a large regular file.
	data, err := io.ReadAll(io.LimitReader(f, policy.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	if len(data) > policy.MaxFileBytes {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(what string) error {
	return fmt.Errorf("policy: %s is larger than %d bytes (1 MiB), the most a policy file may be: is it the right file?", what, policy.MaxFileBytes)
}

// LoadPolicy reads, validates and versions the policy file at path; check,
// when not nil, validates the processes' sections too (a catalog's
// CheckPolicy): what the worker serves and the starter checks against.
func LoadPolicy(path string, check func(*policy.Policy) error) (*policy.Policy, error) {
	data, err := ReadPolicyFile(path)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if check != nil {
		if err := check(p); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return p, nil
}
