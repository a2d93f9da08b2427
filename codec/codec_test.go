package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const sentinelCard = "4111111111111111"

func ring(t *testing.T, entries ...string) *Keyring {
	t.Helper()
	r, err := ParseKeys(strings.Join(entries, "\n"), "test keys")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func entry(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncryptsAndDecrypts(t *testing.T) {
	c := New(ring(t, entry("k1", 1)))
	in := payload(t, map[string]string{"cardNumber": sentinelCard})
	enc, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc[0].Data, []byte(sentinelCard)) || strings.Contains(enc[0].String(), sentinelCard) {
		t.Fatal("the card number is readable in the encrypted payload")
	}
	if got := string(enc[0].Metadata[converter.MetadataEncoding]); got != MetadataEncoding {
		t.Errorf("encoding = %q", got)
	}
	if got := string(enc[0].Metadata[MetadataKeyID]); got != "k1" {
		t.Errorf("key id = %q", got)
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &out); err != nil {
		t.Fatal(err)
	}
	if out["cardNumber"] != sentinelCard {
		t.Errorf("decoded %v", out)
	}
	// Two encryptions of the same value differ (random nonce).
	enc2, _ := c.Encode([]*commonpb.Payload{in})
	if bytes.Equal(enc[0].Data, enc2[0].Data) {
		t.Error("same ciphertext twice: the nonce is not random")
	}
}

func TestRotationNewestKeyEncryptsOldKeysDecrypt(t *testing.T) {
	old := New(ring(t, entry("2025-a", 1)))
	oldEnc, err := old.Encode([]*commonpb.Payload{payload(t, "written before rotation")})
	if err != nil {
		t.Fatal(err)
	}
	rotated := New(ring(t, entry("2025-a", 1), entry("2026-b", 2)))
	newEnc, err := rotated.Encode([]*commonpb.Payload{payload(t, "written after rotation")})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(newEnc[0].Metadata[MetadataKeyID]); got != "2026-b" {
		t.Errorf("after rotation new writes use key %q, want the newest 2026-b", got)
	}
	for _, enc := range [][]*commonpb.Payload{oldEnc, newEnc} {
		if _, err := rotated.Decode(enc); err != nil {
			t.Errorf("rotated keyring cannot decode key %s: %v", enc[0].Metadata[MetadataKeyID], err)
		}
	}
	// A keyring that dropped the old key says which key is missing.
	_, err = New(ring(t, entry("2026-b", 2))).Decode(oldEnc)
	var ke *KeyError
	if !errors.As(err, &ke) || ke.ID != "2025-a" {
		t.Fatalf("err = %v, want a KeyError naming 2025-a", err)
	}
	if want := `payload encrypted with key "2025-a", which is not in the configured keys [2026-b]: `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message = %q", err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	c := New(ring(t, entry("k1", 1), entry("k2", 2)))
	fresh := func() *commonpb.Payload {
		enc, err := c.Encode([]*commonpb.Payload{payload(t, map[string]float64{"amount": 100})})
		if err != nil {
			t.Fatal(err)
		}
		return enc[0]
	}
	flipped := fresh()
	flipped.Data[len(flipped.Data)-5] ^= 1
	relabelled := fresh()
	relabelled.Metadata[MetadataKeyID] = []byte("k1") // encrypted with k2
	truncated := fresh()
	truncated.Data = truncated.Data[:4]
	for name, p := range map[string]*commonpb.Payload{"flipped bit": flipped, "relabelled key id": relabelled, "truncated": truncated} {
		_, err := c.Decode([]*commonpb.Payload{p})
		if !errors.Is(err, ErrTampered) {
			t.Errorf("%s: err = %v, want ErrTampered", name, err)
		}
	}
	// A key with the right id but other material is a wrong key.
	_, err := New(ring(t, entry("k2", 9))).Decode([]*commonpb.Payload{fresh()})
	if !errors.Is(err, ErrTampered) || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("wrong key: err = %v, want one line wrapping ErrTampered", err)
	}
}

func TestPlainPayloadsPassThroughDecode(t *testing.T) {
	c := New(ring(t, entry("k1", 1)))
	in := payload(t, "from before encryption")
	out, err := c.Decode([]*commonpb.Payload{in})
	if err != nil || out[0] != in {
		t.Fatalf("plain payload: %v, %v", out, err)
	}
}

func TestDataAndFailureConverterEncryptEverything(t *testing.T) {
	dc := DataConverter(ring(t, entry("k1", 1)))
	p, err := dc.ToPayload(map[string]string{"name": "Ada Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.String(), "Lovelace") {
		t.Error("data converter output holds the name in clear")
	}
	fc := FailureConverter(dc)
	f := fc.ErrorToFailure(errors.New("card " + sentinelCard + " declined"))
	if strings.Contains(f.String(), sentinelCard) {
		t.Errorf("failure holds the card number in clear: %s", f)
	}
	if got := fc.FailureToError(f).Error(); !strings.Contains(got, sentinelCard) {
		t.Errorf("failure does not decode back: %q", got)
	}
}

func TestParseKeysNamesTheProblem(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"", "k: holds no key"},
		{"# only a comment\n", "k: holds no key"},
		{"k1 AAAA", "k line 1: want <key id>:<base64 key>"},
		{"bad id:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), `k line 1: key id "bad id": use 1-64 letters, digits, '.', '_' or '-'`},
		{"\nk1:***", `k line 2: key "k1" is not base64`},
		{"k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), `k line 1: key "k1": key is 16 bytes, AES-256 needs 32`},
		{entry("k1", 1) + "," + entry("k1", 2), `k line 1: key id "k1" appears twice`},
	} {
		_, err := ParseKeys(tc.text, "k")
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseKeys(%q) = %v, want %q", tc.text, err, tc.want)
		}
	}
	r, err := ParseKeys(entry("a", 1)+", "+entry("b", 2), "env")
	if err != nil || r.NewestID() != "b" || len(r.IDs()) != 2 {
		t.Errorf("comma-separated keys: %v %v", r, err)
	}
}

func TestKeyFileGenerationAndRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "codec.keys")
	if _, err := LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "does not exist: generate a development key with `make codec-key`") {
		t.Fatalf("missing file: %v", err)
	}
	first, active, err := AppendNewKey(path, "dev-")
	if err != nil || !active {
		t.Fatalf("first key: %v, active %v", err, active)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st, err)
	}
	// r1 is a program that started before the rotation (a running worker).
	r1, err := LoadKeyFile(path)
	if err != nil || r1.NewestID() != first {
		t.Fatalf("load: %v %v", r1, err)
	}
	enc, _ := New(r1).Encode([]*commonpb.Payload{payload(t, 1)})
	before, _ := os.ReadFile(path)
	time.Sleep(1100 * time.Millisecond) // ids carry the second
	second, active, err := AppendNewKey(path, "dev-")
	if err != nil || active {
		t.Fatalf("second key: %v, active %v (a key added to a file in use must start pending)", err, active)
	}
	after, _ := os.ReadFile(path)
	added := regexp.MustCompile(`^` + Pending + ` ` + regexp.QuoteMeta(second) + `:[A-Za-z0-9+/]{43}=\n$`)
	if !strings.HasPrefix(string(after), string(before)) || !added.MatchString(string(after[len(before):])) {
		t.Fatalf("the append changed what was there or added more than one line:\nbefore %q\nafter  %q", before, after)
	}
	// r2 is a program started after the rotation (a new starter): it
	// decrypts the new key but still encrypts with the old one, so the
	// running r1 reads what it writes.
	r2, err := LoadKeyFile(path)
	if err != nil || r2.NewestID() != first || len(r2.IDs()) != 2 || !slices.Equal(r2.PendingIDs(), []string{second}) {
		t.Fatalf("after the append: ids %v, pending %v, encrypts %s, %v", r2.IDs(), r2.PendingIDs(), r2.NewestID(), err)
	}
	fromNew, _ := New(r2).Encode([]*commonpb.Payload{payload(t, 2)})
	if _, err := New(r1).Decode(fromNew); err != nil {
		t.Errorf("a program started before the rotation cannot read what a newer one wrote: %v", err)
	}
	// Activated (every program restarted with it), the new key encrypts and
	// the old one still decrypts.
	ids, err := ActivateKeys(path)
	if err != nil || !slices.Equal(ids, []string{second}) {
		t.Fatalf("activate: %v %v", ids, err)
	}
	activated, _ := os.ReadFile(path)
	if string(activated) != strings.Replace(string(after), "\n"+Pending+" ", "\n", 1) {
		t.Errorf("activation changed more than the mark:\n%q\n%q", after, activated)
	}
	r3, err := LoadKeyFile(path)
	if err != nil || r3.NewestID() != second || len(r3.PendingIDs()) != 0 {
		t.Fatalf("after activation: %v %v", r3.NewestID(), err)
	}
	if _, err := New(r3).Decode(enc); err != nil {
		t.Errorf("old payload after rotation: %v", err)
	}
	if ids, err := ActivateKeys(path); err != nil || ids != nil {
		t.Errorf("a second activation: %v %v", ids, err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(activated) {
		t.Error("a second activation changed the file")
	}
}

// The pending mark reads in the environment's comma-separated form too, and
// a keyring of pending keys only (nothing could encrypt) is refused.
func TestPendingKeys(t *testing.T) {
	r, err := ParseKeys(entry("a", 1)+", "+Pending+" "+entry("b", 2), "env")
	if err != nil || r.NewestID() != "a" || !slices.Equal(r.PendingIDs(), []string{"b"}) {
		t.Errorf("env with a pending key: %v %v", r, err)
	}
	if _, err := ParseKeys(Pending+" "+entry("a", 1), "k"); err == nil || !strings.Contains(err.Error(), "every key is pending") {
		t.Errorf("only pending keys: %v", err)
	}
}

// A payload whose key the program lacks says what to do, in one line.
func TestKeyErrorSaysWhatToDo(t *testing.T) {
	a, _ := ParseKeys(entry("a", 1), "a")
	b, _ := ParseKeys(entry("b", 2), "b")
	enc, _ := New(a).Encode([]*commonpb.Payload{payload(t, 1)})
	_, err := New(b).Decode(enc)
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`payload encrypted with key "a", which is not in the configured keys [b]`, "BATON_CODEC_KEY_FILE", "restart the program"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("not one line: %q", msg)
	}
}

// The codec's own cost per payload of a loan's size (make bench shows the
// end-to-end cost).
func BenchmarkEncodeDecode(b *testing.B) {
	r, _ := ParseKeys(entry("k1", 1), "bench")
	c := New(r)
	p, _ := converter.GetDefaultDataConverter().ToPayload(map[string]any{"applicationId": "A-1001", "applicantId": "C-1001", "amount": 10000, "termMonths": 36, "purpose": "kitchen renovation"})
	in := []*commonpb.Payload{p}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		enc, err := c.Encode(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
