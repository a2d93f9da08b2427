package process

// A planted violation: the frame reaching the audit store directly.
import _ "github.com/batonhq/baton/internal/auditstore"
