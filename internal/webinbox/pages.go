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
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/batonhq/baton/audit"

	"github.com/gorilla/csrf"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/charts"
	"github.com/batonhq/baton/internal/signing"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/process"
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
	Instance *Instance
	Task     humantask.TaskView
	// Process is the process's title ("Insurance claim").
	Process string
	// Case is the case file: the process's sections of its input, personal
	// items only when Personal is "" (shown and recorded).
	Case []caseSection
	// Personal says why personal data is not shown ("": it is).
	Personal string
	// Facts are the systems' results and routing facts the process
	// recorded, formatted.
	Facts      [][2]string
	Votes      []voteRow
	Now        time.Time
	Open       bool
	MayAct     bool
	DelegateTo []userOption
	// Work is the claim, thread, priority and follow-up part (work.html).
	Work taskWork
	// Fields is the task's form as inputs, with the values sent and the
	// errors beside them after a refusal; Comment the comment sent.
	Fields       []formField
	Comment      string
	CommentError string
	FormError    string
}

// taskPage shows one task to its candidates (by role or by name, whether
// or not they may still act); to anyone else it does not exist.
func (s *server) taskPage(w http.ResponseWriter, r *http.Request, user string) {
	d, ok := s.taskData(w, r, user)
	if !ok {
		return
	}
	d.Fields = fieldsOf(d.Task, nil, nil)
	s.render(w, r, http.StatusOK, "task", d)
}

// taskData reads the task and builds its case file for user; false when
// it answered already (not found, failed).
func (s *server) taskData(w http.ResponseWriter, r *http.Request, user string) (taskData, bool) {
	wf, id := r.PathValue("workflow"), r.PathValue("task")
	in, err := s.Backend.Instance(r.Context(), wf)
	if errors.Is(err, ErrNotFound) {
		s.notFound(w, r)
		return taskData{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return taskData{}, false
	}
	t, ok := in.Task(id)
	pol := s.policyFor(r.Context(), user)
	if !ok || !taskinbox.IsCandidate(s.Policy, user, t) && !standsIn(pol, user, t) {
		s.notFound(w, r)
		return taskData{}, false
	}
	d := taskData{Instance: in, Task: t, Process: in.Status.Process, Now: time.Now(), Open: t.State == humantask.StateOpen, MayAct: humantask.MayAct(pol, user, t) == ""}
	d.Work = s.taskWork(user, t, d.MayAct)
	d.Facts = formatFacts(in.Status.Facts)
	d.Votes = s.votes(in.Tasks)
	d.DelegateTo = s.delegates(user, t)
	s.caseFile(r, user, &d)
	return d, true
}

// caseFile fills in the process's case file: its business items for every
// candidate, its personal items only for users who may see the task's
// personal data, once the view is recorded in the audit trail.
func (s *server) caseFile(r *http.Request, user string, d *taskData) {
	desc, ok := s.Catalog.Lookup(d.Instance.Status.Process)
	if !ok || desc.Case == nil {
		return
	}
	d.Process = desc.Title
	if desc.Currency != "" {
		for i, f := range d.Facts {
			if isAmount(f[0]) && f[1] != "" && f[1][0] >= '0' && f[1][0] <= '9' {
				d.Facts[i][1] = f[1] + " " + desc.Currency
			}
		}
	}
	input := desc.NewInput()
	if err := s.Backend.StartInput(r.Context(), d.Instance.WorkflowID, input); err != nil {
		s.log.Warnw("case file: start input", "workflow", d.Instance.WorkflowID, "error", err)
		d.Personal = "The case file could not be read just now; reload the page in a moment."
		return
	}
	showPersonal := false
	switch {
	case !humantask.MaySeePersonal(s.Policy, user, d.Task):
		d.Personal = "Personal details are shown only to the people who may decide this task."
	default:
		if err := s.recordView(r, user, d.Task); err != nil {
			s.log.Warnw("case file: view not recorded", "workflow", d.Instance.WorkflowID, "task", d.Task.ID, "error", err)
			d.Personal = "Personal details are hidden: your view of them could not be recorded in the audit trail just now. Reload the page in a moment."
		} else {
			showPersonal = true
		}
	}
	for _, sec := range desc.Case(input) {
		cs := caseSection{Title: sec.Title}
		for _, it := range sec.Items {
			row := caseRow{Label: it.Label, Value: it.Value, Personal: it.Personal}
			switch {
			case it.Personal && !showPersonal:
				row.Value, row.Hidden = "hidden", true
			case it.User:
				row.Value = s.userName(it.Value)
			}
			if row.Value == "" {
				row.Value = "—"
			}
			cs.Items = append(cs.Items, row)
		}
		d.Case = append(d.Case, cs)
	}
}

// recordView records that user opened the task's case file with its
// personal data: signed as the inbox, written by the worker (the view-case
// update), never shown before the trail has it.
func (s *server) recordView(r *http.Request, user string, t humantask.TaskView) error {
	v := humantask.CaseView{TaskID: t.ID, Actor: user, At: time.Now().UTC().Format(time.RFC3339)}
	signing.SignView(s.Key, s.Signer, s.sessions.GetString(r.Context(), keyAuthn), t.Subject, &v)
	return s.Backend.RecordView(r.Context(), t.Subject, v)
}

type caseSection struct {
	Title string
	Items []caseRow
}

type caseRow struct {
	Label, Value     string
	Personal, Hidden bool
}

// userName is a directory user as people read them: "Ana Alves (ana)".
func (s *server) userName(id string) string {
	if u, ok := s.Policy.Users[id]; ok && u.Name != "" {
		return u.Name + " (" + id + ")"
	}
	return id
}

// voteRow is an earlier decision as the case page shows it: on which task,
// by whom, what they entered and said.
type voteRow struct {
	Task, Who, Verdict, DelegateTo, Comment string
	At                                      time.Time
	Values                                  [][2]string
}

// votes are the decisions on every task of the instance so far, in the
// order the tasks opened: the second adjuster sees the assessment.
func (s *server) votes(tasks []humantask.TaskView) []voteRow {
	var out []voteRow
	for _, t := range tasks {
		out = append(out, s.taskVotes(t)...)
	}
	return out
}

func (s *server) taskVotes(t humantask.TaskView) []voteRow {
	var out []voteRow
	for _, v := range t.Votes {
		row := voteRow{Task: t.Title, Who: s.userName(v.Actor), Verdict: v.Verdict, Comment: v.Comment, At: v.At}
		if v.DelegateTo != "" {
			row.DelegateTo = s.userName(v.DelegateTo)
		}
		for _, f := range t.Form {
			if val, ok := v.Values[f.Name]; ok {
				row.Values = append(row.Values, [2]string{f.Label, f.Display(val)})
			}
		}
		out = append(out, row)
	}
	return out
}

// formatFacts writes the recorded facts for people: labels from their
// names, amounts with separators, in a stable order.
func formatFacts(facts map[string]string) [][2]string {
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(facts)) {
		v := facts[k]
		if isAmount(k) {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = process.Money(f)
			}
		}
		out = append(out, [2]string{label(k), v})
	}
	return out
}

func isAmount(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "amount") || strings.Contains(k, "deductible") || strings.Contains(k, "limit")
}

// label makes a fact's name readable: "riskScore" → "Risk score".
func label(key string) string {
	var b strings.Builder
	for i, c := range key {
		switch {
		case i == 0:
			b.WriteRune(unicode.ToUpper(c))
		case unicode.IsUpper(c):
			b.WriteByte(' ')
			b.WriteRune(unicode.ToLower(c))
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// formField is one field of the task's form as the page renders it.
type formField struct {
	humantask.Field
	ID, Value, Error string
	// Picked are a multi-choice's chosen options.
	Picked map[string]bool
	// Rules says what the field takes (bounds, length) in words.
	Rules string
}

// fieldsOf renders t's form: the values sent (or the proposed ones) and
// the errors beside their fields.
func fieldsOf(t humantask.TaskView, sent map[string]string, errs map[string]string) []formField {
	var out []formField
	for _, f := range t.Form {
		ff := formField{Field: f, ID: "f-" + f.Name, Error: errs[f.Name], Picked: map[string]bool{}}
		switch {
		case sent != nil:
			ff.Value = sent[f.Name]
		case t.Entered[f.Name] != "":
			ff.Value = t.Entered[f.Name]
		default:
			ff.Value = f.Default
		}
		if sent == nil && f.Type == humantask.FieldMoney && ff.Value != "" {
			// As people read amounts: "17,750.00" (the form takes it so).
			ff.Value = strings.TrimSuffix(f.Display(ff.Value), " "+f.Currency)
		}
		if f.Type == humantask.FieldMultiChoice {
			for _, p := range strings.Split(ff.Value, ",") {
				ff.Picked[strings.TrimSpace(p)] = true
			}
		}
		ff.Rules = fieldRules(f)
		out = append(out, ff)
	}
	return out
}

// fieldRules says a field's bounds for people ("0.01 to 49,750.00 EUR").
func fieldRules(f humantask.Field) string {
	switch f.Type {
	case humantask.FieldMoney, humantask.FieldInteger, humantask.FieldDecimal, humantask.FieldDate:
		switch {
		case f.Min != "" && f.Max != "":
			return f.Display(f.Min) + " to " + f.Display(f.Max)
		case f.Max != "":
			return "at most " + f.Display(f.Max)
		case f.Min != "":
			return "at least " + f.Display(f.Min)
		}
	case humantask.FieldText:
		if f.MaxLength > 0 {
			return fmt.Sprintf("up to %d characters", f.MaxLength)
		}
	}
	return ""
}

// formValues reads the form's fields from a posted decision: empty fields
// are left out, a multi-choice joins its boxes, an unchecked box is no.
func formValues(r *http.Request, t humantask.TaskView) map[string]string {
	values := map[string]string{}
	for _, f := range t.Form {
		key := "f-" + f.Name
		switch f.Type {
		case humantask.FieldMultiChoice:
			var picked []string
			for _, v := range r.PostForm[key] {
				if strings.TrimSpace(v) != "" {
					picked = append(picked, v)
				}
			}
			if len(picked) > 0 {
				values[f.Name] = strings.Join(picked, ",")
			}
		case humantask.FieldBoolean:
			if r.PostFormValue(key) != "" {
				values[f.Name] = "true"
			}
		default:
			if v := r.PostFormValue(key); strings.TrimSpace(v) != "" {
				values[f.Name] = v
			}
		}
	}
	return values
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
// session's user: nothing in the form can change it. A value the task's
// form refuses, or a rejection without a reason, shows the page again
// with the values kept and the error beside its field.
func (s *server) decide(w http.ResponseWriter, r *http.Request, user string) {
	ctx := r.Context()
	wf, id := r.PathValue("workflow"), r.PathValue("task")
	back := taskURL(wf, id)
	d := humantask.Decision{TaskID: id, Verdict: r.PostFormValue("verdict"), Actor: user, Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	switch d.Verdict {
	case humantask.Approve, humantask.Reject:
	case humantask.Delegate:
		if d.DelegateTo = r.PostFormValue("delegateTo"); d.DelegateTo == "" {
			s.flashBack(w, r, back, "", "Pick the person to delegate to.")
			return
		}
	default:
		s.flashBack(w, r, back, "", "Choose approve, reject or delegate.")
		return
	}
	in, err := s.Backend.Instance(ctx, wf)
	if errors.Is(err, ErrNotFound) {
		s.flashBack(w, r, "/", "", wf+" has ended: nothing left to decide.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, _ := in.Task(id)
	var sent map[string]string
	if d.Verdict != humantask.Delegate {
		sent = formValues(r, t)
		canon, err := t.Form.Check(d.Verdict, sent)
		var fe *humantask.FieldError
		switch {
		case errors.As(err, &fe):
			s.formAgain(w, r, user, sent, d.Comment, map[string]string{fe.Field: fe.Msg}, "")
			return
		case err != nil:
			s.formAgain(w, r, user, sent, d.Comment, nil, err.Error())
			return
		}
		d.Values = canon
		if d.Verdict == humantask.Reject && d.Comment == "" {
			s.formAgain(w, r, user, sent, d.Comment, map[string]string{"comment": "A reason is required to reject."}, "")
			return
		}
		if err := signing.SaltPersonal(t.Form, &d); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	subject, ok := s.openSubject(w, r, wf, id, "decide")
	if !ok {
		return
	}
	s.sign(subject, s.sessions.GetString(ctx, keyAuthn), &d)
	res, err := s.Backend.Decide(ctx, subject, d)
	var refused *RefusedError
	switch {
	case errors.As(err, &refused) && refused.Code == humantask.RefusedValue:
		field, msg, _ := strings.Cut(refused.Reason, ": ")
		s.formAgain(w, r, user, sent, d.Comment, map[string]string{field: msg}, "")
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

// formAgain shows the task page again after a refused value: what was
// sent kept, each error beside its field (a field the form does not
// declare, or no field, above the form).
func (s *server) formAgain(w http.ResponseWriter, r *http.Request, user string, sent map[string]string, comment string, errs map[string]string, formErr string) {
	d, ok := s.taskData(w, r, user)
	if !ok {
		return
	}
	d.Fields = fieldsOf(d.Task, sent, errs)
	d.Comment, d.CommentError, d.FormError = comment, errs["comment"], formErr
	for name, msg := range errs {
		if _, known := d.Task.Form.Field(name); !known && name != "comment" {
			d.FormError = name + ": " + msg
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "task", d)
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
