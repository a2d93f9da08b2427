package policy

import (
	"strings"
	"testing"
)

const anaKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" // 32 bytes, base64

func TestKeysAndQuorumAreValidated(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"signed decisions need every user's key", "requireSignedDecisions: false", "requireSignedDecisions: true",
			"publicKey: requireSignedDecisions is true but this user has no key"},
		{"a key must be base64", "ana: {name: Ana Alves,     roles: [underwriter]}", "ana: {name: Ana Alves, roles: [underwriter], publicKey: 'not base64!'}",
			"users.ana.publicKey: not base64"},
		{"a key must be 32 bytes", "ana: {name: Ana Alves,     roles: [underwriter]}", "ana: {name: Ana Alves, roles: [underwriter], publicKey: 'YWJj'}",
			"users.ana.publicKey: an Ed25519 public key is 32 bytes, this one is 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refusesEdit(t, tc.old, tc.new, tc.want)
		})
	}
	src := strings.Replace(devFile(t), "ana: {name: Ana Alves,     roles: [underwriter]}", "ana: {name: Ana Alves, roles: [underwriter], publicKey: '"+anaKey+"'}", 1)
	if _, err := Parse([]byte(src)); err != nil {
		t.Fatalf("a valid key was refused: %v", err)
	}
}

// Under requireSignedDecisions a keyless user is accepted only when the
// policy lists a trusted signer (the web inbox) that can sign for them.
func TestSignerCoversKeylessUsers(t *testing.T) {
	src := strings.Replace(devFile(t), "requireSignedDecisions: false", "requireSignedDecisions: true", 1)
	src = strings.Replace(src, "\nusers:", "\nsigners:\n  inbox: {publicKey: '"+anaKey+"'}\nusers:", 1)
	if _, err := Parse([]byte(src)); err != nil {
		t.Fatalf("a policy whose signer signs for keyless users was refused: %v", err)
	}
}
