package starter

import (
	"bytes"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/insight"
)

// The report sets what adjusters assessed against what was claimed, per
// process and entered fact; instances without the fact do not count.
func TestEnteredAmountsAgainstRequested(t *testing.T) {
	trails := []*insight.Trail{
		{Process: "claim", Facts: map[string]string{"amount": "18000", "assessedAmount": "22000"}},
		{Process: "claim", Facts: map[string]string{"amount": "6000", "assessedAmount": "5750"}},
		{Process: "claim", Facts: map[string]string{"amount": "1200"}},
		{Process: "expense", Facts: map[string]string{"amount": "7800", "approvedAmount": "1500"}},
	}
	es := enteredAmounts(trails)
	if len(es) != 2 || es[0].Process != "claim" || es[0].Instances != 2 || es[0].Changed != 2 || es[0].Requested != 24000 || es[0].Decided != 27750 {
		t.Fatalf("entered = %+v", es)
	}
	var b bytes.Buffer
	printEntered(&b, es)
	if !strings.Contains(b.String(), "claim assessedAmount: 2 instances, 2 changed; 27,750.00 of 24,000.00 requested (116%)") {
		t.Errorf("printed:\n%s", b.String())
	}
}
