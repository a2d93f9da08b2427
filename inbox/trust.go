package inbox

import (
	"bytes"
	"errors"

	"go.yaml.in/yaml/v3"

	"github.com/batonhq/baton/policy"
)

// withSigner returns the policy file src with signers.<name>.publicKey set
// to pub, keeping everything else (comments included), and checks that the
// result is a valid policy.
func withSigner(src []byte, name, pub string, check func(*policy.Policy) error) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a policy: the top level is not a mapping")
	}
	signers := child(doc.Content[0], "signers")
	signer := child(signers, name)
	key := child(signer, "publicKey")
	key.Kind, key.Tag, key.Value, key.Style = yaml.ScalarNode, "!!str", pub, 0
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	p, err := policy.Parse(out.Bytes())
	if err != nil {
		return nil, err
	}
	if err := check(p); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// child returns the value node of key in mapping m, adding an empty
// mapping under key when it is missing.
func child(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode { // e.g. "signers:" with no value
		m.Kind, m.Tag, m.Value, m.Style = yaml.MappingNode, "!!map", "", 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}
