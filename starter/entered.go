package starter

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/process"
)

// enteredFacts are the facts Baton's data-entry steps record beside the
// amount requested (the fact "amount"): what people decided to pay, offer
// or reimburse.
var enteredFacts = []string{"assessedAmount", "approvedAmount", "offerAmount"}

// Entered sets the amounts people entered at a data-entry step against the
// amounts requested, per process and entered fact: the claim's assessed
// amount against the claimed, an expense's lower amount against the
// claimed, a loan's counter-offer against the amount applied for.
type Entered struct {
	Process string `json:"process"`
	Fact    string `json:"fact"`
	// Instances recorded the fact; Changed entered another amount than
	// the one requested.
	Instances int     `json:"instances"`
	Changed   int     `json:"changed"`
	Requested float64 `json:"requested"`
	Decided   float64 `json:"decided"`
}

// enteredAmounts reads the entered facts of the trails' ended instances.
func enteredAmounts(trails []*insight.Trail) []Entered {
	by := map[[2]string]*Entered{}
	for _, t := range trails {
		req, err := strconv.ParseFloat(t.Facts["amount"], 64)
		if err != nil {
			continue
		}
		for _, f := range enteredFacts {
			v, err := strconv.ParseFloat(t.Facts[f], 64)
			if err != nil {
				continue
			}
			k := [2]string{t.Process, f}
			if by[k] == nil {
				by[k] = &Entered{Process: t.Process, Fact: f}
			}
			e := by[k]
			e.Instances++
			e.Requested += req
			e.Decided += v
			if v != req {
				e.Changed++
			}
		}
	}
	var out []Entered
	for _, e := range by {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entered) int {
		return cmp.Or(cmp.Compare(a.Process, b.Process), cmp.Compare(a.Fact, b.Fact))
	})
	return out
}

// printEntered writes the entered amounts for people.
func printEntered(w io.Writer, es []Entered) {
	if len(es) == 0 {
		return
	}
	fmt.Fprintln(w, "\nAmounts people entered, against those requested (from the audit store):")
	for _, e := range es {
		share := "-"
		if e.Requested > 0 {
			share = percent(e.Decided / e.Requested)
		}
		fmt.Fprintf(w, "  %s %s: %d instances, %d changed; %s of %s requested (%s)\n", e.Process, e.Fact, e.Instances, e.Changed,
			process.Money(e.Decided), process.Money(e.Requested), share)
	}
}
