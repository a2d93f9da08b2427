package policy

import "errors"

// MaxFileBytes bounds a policy file. A real policy (a directory of some
// hundreds of users with keys, five processes) is tens of KiB; parsing costs
// several times a file's size in memory, so an unbounded read let a mistaken
// or hostile file (whatif --policy of 200 MB took 1.3 GB) exhaust the
// starter, the worker or the inbox.
const MaxFileBytes = 1 << 20

// errTooLarge is Parse's refusal of more than MaxFileBytes.
var errTooLarge = errors.New("policy is larger than 1 MiB, the most a policy may be")
