package webinbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/charts"
	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/whatif"
	"github.com/batonhq/baton/internal/whatifstore"
	"github.com/batonhq/baton/policy"
)

// Insight is what the insight pages read: the trails of a window and the
// finished instances a what-if replays (the durable audit store).
type Insight interface {
	Trails(ctx context.Context, w insight.Window) ([]*insight.Trail, error)
	Finished(ctx context.Context, w whatif.Window) ([]whatif.Instance, error)
}

// StoreInsight serves the insight pages from the audit store.
type StoreInsight struct {
	Store *auditstore.Store
}

// Trails implements Insight.
func (s StoreInsight) Trails(ctx context.Context, w insight.Window) ([]*insight.Trail, error) {
	return insight.ReadTrails(ctx, s.Store, w)
}

// Finished implements Insight.
func (s StoreInsight) Finished(ctx context.Context, w whatif.Window) ([]whatif.Instance, error) {
	return whatifstore.Source{Store: s.Store}.Finished(ctx, w)
}

// Unavailable is Insight when the audit store could not be opened: every
// read says why.
type Unavailable struct{ Err error }

// Trails implements Insight.
func (u Unavailable) Trails(context.Context, insight.Window) ([]*insight.Trail, error) {
	return nil, u.Err
}

// Finished implements Insight.
func (u Unavailable) Finished(context.Context, whatif.Window) ([]whatif.Instance, error) {
	return nil, u.Err
}

// insightWindows are the windows the pages offer.
var insightWindows = []struct {
	Key   string
	Label string
	Span  time.Duration
}{{"7d", "7 days", 7 * 24 * time.Hour}, {"30d", "30 days", 30 * 24 * time.Hour}, {"90d", "90 days", 90 * 24 * time.Hour}}

// insightCacheFor is how long a window's trails are reused: the page and
// its three pictures ask for them together.
const insightCacheFor = time.Minute

// trailCache keeps the trails of recent windows.
type trailCache struct {
	mu      sync.Mutex
	entries map[string]cachedTrails
}

type cachedTrails struct {
	at     time.Time
	until  time.Time
	trails []*insight.Trail
}

// insightRequest is a page's or a picture's choice of process and window.
type insightRequest struct {
	Process string
	Since   string
	span    time.Duration
}

func (s *server) readInsightRequest(r *http.Request) insightRequest {
	q := insightRequest{Process: r.FormValue("process"), Since: r.FormValue("since")}
	if names := s.Catalog.Names(); !slices.Contains(names, q.Process) {
		q.Process = names[0]
	}
	q.span = 0
	for _, w := range insightWindows {
		if w.Key == q.Since {
			q.span = w.Span
		}
	}
	if q.span == 0 {
		q.Since, q.span = insightWindows[1].Key, insightWindows[1].Span
	}
	return q
}

// trails reads the window's trails of the process, ended in it or (with
// started) started in it, through the cache.
func (s *server) trails(ctx context.Context, q insightRequest, started bool) ([]*insight.Trail, time.Time, error) {
	if s.Insight == nil {
		return nil, time.Time{}, errNoInsight
	}
	key := fmt.Sprintf("%s/%s/%v", q.Process, q.Since, started)
	s.trailCache.mu.Lock()
	defer s.trailCache.mu.Unlock()
	if c, ok := s.trailCache.entries[key]; ok && time.Since(c.at) < insightCacheFor {
		return c.trails, c.until, nil
	}
	until := time.Now().UTC()
	trails, err := s.Insight.Trails(ctx, insight.Window{Process: q.Process, Since: until.Add(-q.span), Until: until, Started: started, Need: insight.NeedEnd})
	if err != nil {
		return nil, until, err
	}
	if s.trailCache.entries == nil {
		s.trailCache.entries = map[string]cachedTrails{}
	}
	s.trailCache.entries[key] = cachedTrails{at: time.Now(), until: until, trails: trails}
	return trails, until, nil
}

var errNoInsight = errors.New("the insight pages read the audit store: set audit.dsn (BATON_AUDIT_DSN) for the inbox")

// requireInsight lets through holders of a role the policy's insight entry
// names; anyone else is told the page is not theirs.
func (s *server) requireInsight(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return s.requireUser(func(w http.ResponseWriter, r *http.Request, user string) {
		if !s.Policy.MaySeeInsight(user) {
			roles := "no role: the policy has no insight entry"
			if s.Policy.Insight != nil {
				roles = "a role of " + strings.Join(s.Policy.Insight.Roles, ", ")
			}
			s.render(w, r, http.StatusForbidden, "error", errorData{Title: "Not yours to see", Message: "The insight pages are for holders of " + roles + " (the policy's insight entry)."})
			return
		}
		next(w, r, user)
	})
}

type insightData struct {
	Processes  []string
	Process    string
	Title      string
	Windows    []windowOption
	Since      string
	Instances  int
	Variants   int
	Figures    *insight.ProcessFigures
	Paths      []pathFigures
	Bottleneck []insight.Edge
	Rework     []insight.Rework
	Error      string
	// What-if: the proposed policy as typed, and the result.
	PolicyText  string
	WhatIf      *whatif.Process
	WhatIfNote  string
	WhatIfError string
}

type windowOption struct {
	Key, Label string
	Current    bool
}

type pathFigures struct {
	Path string
	insight.Figures
}

// insightPage shows a process over a window: its figures, map, weekly
// chart and the backlog by role.
func (s *server) insightPage(w http.ResponseWriter, r *http.Request, _ string) {
	q := s.readInsightRequest(r)
	d := s.insightData(r.Context(), q)
	s.render(w, r, http.StatusOK, "insight", d)
}

func (s *server) insightData(ctx context.Context, q insightRequest) insightData {
	d := insightData{Processes: s.Catalog.Names(), Process: q.Process, Since: q.Since, Title: q.Process}
	if p, ok := s.Catalog.Lookup(q.Process); ok {
		d.Title = p.Title
	}
	for _, o := range insightWindows {
		d.Windows = append(d.Windows, windowOption{o.Key, o.Label, o.Key == q.Since})
	}
	trails, until, err := s.trails(ctx, q, false)
	if err != nil {
		s.log.Warnw("insight", "error", err)
		d.Error = "The figures could not be read just now: " + err.Error()
		return d
	}
	d.Instances = len(trails)
	var runs []insight.Run
	for _, t := range trails {
		runs = append(runs, t.Run())
	}
	if f := insight.Measure(runs, until.Sub(until.Add(-q.span)).Hours(), s.Catalog.Names()); len(f) == 1 {
		d.Figures = &f[0]
		for _, p := range []string{"automated", "manual"} {
			if pf, ok := f[0].ByPath[p]; ok {
				d.Paths = append(d.Paths, pathFigures{p, pf})
			}
		}
	}
	if ds := insight.Discover(trails, s.policies()); len(ds) == 1 {
		d.Variants, d.Bottleneck, d.Rework = len(ds[0].Variants), ds[0].Bottlenecks, ds[0].Rework
	}
	return d
}

// policies are the versions discovery names deciders' roles from: the
// inbox's own, which also stands for versions it does not hold.
func (s *server) policies() map[string]*policy.Policy {
	return map[string]*policy.Policy{s.Policy.Version: s.Policy, "": s.Policy}
}

// serveSVG answers a picture: SVG drawn on the server, shown as an image
// (its style attributes are inline, which only an image may carry under
// the pages' policy).
func serveSVG(w http.ResponseWriter, svg []byte) {
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(svg)
}

func (s *server) pictureFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warnw("insight picture", "path", r.URL.Path, "error", err)
	http.Error(w, "The picture could not be drawn just now.", http.StatusServiceUnavailable)
}

// insightMap draws the process map.
func (s *server) insightMap(w http.ResponseWriter, r *http.Request, _ string) {
	q := s.readInsightRequest(r)
	trails, _, err := s.trails(r.Context(), q, false)
	if err != nil {
		s.pictureFailed(w, r, err)
		return
	}
	d := insight.Discovery{Process: q.Process}
	if ds := insight.Discover(trails, s.policies()); len(ds) == 1 {
		d = ds[0]
	}
	svg, err := charts.ProcessMap(r.Context(), d, charts.MapOptions{})
	if err != nil {
		s.pictureFailed(w, r, err)
		return
	}
	serveSVG(w, svg)
}

// insightWeekly draws cycle time and automation per week.
func (s *server) insightWeekly(w http.ResponseWriter, r *http.Request, _ string) {
	q := s.readInsightRequest(r)
	trails, _, err := s.trails(r.Context(), q, false)
	if err != nil {
		s.pictureFailed(w, r, err)
		return
	}
	var runs []insight.Run
	for _, t := range trails {
		runs = append(runs, t.Run())
	}
	svg, err := charts.Weekly(q.Process, insight.Weekly(runs))
	if err != nil {
		s.pictureFailed(w, r, err)
		return
	}
	serveSVG(w, svg)
}

// insightBacklog draws the open tasks by role over the window.
func (s *server) insightBacklog(w http.ResponseWriter, r *http.Request, _ string) {
	q := s.readInsightRequest(r)
	trails, until, err := s.trails(r.Context(), q, true)
	if err != nil {
		s.pictureFailed(w, r, err)
		return
	}
	svg, err := charts.Backlog(insight.Backlog(trails, until.Add(-q.span), until, 60), s.whoName)
	if err != nil {
		s.pictureFailed(w, r, err)
		return
	}
	serveSVG(w, svg)
}

// whoName names a role, or a person a task is named to.
func (s *server) whoName(who string) string {
	if user, ok := strings.CutPrefix(who, humantask.UserCandidate("")); ok {
		if u, known := s.Policy.Users[user]; known {
			return u.Name + " (" + user + ")"
		}
		return user
	}
	return who
}

// Session key of the last what-if's picture.
const keyWhatIf = "insight.whatif.svg"

// maxPolicyText bounds a proposed policy typed into the what-if form.
const maxPolicyText = 48 << 10

// insightWhatIf replays a proposed policy over the window's finished
// instances of the process and shows before and after.
func (s *server) insightWhatIf(w http.ResponseWriter, r *http.Request, _ string) {
	q := s.readInsightRequest(r)
	d := s.insightData(r.Context(), q)
	text := r.PostFormValue("policy")
	d.PolicyText = text
	proposed, err := s.proposedPolicy(text)
	if err == nil && s.Insight == nil {
		err = errNoInsight
	}
	var rep whatif.Report
	if err == nil {
		until := time.Now().UTC()
		win := whatif.Window{Process: q.Process, Since: until.Add(-q.span), Until: until}
		var instances []whatif.Instance
		instances, err = s.Insight.Finished(r.Context(), win)
		rep = whatif.Evaluate(s.Catalog, instances, proposed, win.Since, win.Until)
	}
	if err != nil {
		d.WhatIfError = err.Error()
		s.render(w, r, http.StatusUnprocessableEntity, "insight", d)
		return
	}
	svg, err := charts.WhatIf(rep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), keyWhatIf, svg)
	for _, p := range rep.Processes {
		if p.Process == q.Process {
			d.WhatIf = &p
		}
	}
	if d.WhatIf == nil {
		d.WhatIfNote = "No instance of this process finished in the window."
	}
	s.render(w, r, http.StatusOK, "insight", d)
}

// proposedPolicy reads a policy typed into the form, validated as the
// worker validates its file.
func (s *server) proposedPolicy(text string) (*policy.Policy, error) {
	switch {
	case strings.TrimSpace(text) == "":
		return nil, errors.New("paste a proposed policy (the whole file) to compare")
	case len(text) > maxPolicyText:
		return nil, fmt.Errorf("the proposed policy is %d bytes, at most %d", len(text), maxPolicyText)
	}
	p, err := policy.Parse([]byte(text))
	if err != nil {
		return nil, err
	}
	if err := s.Catalog.CheckPolicy(p); err != nil {
		return nil, err
	}
	return p, nil
}

// insightWhatIfPicture serves the session's last what-if picture.
func (s *server) insightWhatIfPicture(w http.ResponseWriter, r *http.Request, _ string) {
	svg, ok := s.sessions.Get(r.Context(), keyWhatIf).([]byte)
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveSVG(w, svg)
}
