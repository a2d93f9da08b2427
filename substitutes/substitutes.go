// Package substitutes keeps the directory's time-bounded substitutes: who
// decides for whom while they are away ("ben for ana, away 2026-12-20 to
// 2027-01-04"). A substitution is cross-instance state, so it lives in one
// long-running workflow per namespace (WorkflowID), which takes signed
// requests through the update "substitute" (set or end), judges them
// against the worker's live directory (who may set one: the user for
// themselves, or a holder of a role of the policy's
// tasks.substitutes.setRoles), writes every one it accepts or refuses to
// its own audit trail in the durable store, and ends each substitution by
// itself when its window closes. The store's read model keeps the
// substitutions in force (auditstore inbox_substitutes); an instance's
// gate reads them through the live-directory local activity, recorded, and
// honours one only inside its window, in workflow time (humantask).
//
// Everything here is workflow code: deterministic, replay-safe.
package substitutes

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// Names that cross the wire.
const (
	// WorkflowID is the one substitutes workflow of a namespace.
	WorkflowID = "baton-substitutes"
	// WorkflowType is its type, registered by every worker.
	WorkflowType = "BatonSubstitutes"
	// UpdateSubstitute takes a Request and answers synchronously.
	UpdateSubstitute = "substitute"
	// QueryList answers the substitutions not yet ended.
	QueryList = "substitutes"
	// Process names the workflow's trail in the audit store.
	Process = "substitutes"
)

// Operations of a request.
const (
	OpSet = "set"
	OpEnd = "end"
)

// Request sets or ends a substitution.
type Request struct {
	Op string `json:"op"`
	// ID names the substitution: new for a set (the client makes it up),
	// the one to end for an end. A signature covers it, so a captured
	// request cannot set another substitution.
	ID         string   `json:"id"`
	Principal  string   `json:"principal,omitempty"`
	Substitute string   `json:"substitute,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	// From and Until are RFC 3339 times (a set).
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
	// Actor is who asks; Signature (and Signer, Authenticated) as a
	// decision's, over SigningBytes.
	Actor         string `json:"actor"`
	Signature     string `json:"signature,omitempty"`
	Signer        string `json:"signer,omitempty"`
	Authenticated string `json:"authenticated,omitempty"`
}

// Result answers an accepted request.
type Result struct {
	Substitute policy.Substitute `json:"substitute"`
	Message    string            `json:"message"`
}

// State is what a run hands to the next (continue-as-new).
type State struct {
	// Active are the substitutions not yet ended.
	Active []policy.Substitute `json:"active,omitempty"`
	// Ended are the ids of ended substitutions whose window has not
	// passed: a replayed request cannot set them again.
	Ended []Ended `json:"ended,omitempty"`
}

// Ended is an ended substitution's id and the end of its window.
type Ended struct {
	ID    string    `json:"id"`
	Until time.Time `json:"until"`
}

// SigningBytes is what a request's signature covers.
func SigningBytes(r Request) []byte {
	fields := []string{"baton-substitute/v1", WorkflowID, r.Op, r.ID, r.Principal, r.Substitute,
		strings.Join(r.Roles, ","), r.From, r.Until, r.Actor}
	if r.Signer != "" {
		fields = append(fields, "signer:"+r.Signer, "authenticated:"+r.Authenticated)
	}
	return []byte(strings.Join(fields, "\n"))
}

// Bounds of a request's fields.
const maxRoles = 20

func (r Request) bounds() error {
	fields := []humantask.Bound{
		{Name: "op", Value: r.Op, Max: humantask.MaxNameBytes}, {Name: "id", Value: r.ID, Max: humantask.MaxNameBytes},
		{Name: "principal", Value: r.Principal, Max: humantask.MaxNameBytes}, {Name: "substitute", Value: r.Substitute, Max: humantask.MaxNameBytes},
		{Name: "from", Value: r.From, Max: humantask.MaxNameBytes}, {Name: "until", Value: r.Until, Max: humantask.MaxNameBytes},
		{Name: "actor", Value: r.Actor, Max: humantask.MaxNameBytes}, {Name: "signature", Value: r.Signature, Max: humantask.MaxSignatureBytes},
		{Name: "signer", Value: r.Signer, Max: humantask.MaxNameBytes}, {Name: "authenticated", Value: r.Authenticated, Max: humantask.MaxTextBytes},
	}
	if len(r.Roles) > maxRoles {
		return fmt.Errorf("roles: %d, at most %d", len(r.Roles), maxRoles)
	}
	for _, role := range r.Roles {
		fields = append(fields, humantask.Bound{Name: "roles", Value: role, Max: humantask.MaxNameBytes})
	}
	return humantask.CheckBounds(fields...)
}

// keeper is a run's state.
type keeper struct {
	settings record.Settings
	active   []policy.Substitute
	ended    []Ended
	cancels  map[string]workflow.CancelFunc
	trail    []audit.Entry
	sent     int
	inFlight bool
	broken   bool
}

// Workflow is the substitutes workflow for a worker's settings (its live
// directory, in memory, for the validator).
func Workflow(s record.Settings) func(ctx workflow.Context, st State) error {
	return func(ctx workflow.Context, st State) error {
		k := &keeper{settings: s, active: st.Active, ended: st.Ended, cancels: map[string]workflow.CancelFunc{}}
		return k.run(ctx)
	}
}

func (k *keeper) run(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryList, func() ([]policy.Substitute, error) { return k.active, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateSubstitute,
		func(ctx workflow.Context, r Request) (Result, error) {
			live, err := k.liveDirectory(ctx, r)
			if err == nil {
				var sub policy.Substitute
				if sub, err = k.check(ctx, r, live); err == nil {
					return k.apply(ctx, r, sub, live), nil
				}
			}
			k.audit(ctx, humantask.ActorOrUnknown(humantask.Clip(r.Actor, humantask.MaxNameBytes)), audit.ActionSubstituteRefused,
				fmt.Sprintf("%s refused: %s", humantask.Clip(r.Op, humantask.MaxNameBytes), humantask.Clip(err.Error(), humantask.MaxTextBytes)), "", nil, "")
			return Result{}, temporal.NewApplicationError(err.Error(), "refused")
		},
		workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, r Request) error {
				if k.settings.Directory == nil {
					return nil // no directory in memory: the handler judges
				}
				if _, err := k.check(ctx, r, k.settings.Directory(r.Actor, r.Principal, r.Substitute)); err != nil {
					return temporal.NewApplicationError(err.Error(), "refused")
				}
				return nil
			},
			Description: "Set or end a substitute: who decides for whom while they are away",
		})
	if err != nil {
		return err
	}
	workflow.Go(ctx, k.runSink)
	for _, s := range k.active {
		k.watch(ctx, s)
	}
	// Continue as new once history grows long, at a quiet moment.
	if err := workflow.Await(ctx, func() bool {
		return workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx) && k.drained()
	}); err != nil {
		return err // cancelled
	}
	for _, cancel := range k.cancels {
		cancel()
	}
	return workflow.NewContinueAsNewError(ctx, WorkflowType, State{Active: k.active, Ended: k.ended})
}

// liveDirectory reads the worker's current entries of the request's users,
// with its tasks settings, through the recorded local activity.
func (k *keeper) liveDirectory(ctx workflow.Context, r Request) (*policy.Policy, error) {
	if err := r.bounds(); err != nil {
		return nil, err
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var live policy.Policy
	if err := workflow.ExecuteLocalActivity(lctx, record.ActivityDirectory, []string{r.Actor, r.Principal, r.Substitute}).Get(ctx, &live); err != nil {
		return nil, fmt.Errorf("the directory could not be read: %v", err)
	}
	return &live, nil
}

// check is the one check of a request under the live directory pol, at
// workflow time: bounds, the actor and their signature, then who may set
// or end the substitution and its window.
func (k *keeper) check(ctx workflow.Context, r Request, pol *policy.Policy) (policy.Substitute, error) {
	var s policy.Substitute
	if err := r.bounds(); err != nil {
		return s, err
	}
	if r.Actor == "" {
		return s, fmt.Errorf("actor: required")
	}
	if r.ID == "" {
		return s, fmt.Errorf("id: required")
	}
	if pol == nil {
		return s, fmt.Errorf("the directory could not be read")
	}
	if _, ok := pol.Users[r.Actor]; !ok {
		return s, fmt.Errorf("actor: %q is not in the directory", r.Actor)
	}
	if err := humantask.VerifySigned(pol, r.Actor, r.Signer, r.Signature, SigningBytes(r)); err != nil {
		return s, err
	}
	set := pol.TaskSettings().Substitutes
	now := workflow.Now(ctx).UTC()
	switch r.Op {
	case OpEnd:
		i := slices.IndexFunc(k.active, func(a policy.Substitute) bool { return a.ID == r.ID })
		if i < 0 {
			return s, fmt.Errorf("id: no substitution %q is in force or to come", r.ID)
		}
		s = k.active[i]
		if r.Actor != s.Principal && r.Actor != s.Substitute && r.Actor != s.SetBy && !pol.HoldsAny(r.Actor, set.SetRoles) {
			return s, fmt.Errorf("%s may not end %s: only %s, %s, %s%s may", r.Actor, s.Text(), s.Principal, s.Substitute, s.SetBy, rolesText(set.SetRoles))
		}
		return s, nil
	case OpSet:
	default:
		return s, fmt.Errorf("op: %q is not one of set, end", r.Op)
	}
	if i := slices.IndexFunc(k.active, func(a policy.Substitute) bool { return a.ID == r.ID }); i >= 0 {
		return s, fmt.Errorf("id: %q is already set (%s)", r.ID, k.active[i].Text())
	}
	if slices.ContainsFunc(k.ended, func(e Ended) bool { return e.ID == r.ID }) {
		return s, fmt.Errorf("id: %q has ended and cannot be set again", r.ID)
	}
	pu, ok := pol.Users[r.Principal]
	if !ok {
		return s, fmt.Errorf("principal: %q is not in the directory", r.Principal)
	}
	if _, ok := pol.Users[r.Substitute]; !ok {
		return s, fmt.Errorf("substitute: %q is not in the directory", r.Substitute)
	}
	if r.Substitute == r.Principal {
		return s, fmt.Errorf("substitute: %s cannot stand in for themselves", r.Principal)
	}
	if r.Actor != r.Principal && !pol.HoldsAny(r.Actor, set.SetRoles) {
		return s, fmt.Errorf("%s may not set a substitute for %s: only %s%s may (tasks.substitutes.setRoles)", r.Actor, r.Principal, r.Principal, rolesText(set.SetRoles))
	}
	for _, role := range r.Roles {
		if !slices.Contains(pu.Roles, role) {
			return s, fmt.Errorf("roles: %s does not hold role %s", r.Principal, role)
		}
	}
	from, err1 := time.Parse(time.RFC3339, r.From)
	until, err2 := time.Parse(time.RFC3339, r.Until)
	switch {
	case err1 != nil:
		return s, fmt.Errorf("from: %q is not a time such as 2026-12-20T00:00:00Z", r.From)
	case err2 != nil:
		return s, fmt.Errorf("until: %q is not a time such as 2027-01-04T00:00:00Z", r.Until)
	case !until.After(from):
		return s, fmt.Errorf("until: must be after from")
	case !until.After(now):
		return s, fmt.Errorf("until: %s has passed", until.UTC().Format(time.RFC3339))
	case until.Sub(from) > time.Duration(set.MaxDays)*24*time.Hour:
		return s, fmt.Errorf("until: a substitution lasts at most %d days (tasks.substitutes.maxDays)", set.MaxDays)
	}
	return policy.Substitute{ID: r.ID, Principal: r.Principal, Substitute: r.Substitute, Roles: slices.Clone(r.Roles),
		From: from.UTC(), Until: until.UTC(), SetBy: r.Actor}, nil
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	return " or role " + strings.Join(roles, " or ")
}

// apply records an accepted request.
func (k *keeper) apply(ctx workflow.Context, r Request, s policy.Substitute, live *policy.Policy) Result {
	if r.Op == OpEnd {
		k.end(s, workflow.Now(ctx))
		k.audit(ctx, r.Actor, audit.ActionSubstituteEnded, fmt.Sprintf("%s: ended by %s", s.Text(), r.Actor), r.Signature, s, live.Version)
		return Result{Substitute: s, Message: "ended: " + s.Text()}
	}
	k.active = append(k.active, s)
	roles := "all roles and the tasks named to " + s.Principal
	if len(s.Roles) > 0 {
		roles = "role " + strings.Join(s.Roles, ", ")
	}
	k.audit(ctx, r.Actor, audit.ActionSubstituteSet, fmt.Sprintf("%s (%s), set by %s", s.Text(), roles, r.Actor), r.Signature, s, live.Version)
	k.watch(ctx, s)
	return Result{Substitute: s, Message: "set: " + s.Text()}
}

// watch ends s by itself when its window closes.
func (k *keeper) watch(ctx workflow.Context, s policy.Substitute) {
	wctx, cancel := workflow.WithCancel(ctx)
	k.cancels[s.ID] = cancel
	workflow.Go(wctx, func(ctx workflow.Context) {
		wait := s.Until.Sub(workflow.Now(ctx))
		if wait > 0 {
			if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: "substitute ends: " + s.ID}).Get(ctx, nil); err != nil {
				return
			}
		}
		if !slices.ContainsFunc(k.active, func(a policy.Substitute) bool { return a.ID == s.ID }) {
			return
		}
		k.end(s, workflow.Now(ctx))
		k.audit(ctx, audit.SystemActor, audit.ActionSubstituteEnded, s.Text()+": ended by itself", "", s, "")
	})
}

// end removes s from the active ones and remembers its id until its
// window has passed.
func (k *keeper) end(s policy.Substitute, now time.Time) {
	k.active = slices.DeleteFunc(k.active, func(a policy.Substitute) bool { return a.ID == s.ID })
	if cancel := k.cancels[s.ID]; cancel != nil {
		cancel()
		delete(k.cancels, s.ID)
	}
	k.ended = slices.DeleteFunc(k.ended, func(e Ended) bool { return !e.Until.After(now) })
	if s.Until.After(now) {
		k.ended = append(k.ended, Ended{ID: s.ID, Until: s.Until})
	}
}

// audit appends an entry to the workflow's trail (data: the substitution).
func (k *keeper) audit(ctx workflow.Context, actor, action, details, signature string, data any, version string) {
	info := workflow.GetInfo(ctx)
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	k.trail = append(k.trail, audit.Entry{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Seq: int64(len(k.trail) + 1),
		EventID: int64(info.GetCurrentHistoryLength()), Process: Process, BusinessKey: info.WorkflowExecution.ID,
		Time: workflow.Now(ctx).UTC(), Actor: actor, Action: action, Details: details, Via: "update", Signature: signature,
		PolicyVersion: version, Source: audit.SourceWorkflow, Data: raw,
	})
}

// runSink writes the trail to the audit store (as the record's writer
// does): one batch in flight, retried until the store answers.
func (k *keeper) runSink(ctx workflow.Context) {
	if k.settings.Audit == record.AuditOff {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		NonRetryableErrorTypes: []string{record.ErrAuditConflict, record.ErrAuditInvalid}}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: retry})
	for {
		_ = workflow.Await(ctx, func() bool { return len(k.trail) > k.sent })
		batch := slices.Clone(k.trail[k.sent:])
		k.inFlight = true
		err := workflow.ExecuteLocalActivity(lctx, record.ActivityAppendAudit, record.AppendAuditInput{Entries: batch}).Get(ctx, nil)
		k.inFlight = false
		if err != nil {
			workflow.GetLogger(ctx).Error("audit store refused the substitutes trail; further entries are not written", "Error", err)
			k.broken = true
			return
		}
		k.sent += len(batch)
	}
}

// drained reports whether every entry is in the store (or the store
// refused them for good).
func (k *keeper) drained() bool {
	return k.broken || k.settings.Audit == record.AuditOff || (!k.inFlight && k.sent == len(k.trail))
}
