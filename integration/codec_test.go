package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/internal/simulator"
)

// Sentinels: personal and payment data that must never be readable without
// the codec. Both are unusual enough not to occur by chance.
const (
	sentinelCard      = "4000056655665556"
	sentinelName      = "Quokka Zwirbelbart"
	sentinelStartDate = "2026-01-07"
	sentinelPurpose   = "quokka habitat renovation"
)

// startSentinels starts an order paying with the sentinel card (it runs to
// the end) and an onboarding of the sentinel name (it waits for the
// manager), and returns their workflow IDs once both have written the
// personal data into their histories.
func startSentinels(t *testing.T) (order, onboarding string) {
	t.Helper()
	oid := uniq("OS")
	order = "order-" + oid
	starter(t, "start", "order", "--id", oid, "--file", writeTemp(t, `{"orderId":"`+oid+`","customerId":"K-100",
		"items":[{"sku":"SKU-BOOK","quantity":1}],"amount":30,"cardNumber":"`+sentinelCard+`","billingCountry":"DE","shippingCountry":"DE"}`))
	eid := uniq("ES")
	onboarding = "onboarding-" + eid
	starter(t, "start", "onboarding", "--id", eid, "--file", writeTemp(t, `{"employeeId":"`+eid+`","name":"`+sentinelName+`",
		"role":"engineer","department":"platform","manager":"mia","startDate":"`+sentinelStartDate+`"}`))
	if res := outcomeOf(t, order); res["outcome"] != "fulfilled" {
		t.Fatalf("%s: %v", order, res)
	}
	waitTask(t, onboarding) // the HR record (with the name) is written by then
	return order, onboarding
}

// A new instance's history, as anyone who can read the namespace fetches it
// (the official CLI without the codec), holds no card number and no name:
// not in the inputs, the activities' inputs, results, queries' answers,
// memo or user metadata. Through the codec server the same history shows
// both, so the sentinels really are in the data.
func TestNoPersonalDataInClearInHistories(t *testing.T) {
	order, onboarding := startSentinels(t)
	// A loan with a free-text purpose, and an order whose card the payment
	// system declines with a message naming the card's last four digits.
	lid := uniq("LS")
	loan := "loan-" + lid
	starter(t, "start", "loan", "--id", lid, "--file", writeTemp(t, `{"applicationId":"`+lid+`","applicantId":"C-1001",
		"amount":12000,"termMonths":36,"purpose":"`+sentinelPurpose+`"}`))
	did := uniq("OD")
	declined := "order-" + did
	starter(t, "start", "order", "--id", did, "--file", writeTemp(t, `{"orderId":"`+did+`","customerId":"K-100",
		"items":[{"sku":"SKU-BOOK","quantity":1}],"amount":30,"cardNumber":"`+simulator.DeclinedCard+`","billingCountry":"DE","shippingCountry":"DE"}`))
	declinedLast4 := "ending " + simulator.DeclinedCard[len(simulator.DeclinedCard)-4:]
	if res := outcomeOf(t, loan); res["outcome"] != "approved" {
		t.Fatalf("%s: %v", loan, res)
	}
	if res := outcomeOf(t, declined); !strings.Contains(fmt.Sprint(res["reason"]), declinedLast4) {
		t.Fatalf("%s: %v, want the payment system's message in the (decrypted) reason", declined, res)
	}
	encrypted := base64.StdEncoding.EncodeToString([]byte("binary/encrypted"))
	for id, sentinels := range map[string][]string{order: {sentinelCard, "•••• 5556"}, onboarding: {sentinelName, sentinelStartDate},
		loan: {sentinelPurpose}, declined: {simulator.DeclinedCard, declinedLast4}} {
		sentinel := sentinels[0]
		for _, args := range [][]string{
			{"workflow", "show", "--workflow-id", id, "-o", "json"},
			{"workflow", "describe", "--workflow-id", id, "-o", "json"},
			{"workflow", "list", "--query", "WorkflowId = '" + id + "'", "-o", "json"},
		} {
			raw, err := temporalCLIRaw(t, args...)
			if err != nil {
				t.Fatalf("temporal %s: %v\n%s", strings.Join(args, " "), err, raw)
			}
			for _, s := range sentinels {
				if strings.Contains(raw+withPayloadData(raw), s) {
					t.Errorf("temporal %s %s without the codec shows %q in clear", strings.Join(args[:2], " "), id, s)
				}
			}
			if args[1] == "show" && !strings.Contains(raw, encrypted) {
				t.Errorf("%s: the raw history holds no encrypted payload", id)
			}
		}
		decoded, err := temporalCLI(t, "workflow", "show", "--workflow-id", id, "-o", "json")
		if err != nil || !strings.Contains(withPayloadData(decoded), sentinel) {
			t.Errorf("%s through the codec server lacks %q (err %v): the sentinel is not in the data", id, sentinel, err)
		}
	}
	// The name travels in the HR activity's input, the card in the charge's:
	// both encrypted above. Logs and metrics never held them either.
	for what, text := range map[string]string{"worker log": env.workerLog.String(), "codec server log": env.codecLog.String(), "/metrics": scrape(t)} {
		for _, s := range []string{sentinelCard, sentinelName, sentinelPurpose, simulator.DeclinedCard, declinedLast4} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q", what, s)
			}
		}
	}
	starter(t, "reject", onboarding, "--as", "mia", "--reason", "test over")
	// The audit store outlives the histories and is read without the codec:
	// it holds no card number, no name and no free text of the applicant's
	// (a declined card's last four digits, as a system's message quotes them,
	// are the masked form card rules allow).
	outcomeOf(t, onboarding)
	st := auditStore(t)
	for _, id := range []string{order, onboarding, loan, declined} {
		recs, err := st.Trail(context.Background(), id)
		if err != nil || len(recs) == 0 {
			t.Fatalf("%s: no trail in the audit store (%v)", id, err)
		}
		b, _ := json.Marshal(recs)
		for _, s := range []string{sentinelCard, simulator.DeclinedCard, sentinelName, sentinelPurpose} {
			if strings.Contains(string(b), s) {
				t.Errorf("the audit store's trail of %s holds %q", id, s)
			}
		}
	}
}

// The documented command decodes a history with the official CLI through the
// codec server; without the token the codec server refuses and the CLI
// shows no plaintext.
func TestTemporalCLIWithTheCodecServer(t *testing.T) {
	oid := uniq("OC")
	id := "order-" + oid
	starter(t, "start", "order", "--id", oid, "--file", writeTemp(t, `{"orderId":"`+oid+`","customerId":"K-100",
		"items":[{"sku":"SKU-BOOK","quantity":1}],"amount":30,"cardNumber":"`+sentinelCard+`","billingCountry":"DE","shippingCountry":"DE"}`))
	outcomeOf(t, id)

	m := regexp.MustCompile("(?m)^temporal workflow show .*--codec-endpoint.*$").FindString(docsText(t))
	if m == "" {
		t.Fatal("neither README.md nor docs/ has a `temporal workflow show ... --codec-endpoint` command")
	}
	run := func(line string) (string, error) {
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir = env.root
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(env.temporal)+":"+os.Getenv("PATH"),
			"TEMPORAL_ADDRESS="+env.address, "TEMPORAL_NAMESPACE="+env.namespace)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	line := strings.NewReplacer("order-O-1001", id, "http://localhost:8234", env.codecURL, ".dev/codec.token", env.tokenFile).Replace(m)
	out, err := run(line)
	if err != nil || !strings.Contains(out, sentinelCard) {
		t.Fatalf("README command %s: %v\n%s", line, err, tail(out, 2000))
	}
	wrong := strings.Replace(line, env.tokenFile, writeTemp(t, "not-the-token-at-all\n"), 1)
	out, _ = run(wrong)
	if strings.Contains(out, sentinelCard) {
		t.Errorf("a wrong token still decodes:\n%s", tail(out, 2000))
	}
}

// withPayloadData returns the CLI's JSON output followed by every base64
// "data" field it holds, decoded: payloads' bytes as anyone reading them
// would see them.
func withPayloadData(cliJSON string) string {
	var b strings.Builder
	b.WriteString(cliJSON)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "data" {
					if d, err := base64.StdEncoding.DecodeString(s); err == nil {
						b.WriteString("\n")
						b.Write(d)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(cliJSON))
	for {
		var v any
		if dec.Decode(&v) != nil {
			break
		}
		walk(v)
	}
	return b.String()
}

// The Web UI decodes through the codec server with the token (make dev
// configures the dev server's UI so), and shows ciphertext to a browser
// whose codec endpoint lacks it: the codec server refuses with 401.
func TestWebUIDecodesOnlyWithTheToken(t *testing.T) {
	oid := uniq("OW")
	id := "order-" + oid
	starter(t, "start", "order", "--id", oid, "--file", writeTemp(t, `{"orderId":"`+oid+`","customerId":"K-100",
		"items":[{"sku":"SKU-BOOK","quantity":1}],"amount":30,"cardNumber":"`+sentinelCard+`","billingCountry":"DE","shippingCountry":"DE"}`))
	outcomeOf(t, id)
	page := fmt.Sprintf("%s/namespaces/%s/workflows/%s", env.uiURL, env.namespace, id)

	b := newBrowser(t)
	b.open(page)
	b.waitText("ui-codec-"+id+"-decoded.png", id, `"cardNumber": "`+sentinelCard+`"`)

	// The same page in a browser whose codec endpoint (the UI's own
	// per-browser override) carries no token.
	refusedBefore := strings.Count(env.codecLog.String(), `"status":401`)
	nb := newBrowser(t)
	nb.open(env.uiURL)
	if _, err := chromedp.Run(nb.ctx, chromedp.Evaluate[any](fmt.Sprintf(
		`localStorage.setItem('endpoint', JSON.stringify(%q)); localStorage.setItem('overrideRemoteCodecConfiguration', 'true')`, env.codecURL))); err != nil {
		t.Fatal(err)
	}
	nb.open(page)
	// The UI says the codec server refused, and shows the payloads as
	// stored: encrypted, with their key id.
	text := nb.waitText("ui-codec-"+id+"-no-token.png", id, "Codec Server could not connect", `"encryption-key-id"`,
		base64.StdEncoding.EncodeToString([]byte("binary/encrypted")))
	if strings.Contains(text, sentinelCard) {
		t.Errorf("without the token the UI shows the card number")
	}
	if strings.Count(env.codecLog.String(), `"status":401`) <= refusedBefore {
		t.Error("the codec server logged no refusal for the tokenless browser")
	}
}

// A missing key file stops the worker with one line that says what to do;
// a starter holding another key cannot read an instance and says which key
// it lacks, in one line.
func TestMissingOrWrongKeyIsOneLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.keys")
	r := runWorkerOnce(t, "BATON_CODEC_KEY_FILE="+missing)
	want := "worker: temporal.codec.key_file: key file " + missing + " does not exist: generate a development key with `make codec-key`, or point BATON_CODEC_KEY_FILE at yours\n"
	lines := strings.SplitAfter(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != 1 || lines[len(lines)-1]+"\n" != want {
		t.Errorf("worker without a key file: exit %d, stderr %q\nwant %q", r.code, r.stderr, want)
	}

	oid := uniq("OK")
	starter(t, "start", "order", "--id", oid, "--file", "examples/order-straight-through.json")
	outcomeOf(t, "order-"+oid)
	other := filepath.Join(t.TempDir(), "other.keys")
	if _, _, err := codec.AppendNewKey(other, "other-"); err != nil {
		t.Fatal(err)
	}
	r = runBinEnv(t, "starter", []string{"BATON_CODEC_KEY_FILE=" + other}, "status", "order-"+oid)
	if r.code == 0 || !strings.Contains(r.stderr, `payload encrypted with key "`+env.keyring.NewestID()+`", which is not in the configured keys [other-`) ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("starter with another key: exit %d, stderr %q", r.code, r.stderr)
	}
}
