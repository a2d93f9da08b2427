package starter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/humantask"
)

// --data gives the values as JSON (numbers, booleans and lists too), --set
// wins over it; a value the task's form refuses is a usage error (exit 2)
// naming the field before anything is sent, and a personal value gets a
// salt.
func TestFormValuesFromSetAndData(t *testing.T) {
	file := filepath.Join(t.TempDir(), "values.json")
	if err := os.WriteFile(file, []byte(`{"counterAmount": 30000, "counterTermMonths": 84, "verify": true, "equipment": ["laptop", "dock"], "conditions": "payslips"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := formValues([]string{"counterAmount=25000.5"}, file)
	if err != nil {
		t.Fatal(err)
	}
	if v["counterAmount"] != "25000.5" || v["counterTermMonths"] != "84" || v["verify"] != "true" || v["equipment"] != "laptop,dock" {
		t.Errorf("values = %v", v)
	}
	if _, err := formValues([]string{"novalue"}, ""); exitCode(err) != exitUsage {
		t.Errorf("--set without =: %v", err)
	}
	form := humantask.Form{
		humantask.Money("counterAmount", "Counter-offer amount", "EUR").Range(1000, 40000),
		humantask.Text("conditions", "Conditions").MarkPersonal(),
	}
	open := humantask.TaskView{ID: "underwriting", Form: form}
	d := humantask.Decision{Verdict: humantask.Approve, Actor: "ana"}
	err = fillValues(open, &d, map[string]string{"counterAmount": "45000"})
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--set counterAmount: 45,000.00 EUR is above the maximum 40,000.00 EUR") {
		t.Errorf("a value over its bound: %v", err)
	}
	if err := fillValues(open, &d, map[string]string{"counterAmount": "30000", "conditions": "payslips"}); err != nil {
		t.Fatal(err)
	}
	if d.Values["counterAmount"] != "30000.00" || d.Salt == "" {
		t.Errorf("decision = %+v", d)
	}
}
