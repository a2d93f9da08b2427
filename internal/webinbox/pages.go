package webinbox

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/gorilla/csrf"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/charts"
	"github.com/batonhq/baton/internal/signing"
	"github.com/batonhq/baton/internal/taskinbox"
)

//go:embed templates/*.html templates/style.css
var files embed.FS

// pages are the parsed templates, one set per page over the layout.
type pages struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"due":     func(t, now time.Time) string { return taskinbox.Due(t, now, "overdue") },
	"taskURL": taskURL,
	"join":    strings.Join,
	"dur":     charts.Duration,
	"pct":     func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) },
	// The list's (work.go).
	"plural": plural, "money": money, "age": age, "since": since, "pageSize": func() int { return pageSize },
}

// taskURL is a task page's path: workflow and task ids only.
func taskURL(wf, task string) string {
	return "/tasks/" + url.PathEscape(wf) + "/" + url.PathEscape(task)
}

func newPages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"login", "tasks", "task", "error", "insight", "bulk", "away"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/work.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	http.ServeFileFS(w, r, files, "templates/style.css")
}

// view is what every page gets: who is signed in, the banner, the flash
// messages and the CSRF field for its forms.
type view struct {
	Title      string
	User       string
	UserName   string
	Authn      string
	DevSignIn  bool
	CSRF       template.HTML
	Flash      string
	FlashError string
	// Insight shows the link to the insight pages (the user may see them).
	Insight bool
	Data    any
}

type loginData struct {
	OIDC  bool
	Users []userOption
	Error string
}

type userOption struct{ ID, Label string }

type errorData struct{ Title, Message string }

func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	ctx := r.Context()
	v := view{DevSignIn: s.DevSignIn, CSRF: csrf.TemplateField(r), Data: data}
	if user := s.sessions.GetString(ctx, keyUser); user != "" {
		v.User, v.UserName, v.Authn = user, s.Policy.Users[user].Name, s.sessions.GetString(ctx, keyAuthn)
		v.Insight = s.Policy.MaySeeInsight(user)
		v.Flash, v.FlashError = s.sessions.PopString(ctx, keyFlash), s.sessions.PopString(ctx, keyFlashE)
	}
	switch d := data.(type) {
	case loginData:
		v.Title = "Sign in"
	case listData:
		v.Title = "My tasks"
	case bulkData:
		v.Title = "Decided in bulk"
	case awayData:
		v.Title = "While you are away"
	case taskData:
		v.Title = d.Task.Title
	case errorData:
		v.Title = d.Title
	case insightData:
		v.Title = "Insight: " + d.Title
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.pages.byName[name].Execute(w, v); err != nil {
		s.log.Errorw("render", "page", name, "error", err)
	}
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	d := loginData{OIDC: s.OIDC != nil}
	if s.DevSignIn {
		for _, id := range slices.Sorted(maps.Keys(s.Policy.Users)) {
			u := s.Policy.Users[id]
			d.Users = append(d.Users, userOption{ID: id, Label: fmt.Sprintf("%s (%s: %s)", u.Name, id, strings.Join(u.Roles, ", "))})
		}
	}
	s.render(w, r, http.StatusOK, "login", d)
}

type taskData struct {
	Instance   *Instance
	Task       humantask.TaskView
	Facts      [][2]string
	Now        time.Time
	Open       bool
	MayAct     bool
	DelegateTo []userOption
	// Work is the claim, thread, priority and follow-up part (work.html).
	Work taskWork
}

// taskPage shows one task to its candidates (by role or by name, whether
// or not they may still act); to anyone else it does not exist.
func (s *server) taskPage(w http.ResponseWriter, r *http.Request, user string) {
	wf, id := r.PathValue("workflow"), r.PathValue("task")
	in, err := s.Backend.Instance(r.Context(), wf)
	if errors.Is(err, ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, ok := in.Task(id)
	pol := s.policyFor(r.Context(), user)
	if !ok || !taskinbox.IsCandidate(s.Policy, user, t) && !standsIn(pol, user, t) {
		s.notFound(w, r)
		return
	}
	d := taskData{Instance: in, Task: t, Now: time.Now(), Open: t.State == humantask.StateOpen, MayAct: humantask.MayAct(pol, user, t) == ""}
	d.Work = s.taskWork(user, t, d.MayAct)
	for _, k := range slices.Sorted(maps.Keys(in.Status.Facts)) {
		d.Facts = append(d.Facts, [2]string{k, in.Status.Facts[k]})
	}
	d.DelegateTo = s.delegates(user, t)
	s.render(w, r, http.StatusOK, "task", d)
}

// delegates are the users a task may be handed to: holders of a candidate
// role (anyone in the directory for a task named to people), not the user,
// not excluded, not having decided it.
func (s *server) delegates(user string, t humantask.TaskView) []userOption {
	var out []userOption
	for _, id := range slices.Sorted(maps.Keys(s.Policy.Users)) {
		if id == user || slices.ContainsFunc(t.Exclusions, func(e humantask.Exclusion) bool { return e.User == id }) ||
			slices.ContainsFunc(t.Votes, func(v audit.Vote) bool { return v.Actor == id }) {
			continue
		}
		if len(t.Roles) > 0 && !slices.ContainsFunc(t.Roles, func(role string) bool { return s.Policy.HasRole(id, role) }) {
			continue
		}
		out = append(out, userOption{ID: id, Label: s.Policy.Users[id].Name + " (" + id + ")"})
	}
	return out
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "error", errorData{Title: "No such task", Message: "This task does not exist, has ended, or is not yours to see."})
}

// decide sends the signed-in user's decision. The actor is always the
// session's user: nothing in the form can change it.
func (s *server) decide(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	wf, id := r.PathValue("workflow"), r.PathValue("task")
	back := taskURL(wf, id)
	d := humantask.Decision{TaskID: id, Verdict: r.PostFormValue("verdict"), Actor: user, Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	switch d.Verdict {
	case humantask.Approve:
	case humantask.Reject:
		if d.Comment == "" {
			s.flashBack(w, r, back, "", "A reason is required to reject.")
			return
		}
	case humantask.Delegate:
		if d.DelegateTo = r.PostFormValue("delegateTo"); d.DelegateTo == "" {
			s.flashBack(w, r, back, "", "Pick the person to delegate to.")
			return
		}
	default:
		s.flashBack(w, r, back, "", "Choose approve, reject or delegate.")
		return
	}
	subject, err := s.Backend.Subject(ctx, wf, id)
	switch {
	case errors.Is(err, ErrNotFound):
		s.flashBack(w, r, "/", "", wf+" has ended: nothing left to decide.")
		return
	case errors.Is(err, ErrTaskNotOpen):
		s.flashBack(w, r, "/", "", fmt.Sprintf("%s, task %s: no longer open, nothing left to decide.", wf, id))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.sign(subject, s.sessions.GetString(ctx, keyAuthn), &d)
	res, err := s.Backend.Decide(ctx, subject, d)
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		s.flashBack(w, r, back, "", "Refused: "+refused.Reason)
	case errors.Is(err, ErrNotFound):
		s.flashBack(w, r, "/", "", wf+" has ended: nothing left to decide.")
	case err != nil:
		s.fail(w, r, err)
	default:
		s.flashBack(w, r, "/", fmt.Sprintf("%s, task %s: %s", wf, res.TaskID, res.Message), "")
	}
}

// sign signs d over its task's subject as the inbox on behalf of its
// actor, recording how the actor was authenticated. Every decision the
// inbox sends passes here.
func (s *server) sign(subject humantask.Subject, authn string, d *humantask.Decision) {
	signing.SignAsSigner(s.Key, s.Signer, authn, subject, d)
}

func (s *server) flashBack(w http.ResponseWriter, r *http.Request, to, ok, bad string) {
	if ok != "" {
		s.sessions.Put(r.Context(), keyFlash, ok)
	}
	if bad != "" {
		s.sessions.Put(r.Context(), keyFlashE, bad)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
