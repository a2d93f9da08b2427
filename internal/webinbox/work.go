package webinbox

// The list people work in all day (filters, search, sort, counts, pages
// with stable cursors, bulk decisions) and work on a task that decides
// nothing (claim, release, comment, priority, follow-up), substitutes
// while away. Every action and decision is the session user's, signed by
// the inbox for them and checked by the workflow's gate.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/signing"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/internal/taskwork"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/substitutes"
)

// Work is what the inbox needs beyond listing and deciding: the task read
// model's counts and facets, actions on a task, bulk decisions and
// substitutes. Without it (no audit store) the list is visibility's plain
// one and these pages say why they are missing.
type Work interface {
	Count(ctx context.Context, f taskinbox.Filter) (taskinbox.Counts, error)
	Facets(ctx context.Context, f taskinbox.Filter) ([]auditstore.Facet, error)
	Act(ctx context.Context, s humantask.Subject, a humantask.Action) (humantask.ActionResult, error)
	Bulk(ctx context.Context, items []taskwork.Item, d humantask.Decision, sign func(humantask.Subject, *humantask.Decision) error) []taskwork.Outcome
	Substitutes(ctx context.Context, user string) ([]policy.Substitute, error)
	Substitute(ctx context.Context, r substitutes.Request) (substitutes.Result, error)
}

// TemporalWork is Work over a Temporal client and the task read model.
type TemporalWork struct {
	Client    client.Client
	Store     *taskinbox.Store
	TaskQueue string
}

// Count implements Work.
func (w *TemporalWork) Count(ctx context.Context, f taskinbox.Filter) (taskinbox.Counts, error) {
	return w.Store.Count(ctx, f)
}

// Facets implements Work.
func (w *TemporalWork) Facets(ctx context.Context, f taskinbox.Filter) ([]auditstore.Facet, error) {
	return w.Store.Facets(ctx, f)
}

// Act implements Work.
func (w *TemporalWork) Act(ctx context.Context, s humantask.Subject, a humantask.Action) (humantask.ActionResult, error) {
	return taskwork.Act(ctx, w.Client, s, a)
}

// Bulk implements Work.
func (w *TemporalWork) Bulk(ctx context.Context, items []taskwork.Item, d humantask.Decision, sign func(humantask.Subject, *humantask.Decision) error) []taskwork.Outcome {
	return taskwork.Bulk(ctx, w.Client, items, d, sign)
}

// Substitutes implements Work: those in force or to come, for or by user.
func (w *TemporalWork) Substitutes(ctx context.Context, user string) ([]policy.Substitute, error) {
	return w.Store.Store.Substitutes(ctx, []string{user}, time.Now())
}

// Substitute implements Work.
func (w *TemporalWork) Substitute(ctx context.Context, r substitutes.Request) (substitutes.Result, error) {
	return taskwork.Substitute(ctx, w.Client, w.TaskQueue, r)
}

// listQuery is the list's filter as the page's query string carries it.
type listQuery struct {
	Process, Task, Role, Priority, Claimed, Min, Max, Search, Sort, View, Page string
	Overdue                                                                    bool
}

func readListQuery(v url.Values) listQuery {
	return listQuery{Process: v.Get("process"), Task: v.Get("task"), Role: v.Get("role"), Priority: v.Get("priority"),
		Claimed: v.Get("claimed"), Min: v.Get("min"), Max: v.Get("max"), Search: strings.TrimSpace(v.Get("q")),
		Sort: v.Get("sort"), View: v.Get("view"), Page: v.Get("page"), Overdue: v.Get("overdue") == "1"}
}

// values is q as a query string (without the page, unless withPage).
func (q listQuery) values(withPage bool) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("process", q.Process)
	set("task", q.Task)
	set("role", q.Role)
	set("priority", q.Priority)
	set("claimed", q.Claimed)
	set("min", q.Min)
	set("max", q.Max)
	set("q", q.Search)
	set("sort", q.Sort)
	set("view", q.View)
	if q.Overdue {
		v.Set("overdue", "1")
	}
	if withPage {
		set("page", q.Page)
	}
	return v
}

// filter is q as a listing's filter for user; problems are one line each
// for the page (the field and what to do), never a failure.
func (q listQuery) filter(user string, now time.Time) (taskinbox.Filter, []string) {
	f := taskinbox.Filter{User: user, Now: now, Process: q.Process, Task: q.Task, Role: q.Role, Overdue: q.Overdue, Search: q.Search, Cursor: q.Page}
	var bad []string
	if q.Priority != "" {
		if p, err := policy.ParsePriority(q.Priority); err == nil {
			f.MinPriority = p
		} else {
			bad = append(bad, "Priority: "+err.Error())
		}
	}
	switch q.Claimed {
	case "", auditstore.ClaimedByMe, auditstore.Unclaimed:
		f.Claimed = q.Claimed
	default:
		bad = append(bad, "Claimed: pick one of the choices")
	}
	for _, a := range []struct {
		name, s string
		into    **float64
	}{{"Amount from", q.Min, &f.AmountMin}, {"Amount to", q.Max, &f.AmountMax}} {
		if a.s == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(a.s, ",", ""), 64)
		if err != nil {
			bad = append(bad, a.name+": "+strconv.Quote(a.s)+" is not a number")
			continue
		}
		*a.into = &v
	}
	switch q.Sort {
	case "", auditstore.SortDeadline, auditstore.SortPriority, auditstore.SortAge, auditstore.SortAmount:
		f.Sort = q.Sort
	default:
		bad = append(bad, "Sort: pick one of the choices")
	}
	switch q.View {
	case "", auditstore.FollowUpLater, auditstore.FollowUpAll:
		f.FollowUp = q.View
	default:
		bad = append(bad, "View: pick one of the choices")
	}
	return f, bad
}

// filtered reports whether q narrows the list beyond the view and sort.
func (q listQuery) filtered() bool {
	q.Sort, q.View, q.Page = "", "", ""
	return q != listQuery{}
}

type option struct {
	Value, Label string
	Selected     bool
}

// listData is the list page.
type listData struct {
	Tasks  []taskinbox.Task
	Now    time.Time
	Error  string
	Next   string // the next page's URL
	First  string // the first page's URL, when not on it
	Query  listQuery
	Counts *taskinbox.Counts
	// Full is the read model's list: filters, counts, bulk, claims.
	Full                                       bool
	Problems                                   []string
	Processes, TaskKinds, Roles, Sorts, Claims []option
	Priorities                                 []option
	Filtered                                   bool
	// Due and Later link to the two views.
	Due, Later string
	Back       string // this page's URL, for forms to come back to
}

// pageSize is the most tasks one page of the list shows.
const pageSize = 50

// myTasks lists the user's tasks a page at a time: from the task read
// model with filters, counts and bulk decisions when the inbox has one,
// else from visibility.
func (s *server) myTasks(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	now := time.Now()
	q := readListQuery(r.URL.Query())
	d := listData{Now: now, Query: q, Full: s.Work != nil, Filtered: q.filtered(), Back: r.URL.RequestURI()}
	f, problems := q.filter(user, now)
	d.Problems = problems
	f.Limit = pageSize
	if !d.Full {
		// Visibility: the user's tasks, by deadline, no other filter.
		f = taskinbox.Filter{User: user, Now: now, Limit: pageSize, Cursor: q.Page}
	}
	p, err := s.Backend.List(ctx, f)
	if !d.Full {
		taskinbox.SortByDeadline(p.Tasks)
	}
	d.Tasks = p.Tasks
	if err != nil {
		s.log.Warnw("list tasks", "error", err)
		d.Error = "Your tasks could not be listed just now; try again in a moment."
		if strings.HasPrefix(err.Error(), "cursor:") {
			d.Error = "That page link is out of date: start again from the first page."
		}
	}
	if p.Next != "" {
		next := q
		next.Page = p.Next
		d.Next = "/?" + next.values(true).Encode()
	}
	if q.Page != "" {
		d.First = "/?" + q.values(false).Encode()
	}
	if d.Full {
		s.listOptions(ctx, user, f, &d)
	}
	s.render(w, r, http.StatusOK, "tasks", d)
}

// listOptions fills the counts and the filters' choices (processes and
// kinds of task with how many of the user's tasks each has).
func (s *server) listOptions(ctx context.Context, user string, f taskinbox.Filter, d *listData) {
	q := d.Query
	f.Cursor, f.Limit = "", 0
	if c, err := s.Work.Count(ctx, f); err == nil {
		d.Counts = &c
	} else {
		s.log.Warnw("count tasks", "error", err)
	}
	due, later := q, q
	due.View, due.Page, later.View, later.Page = "", "", auditstore.FollowUpLater, ""
	d.Due, d.Later = "/?"+due.values(false).Encode(), "/?"+later.values(false).Encode()
	facets, err := s.Work.Facets(ctx, taskinbox.Filter{User: user, Now: f.Now, FollowUp: auditstore.FollowUpAll})
	if err != nil {
		s.log.Warnw("list facets", "error", err)
	}
	d.Processes = []option{{Value: "", Label: "All processes"}}
	d.TaskKinds = []option{{Value: "", Label: "All tasks"}}
	byProcess := map[string]int{}
	var procs []string
	for _, fc := range facets {
		if _, ok := byProcess[fc.Process]; !ok {
			procs = append(procs, fc.Process)
		}
		byProcess[fc.Process] += fc.Count
		d.TaskKinds = append(d.TaskKinds, option{Value: fc.TaskID, Label: fmt.Sprintf("%s (%d)", taskLabel(fc.TaskID), fc.Count), Selected: fc.TaskID == q.Task})
	}
	for _, p := range procs {
		label := p
		if desc, ok := s.Catalog.Lookup(p); ok && desc.Title != "" {
			label = desc.Title
		}
		d.Processes = append(d.Processes, option{Value: p, Label: fmt.Sprintf("%s (%d)", label, byProcess[p]), Selected: p == q.Process})
	}
	d.TaskKinds = dedupe(d.TaskKinds)
	d.Roles = []option{{Value: "", Label: "All my roles"}}
	for _, role := range s.Policy.Users[user].Roles {
		d.Roles = append(d.Roles, option{Value: role, Label: role, Selected: role == q.Role})
	}
	d.Sorts = choices(q.Sort, [][2]string{{"", "Deadline, soonest first"}, {auditstore.SortPriority, "Priority, highest first"},
		{auditstore.SortAge, "Age, oldest first"}, {auditstore.SortAmount, "Amount, largest first"}})
	d.Claims = choices(q.Claimed, [][2]string{{"", "Claimed or not"}, {auditstore.Unclaimed, "Unclaimed"}, {auditstore.ClaimedByMe, "Claimed by me"}})
	d.Priorities = choices(q.Priority, [][2]string{{"", "Any priority"}, {"high", "High or urgent"}, {"urgent", "Urgent"}})
}

// dedupe keeps the first option of each value (a task id two processes share).
func dedupe(opts []option) []option {
	var out []option
	for _, o := range opts {
		if !slices.ContainsFunc(out, func(x option) bool { return x.Value == o.Value }) {
			out = append(out, o)
		}
	}
	return out
}

func choices(cur string, pairs [][2]string) []option {
	out := make([]option, len(pairs))
	for i, p := range pairs {
		out[i] = option{Value: p[0], Label: p[1], Selected: p[0] == cur}
	}
	return out
}

// taskLabel makes a task id readable: "manager-approval" → "Manager approval".
func taskLabel(id string) string {
	s := strings.ReplaceAll(id, "-", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// localPath is to when it is a path on this site, else "/".
func localPath(to string) string {
	if strings.HasPrefix(to, "/") && !strings.HasPrefix(to, "//") && !strings.Contains(to, `\`) {
		return to
	}
	return "/"
}

// act handles a form that works on a task without deciding it: the action
// is the session user's, signed by the inbox for them.
func (s *server) act(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	wf, id := r.PathValue("workflow"), r.PathValue("task")
	back := localPath(r.PostFormValue("back"))
	if back == "/" && r.PostFormValue("back") == "" {
		back = taskURL(wf, id)
	}
	if s.Work == nil {
		s.flashBack(w, r, back, "", "Claims, comments, priority and follow-up need the audit store (audit.dsn).")
		return
	}
	a := humantask.Action{TaskID: id, Kind: r.PostFormValue("kind"), Actor: user, Text: strings.TrimSpace(r.PostFormValue("text"))}
	switch a.Kind {
	case humantask.ActClaim, humantask.ActRelease:
	case humantask.ActComment:
		if a.Text == "" {
			s.flashBack(w, r, back, "", "Write a comment first.")
			return
		}
	case humantask.ActPriority:
		a.Priority = r.PostFormValue("priority")
	case humantask.ActFollowUp:
		if until := r.PostFormValue("until"); until != "" {
			t, err := time.Parse("2006-01-02T15:04", until)
			if err != nil {
				if t, err = time.Parse(time.DateOnly, until); err != nil {
					s.flashBack(w, r, back, "", "Follow up: pick a date.")
					return
				}
			}
			a.Until = t.UTC().Format(time.RFC3339)
		}
	default:
		s.flashBack(w, r, back, "", "Choose claim, release, comment, priority or follow-up.")
		return
	}
	subject, ok := s.openSubject(w, r, wf, id, "do")
	if !ok {
		return
	}
	signing.SignActionAsSigner(s.Key, s.Signer, s.sessions.GetString(ctx, keyAuthn), subject, &a)
	res, err := s.Work.Act(ctx, subject, a)
	var refused *taskwork.RefusedError
	switch {
	case errors.As(err, &refused):
		s.flashBack(w, r, back, "", "Refused: "+refused.Reason)
	case errors.Is(err, taskwork.ErrNotFound):
		s.flashBack(w, r, "/", "", wf+" has ended: nothing left to do.")
	case err != nil:
		s.fail(w, r, err)
	default:
		s.flashBack(w, r, back, fmt.Sprintf("%s, task %s: %s", wf, res.TaskID, res.Message), "")
	}
}

// bulkData is the page a bulk decision answers with.
type bulkData struct {
	Verdict   string
	Outcomes  []taskwork.Outcome
	Accepted  int
	Refused   int
	Back      string
	NoneError string
}

// bulk decides the selected tasks with one verdict and reason: each is
// its own decision, signed for the session user over its own task, checked
// and audited by its own instance; the page lists each one's outcome.
func (s *server) bulk(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	back := localPath(r.PostFormValue("back"))
	if s.Work == nil {
		s.flashBack(w, r, back, "", "Bulk decisions need the audit store (audit.dsn).")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.flashBack(w, r, back, "", "The form could not be read.")
		return
	}
	verdict, comment := r.PostFormValue("verdict"), strings.TrimSpace(r.PostFormValue("comment"))
	var items []taskwork.Item
	for _, v := range r.PostForm["task"] {
		if i := strings.LastIndex(v, "/"); i > 0 {
			items = append(items, taskwork.Item{WorkflowID: v[:i], TaskID: v[i+1:]})
		}
	}
	switch {
	case verdict != humantask.Approve && verdict != humantask.Reject:
		s.flashBack(w, r, back, "", "Choose approve or reject.")
		return
	case len(items) == 0:
		s.flashBack(w, r, back, "", "Select the tasks to decide first (the boxes on the left).")
		return
	case len(items) > taskwork.MaxBulk:
		s.flashBack(w, r, back, "", fmt.Sprintf("At most %d tasks at once.", taskwork.MaxBulk))
		return
	case verdict == humantask.Reject && comment == "":
		s.flashBack(w, r, back, "", "A reason is required to reject.")
		return
	}
	authn := s.sessions.GetString(ctx, keyAuthn)
	out := s.Work.Bulk(ctx, items, humantask.Decision{Verdict: verdict, Actor: user, Comment: comment},
		func(subject humantask.Subject, d *humantask.Decision) error {
			s.sign(subject, authn, d)
			return nil
		})
	d := bulkData{Verdict: verdict, Outcomes: out, Back: back}
	for _, o := range out {
		if o.Accepted {
			d.Accepted++
		} else {
			d.Refused++
		}
	}
	s.render(w, r, http.StatusOK, "bulk", d)
}

// awayData is the substitutes page.
type awayData struct {
	// Groups: where the user is away, where they stand in, set by them
	// for others.
	Groups     []subGroup
	People     []userOption // who may be chosen as substitute
	Principals []userOption // for whom the user may set one (themselves, or all with a set role)
	Roles      []string     // the user's roles
	Error      string
	Today      string
}

type subGroup struct {
	Title, Empty string
	Subs         []policy.Substitute
}

// awayPage shows the user's substitutions and the form to set one.
func (s *server) awayPage(w http.ResponseWriter, r *http.Request, user string) {
	d := awayData{Today: time.Now().UTC().Format(time.DateOnly), Roles: s.Policy.Users[user].Roles}
	if s.Work == nil {
		d.Error = "Substitutes need the audit store (audit.dsn)."
		s.render(w, r, http.StatusOK, "away", d)
		return
	}
	subs, err := s.Work.Substitutes(r.Context(), user)
	if err != nil {
		s.log.Warnw("list substitutes", "error", err)
		d.Error = "Your substitutions could not be listed just now; try again in a moment."
	}
	mine := subGroup{Title: "Your substitutes", Empty: "None set."}
	forMe := subGroup{Title: "Where you stand in", Empty: "Nobody has named you their substitute."}
	others := subGroup{Title: "Set by you for others"}
	for _, sub := range subs {
		switch {
		case sub.Principal == user:
			mine.Subs = append(mine.Subs, sub)
		case sub.Substitute == user:
			forMe.Subs = append(forMe.Subs, sub)
		default:
			others.Subs = append(others.Subs, sub)
		}
	}
	d.Groups = []subGroup{mine, forMe}
	if len(others.Subs) > 0 {
		d.Groups = append(d.Groups, others)
	}
	manager := s.Policy.HoldsAny(user, s.Policy.TaskSettings().Substitutes.SetRoles)
	for _, id := range sortedUsers(s.Policy) {
		opt := userOption{ID: id, Label: s.Policy.Users[id].Name + " (" + id + ")"}
		if id != user {
			d.People = append(d.People, opt)
		}
		if id == user || manager {
			d.Principals = append(d.Principals, opt)
		}
	}
	s.render(w, r, http.StatusOK, "away", d)
}

func sortedUsers(p *policy.Policy) []string {
	ids := make([]string, 0, len(p.Users))
	for id := range p.Users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// setAway sets or ends a substitution for the session user's request.
func (s *server) setAway(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	if s.Work == nil {
		s.flashBack(w, r, "/away", "", "Substitutes need the audit store (audit.dsn).")
		return
	}
	req := substitutes.Request{Op: substitutes.OpSet, Actor: user, ID: taskwork.NewSubstituteID(),
		Principal: r.PostFormValue("principal"), Substitute: r.PostFormValue("substitute")}
	if id := r.PathValue("id"); id != "" {
		req = substitutes.Request{Op: substitutes.OpEnd, ID: id, Actor: user}
	} else {
		if req.Principal == "" {
			req.Principal = user
		}
		from, err1 := time.Parse(time.DateOnly, r.PostFormValue("from"))
		until, err2 := time.Parse(time.DateOnly, r.PostFormValue("until"))
		if err1 != nil || err2 != nil {
			s.flashBack(w, r, "/away", "", "Pick the first day away and the day back.")
			return
		}
		req.From, req.Until = from.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339)
		if err := r.ParseForm(); err == nil {
			req.Roles = r.PostForm["role"]
		}
	}
	signing.SignSubstituteAsSigner(s.Key, s.Signer, s.sessions.GetString(ctx, keyAuthn), &req)
	res, err := s.Work.Substitute(ctx, req)
	var refused *taskwork.RefusedError
	switch {
	case errors.As(err, &refused):
		s.flashBack(w, r, "/away", "", "Refused: "+refused.Reason)
	case err != nil:
		s.fail(w, r, err)
	default:
		s.flashBack(w, r, "/away", strings.ToUpper(res.Message[:1])+res.Message[1:]+".", "")
	}
}

// policyFor is the directory with the substitutions in force now in which
// user stands in for someone (none without Work).
func (s *server) policyFor(ctx context.Context, user string) *policy.Policy {
	if s.Work == nil {
		return s.Policy
	}
	subs, err := s.Work.Substitutes(ctx, user)
	if err != nil {
		s.log.Warnw("read substitutes", "error", err)
		return s.Policy
	}
	p := *s.Policy
	p.Substitutes = policy.InForceAt(subs, time.Now())
	return &p
}

// standsIn reports whether user stands in (under p's substitutions) for
// someone who is a candidate of t: the task's page is theirs to see.
func standsIn(p *policy.Policy, user string, t humantask.TaskView) bool {
	for _, sub := range p.Substitutes {
		if sub.Substitute == user && taskinbox.IsCandidate(p, sub.Principal, t) {
			return true
		}
	}
	return false
}

// taskWork is the task page's work part: the claim, the thread and the
// forms the user may use.
type taskWork struct {
	Enabled bool
	Claim   *humantask.Claim
	Mine    bool // the user holds the claim
	// MayClaim, MayRelease, MayPriority: the forms shown (the workflow
	// checks again).
	MayClaim, MayRelease, MayPriority, MayComment bool
	Comments                                      []humantask.Comment
	MaxComments                                   int
	Priority                                      string
	Priorities                                    []option
	FollowUp                                      *time.Time
	Deadline                                      string // for the follow-up field's max
}

func (s *server) taskWork(user string, t humantask.TaskView, mayAct bool) taskWork {
	set := s.Policy.TaskSettings()
	w := taskWork{Enabled: s.Work != nil && t.State == humantask.StateOpen, Claim: t.Claim, Comments: t.Comments,
		MaxComments: set.Comments.Max, Priority: policy.PriorityName(t.Priority), FollowUp: t.FollowUp,
		Deadline: t.Deadline.UTC().Format("2006-01-02T15:04")}
	w.Mine = t.Claim != nil && t.Claim.By == user
	w.MayClaim = mayAct && !w.Mine && (t.Claim == nil || !t.Claim.Exclusive)
	w.MayRelease = t.Claim != nil && (w.Mine || s.Policy.HoldsAny(user, set.Claims.ReleaseRoles))
	w.MayPriority = s.Policy.HoldsAny(user, set.Priority.SetRoles)
	w.MayComment = mayAct || taskinbox.IsCandidate(s.Policy, user, t)
	w.Priorities = choices(w.Priority, [][2]string{{"low", "Low"}, {"normal", "Normal"}, {"high", "High"}, {"urgent", "Urgent"}})
	return w
}

// plural is "1 task", "412 tasks".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// money writes an amount for people ("150,000.00"), "–" for none.
func money(v *float64) string {
	if v == nil {
		return "–"
	}
	return process.Money(*v)
}

// age is how long ago t was, roughly: "35m", "5h", "3d 4h".
func age(t, now time.Time) string {
	if t.IsZero() {
		return "–"
	}
	d := now.Sub(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", max(0, int(d.Minutes())))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	days := int(d.Hours()) / 24
	return fmt.Sprintf("%dd %dh", days, int(d.Hours())-24*days)
}

// since writes when a claim was made: the time today ("10:02"), else the
// day and time ("Dec 2 10:02"), in UTC.
func since(t *time.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	u := t.UTC()
	if u.Format(time.DateOnly) == now.UTC().Format(time.DateOnly) {
		return u.Format("15:04")
	}
	return u.Format("Jan 2 15:04")
}

// openSubject reads the open task's subject; false when it has answered
// already (the instance ended or the task closed: nothing left to what).
func (s *server) openSubject(w http.ResponseWriter, r *http.Request, wf, id, what string) (humantask.Subject, bool) {
	subject, err := s.Backend.Subject(r.Context(), wf, id)
	switch {
	case errors.Is(err, ErrNotFound):
		s.flashBack(w, r, "/", "", wf+" has ended: nothing left to "+what+".")
	case errors.Is(err, ErrTaskNotOpen):
		s.flashBack(w, r, "/", "", fmt.Sprintf("%s, task %s: no longer open, nothing left to %s.", wf, id, what))
	case err != nil:
		s.fail(w, r, err)
	default:
		return subject, true
	}
	return subject, false
}
