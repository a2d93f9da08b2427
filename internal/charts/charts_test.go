package charts

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/whatif"
)

// loanDiscovery is a loan process as discovery maps it: mostly automated,
// a manual branch whose wait for underwriters is the bottleneck.
func loanDiscovery() insight.Discovery {
	edge := func(from, to string, n int, p50, total float64) insight.Edge {
		return insight.Edge{From: from, To: to, Count: n, Wait: insight.Dist{Count: n, P50: p50, P90: p50 * 2}, Total: total}
	}
	d := insight.Discovery{Process: "loan", Instances: 100, Variants: make([]insight.Variant, 6),
		Nodes: []insight.Node{{Label: "start", Count: 100}, {Label: "kyc", Count: 100}, {Label: "credit-score", Count: 98},
			{Label: "route: auto-approve", Count: 60}, {Label: "route: underwriting", Count: 30}, {Label: "route: auto-decline", Count: 8},
			{Label: "underwriting opened", Count: 30}, {Label: "underwriting: approve by underwriter", Count: 22},
			{Label: "underwriting escalated", Count: 6}, {Label: "underwriting: approve by senior-underwriter", Count: 5},
			{Label: "offer", Count: 87}, {Label: "disbursement", Count: 87}, {Label: "end: approved", Count: 87}, {Label: "end: declined", Count: 13}},
		Edges: []insight.Edge{
			edge("start", "kyc", 100, 0.4, 40), edge("kyc", "credit-score", 98, 0.3, 30), edge("credit-score", "route: auto-approve", 60, 0.01, 1),
			edge("credit-score", "route: underwriting", 30, 0.01, 1), edge("credit-score", "route: auto-decline", 8, 0.01, 1),
			edge("route: underwriting", "underwriting opened", 30, 0, 0),
			edge("underwriting opened", "underwriting: approve by underwriter", 22, 5400, 22*5400),
			edge("underwriting opened", "underwriting escalated", 6, 86400, 6*86400),
			edge("underwriting escalated", "underwriting: approve by senior-underwriter", 5, 7200, 5*7200),
			edge("underwriting: approve by underwriter", "offer", 22, 0.2, 4), edge("underwriting: approve by senior-underwriter", "offer", 5, 0.2, 1),
			edge("route: auto-approve", "offer", 60, 0.2, 12), edge("offer", "disbursement", 87, 0.5, 43), edge("disbursement", "end: approved", 87, 0.3, 26),
			edge("route: auto-decline", "end: declined", 8, 0.1, 1), edge("underwriting escalated", "end: declined", 1, 86400, 86400),
		},
	}
	d.Bottlenecks = []insight.Edge{d.Edges[7], d.Edges[6], d.Edges[8]}
	d.Bottlenecks[0].Share, d.Bottlenecks[1].Share = 0.48, 0.44
	return d
}

// wellFormed parses an SVG document and returns its text content.
func wellFormed(t *testing.T, svg []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = false
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed SVG: %v", err)
		}
		if c, ok := tok.(xml.CharData); ok {
			text.Write(c)
			text.WriteByte(' ')
		}
	}
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Fatal("no <svg> element")
	}
	return text.String()
}

// keep writes an SVG where BATON_INSIGHT_DOCS says (to look at it).
func keep(t *testing.T, name string, svg []byte) {
	if dir := os.Getenv("BATON_INSIGHT_DOCS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcessMapHighlightsBottlenecks(t *testing.T) {
	svg, err := ProcessMap(context.Background(), loanDiscovery(), MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "map.svg", svg)
	text := wellFormed(t, svg)
	for _, want := range []string{"loan: 100 instances, 6 variants", "underwriting opened", "#1 bottleneck: 6.0 d waited in all (48%)", "22 · median 90 min, p90 3.0 h", "end: approved"} {
		if !strings.Contains(text, want) {
			t.Errorf("map lacks %q:\n%s", want, text)
		}
	}
	if !bytes.Contains(svg, []byte(colorHot)) {
		t.Error("no bottleneck drawn in the accent colour")
	}
}

func TestChartsRender(t *testing.T) {
	monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var weeks []insight.Week
	for i := range 4 {
		weeks = append(weeks, insight.Week{Start: monday.AddDate(0, 0, 7*i), Completed: 40 + i, AutomationRate: 0.6 + 0.05*float64(i),
			CycleTime: insight.Dist{Count: 40, P50: 3600 * float64(4-i), P90: 86400, Mean: 20000, StdDev: 15000}})
	}
	svg, err := Weekly("loan", weeks)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "weekly.svg", svg)
	if text := wellFormed(t, svg); !strings.Contains(text, "loan: cycle time per week") || !strings.Contains(text, "Nov 9") || !strings.Contains(text, "hours") || !strings.Contains(text, "mean ± standard deviation") {
		t.Errorf("weekly chart text: %s", text)
	}
	var pts []insight.BacklogPoint
	for i := range 24 {
		pts = append(pts, insight.BacklogPoint{At: monday.Add(time.Duration(i) * time.Hour), ByRole: map[string]int{"underwriter": i % 7, "user:max": 1}})
	}
	svg, err = Backlog(pts, func(who string) string {
		if who == "user:max" {
			return "Max Meyer (max)"
		}
		return who
	})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "backlog.svg", svg)
	if text := wellFormed(t, svg); !strings.Contains(text, "Max Meyer (max)") || !strings.Contains(text, "underwriter") {
		t.Errorf("backlog chart text: %s", text)
	}
	rep := whatif.Report{PolicyVersion: "sha256:abc", Processes: []whatif.Process{
		{Process: "loan", Evaluated: 10, Current: whatif.Side{AutomationRate: 0.6, MeanCycleSeconds: 7200}, Proposed: whatif.Side{AutomationRate: 0.8, MeanCycleSeconds: 3600}},
		{Process: "claim", Evaluated: 4, Current: whatif.Side{AutomationRate: 0.5, MeanCycleSeconds: 9000}, Proposed: whatif.Side{AutomationRate: 0.5, MeanCycleSeconds: 9000}},
	}}
	svg, err = WhatIf(rep)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "whatif.svg", svg)
	if text := wellFormed(t, svg); !strings.Contains(text, "sha256:abc") || !strings.Contains(text, "proposed") || !strings.Contains(text, "claim") {
		t.Errorf("what-if chart text: %s", text)
	}
}
