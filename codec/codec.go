// Package codec encrypts Temporal payloads with AES-256-GCM. Every payload the
// worker and the starter send (inputs, results, signals, updates, queries,
// memos, failure details) passes through it; the Temporal service and anyone
// reading its histories see ciphertext and a key id, never the data.
//
// Keys rotate: the newest key of the keyring that is not pending encrypts,
// every key of the keyring decrypts, and each encrypted payload names its key
// in its metadata.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// MetadataEncoding is the encoding of an encrypted payload; its data is
	// nonce || AES-256-GCM(serialized original payload).
	MetadataEncoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the algorithm, for whoever reads a raw history.
	MetadataCipher = "encryption-cipher"
	cipherName     = "AES256-GCM"
)

// Codec is a converter.PayloadCodec over a keyring.
type Codec struct{ ring *Keyring }

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns the codec of a keyring.
func New(ring *Keyring) *Codec { return &Codec{ring: ring} }

// Encode encrypts each payload with the newest key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.ring.newest()
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncoding),
				MetadataKeyID:              []byte(k.id),
				MetadataCipher:             []byte(cipherName),
			},
			// The key id is authenticated too: a payload cannot be
			// relabelled to another key.
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.id)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes others through unchanged
// (payloads written before encryption was switched on still read).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		k, ok := c.ring.byID[id]
		if !ok {
			return nil, &KeyError{ID: id, Known: c.ring.IDs()}
		}
		data := p.GetData()
		if len(data) < k.aead.NonceSize() {
			return nil, fmt.Errorf("decrypt payload with key %q: %w", id, ErrTampered)
		}
		plain, err := k.aead.Open(nil, data[:k.aead.NonceSize()], data[k.aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("decrypt payload with key %q: %w", id, ErrTampered)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("decrypt payload with key %q: %w", id, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// ErrTampered is a payload that fails authentication: changed after it was
// written, or encrypted with other key material under the same id.
var ErrTampered = errors.New("authentication failed: the payload was altered or the key differs from the one that encrypted it")

// KeyError is a payload encrypted with a key the keyring lacks.
type KeyError struct {
	ID    string
	Known []string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("payload encrypted with key %q, which is not in the configured keys %v: "+
		"this program reads another key file than the one that wrote the data, or started before that key was added: "+
		"point temporal.codec.key_file / BATON_CODEC_KEY_FILE at the writer's key file (starter profile shows the starter's), or restart the program", e.ID, e.Known)
}

// DataConverter wraps the SDK's default data converter with the codec.
func DataConverter(ring *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(ring))
}

// FailureConverter encodes failure messages and stack traces as payloads
// through dc, so they are encrypted too (the history keeps only "Encoded
// failure").
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// aesGCM builds the AEAD of a 32-byte key.
func aesGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("key is %d bytes, AES-256 needs 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
