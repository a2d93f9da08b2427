package charts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/insight/insighttest"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

// month records four weeks of loans through the real workflow (testsuite,
// time skipped): mostly automated, some declined, manual ones that wait
// hours for an underwriter, some delegated or escalated to a senior
// underwriter, four-eyes ones; the share of manual ones falls and people
// decide faster week by week.
func month(t *testing.T) ([]*insight.Trail, *policy.Policy) {
	t.Helper()
	pol, err := config.LoadPolicy("../../config/policy.yaml", workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	approve := func(after time.Duration, who string) insighttest.Decision {
		return insighttest.Decision{After: after, Decision: humantask.Decision{Verdict: humantask.Approve, Actor: who}}
	}
	var trails []*insight.Trail
	n := 0
	add := func(start time.Time, amount float64, score int, decisions ...insighttest.Decision) {
		n++
		in := &workflows.LoanInput{ApplicationID: fmt.Sprintf("M-%03d", n), ApplicantID: "C-1002", Amount: amount, TermMonths: 36}
		trails = append(trails, insight.NewTrail(insighttest.Record(t, pol, insighttest.Scenario{Input: in, Score: score, Decisions: decisions, Start: start})))
	}
	for week := range 4 {
		for day := range 5 {
			start := monday.AddDate(0, 0, 7*week+day)
			add(start, 12000+float64(day)*1000, 760)
			add(start.Add(2*time.Hour), 18000, 780)
			if day%2 == 0 {
				add(start.Add(3*time.Hour), 9000, 500)
			}
			if day < 4-week {
				add(start.Add(time.Hour), 40000, 660, approve(time.Duration((3+day*4)*(5-week))*time.Hour/3, "ana"))
			}
			if day == 1 {
				add(start.Add(4*time.Hour), 60000, 640,
					insighttest.Decision{After: 2 * time.Hour, Decision: humantask.Decision{Verdict: humantask.Delegate, Actor: "ana", DelegateTo: "ben", Comment: "conflict of interest"}},
					approve(30*time.Hour, "sam"))
			}
			if day == 3 {
				add(start, 150000, 680, approve(5*time.Hour, "ana"), approve(time.Duration(26-5*week)*time.Hour, "ben"))
			}
		}
	}
	return trails, pol
}

// On a realistic month the map's first bottleneck is the wait for
// underwriters, the weekly chart has the four weeks, and the pictures
// render; BATON_INSIGHT_DOCS=DIR writes them there (docs/insight-*.png are
// Chromium screenshots of these).
func TestAMonthOfLoans(t *testing.T) {
	trails, pol := month(t)
	ds := insight.Discover(trails, map[string]*policy.Policy{pol.Version: pol})
	if len(ds) != 1 {
		t.Fatalf("discoveries %+v", ds)
	}
	d := ds[0]
	if b := d.Bottlenecks[0]; !strings.HasPrefix(b.From, "underwriting") || b.Share < 0.3 {
		t.Errorf("first bottleneck %+v, want the underwriters' task", b)
	}
	var runs []insight.Run
	for _, tr := range trails {
		runs = append(runs, tr.Run())
	}
	weeks := insight.Weekly(runs)
	if len(weeks) != 4 || weeks[3].AutomationRate <= weeks[0].AutomationRate {
		t.Errorf("weeks %+v", weeks)
	}
	mapSVG, err := ProcessMap(context.Background(), d, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	weekly, err := Weekly("loan", weeks)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, mapSVG)
	wellFormed(t, weekly)
	if dir := os.Getenv("BATON_INSIGHT_DOCS"); dir != "" {
		for name, svg := range map[string][]byte{"insight-map.svg": mapSVG, "insight-weekly.svg": weekly} {
			if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
