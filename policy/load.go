package policy

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFileBytes bounds a policy file. A real policy (a directory of some
// hundreds of users with keys, five processes) is tens of KiB; parsing costs
// several times a file's size in memory, so an unbounded read let a mistaken
// or hostile file (whatif --policy of 200 MB took 1.3 GB) exhaust the
// starter, the worker or the inbox.
const MaxFileBytes = 1 << 20

// ReadFile reads a policy file of at most MaxFileBytes: every policy file
// Baton reads goes through it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	defer f.Close()
	// Read one byte past the bound: a file that grows, a pipe or a device
	// (/dev/zero) is refused as surely as a large regular file.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(what string) error {
	return fmt.Errorf("policy: %s is larger than %d bytes (1 MiB), the most a policy file may be: is it the right file?", what, MaxFileBytes)
}

// errTooLarge is Parse's refusal of more than MaxFileBytes.
var errTooLarge = errors.New("policy is larger than 1 MiB, the most a policy may be")

// Load reads, validates and versions the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
