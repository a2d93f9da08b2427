package humantask

// Case views: who opened a task's case file with its personal data, and
// when, in the instance's durable trail, without growing its history.
//
// The web inbox shows an instance's personal data (its input, decrypted
// with the codec) only to users eligible for the task, and only once the
// view is recorded. It sends the view-case update, signed as the trusted
// signer it is; the update's validator checks the view (the task, the
// viewer's eligibility, the signature) and always rejects it, so nothing
// enters history (a page view must not count against the instance's
// history or its signal and update limits). A view it would accept it
// rejects with the code ViewRecordable; the worker's interceptor around
// validators (worker/refusals.go) then writes a case-viewed entry to the
// audit store through the same path as the validator's refusals (keyed by
// the update ID, attested by the worker's key, so the anchoring's
// writer-only rule holds) and answers ViewRecorded. Without an audit store
// the inbox gets ViewRecordable and shows no personal data.

import (
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
)

// UpdateViewCase records a view of a task's case file (CaseView); it is
// always rejected, with ViewRecorded once the view is in the trail.
const UpdateViewCase = "view-case"

// Answers to a view-case update (its error type).
const (
	// ViewRecordable: the validator accepts the view; the worker records it.
	ViewRecordable = "view-recordable"
	// ViewRecorded: the view is in the audit store.
	ViewRecorded = "view-recorded"
	// ViewUnrecorded: the view could not be recorded (the store is down).
	ViewUnrecorded = "view-unrecorded"
)

// CaseView says that Actor opened the case file of task TaskID, shown its
// personal data, at At (RFC 3339, the signer's clock), as the trusted
// Signer that authenticated them vouches with Signature.
type CaseView struct {
	TaskID        string `json:"taskId"`
	Actor         string `json:"actor"`
	At            string `json:"at"`
	Signer        string `json:"signer"`
	Authenticated string `json:"authenticated,omitempty"`
	Signature     string `json:"signature"`
}

// ViewData is a case-viewed entry's data: the view as sent, signature
// included, and the task's subject, so an auditor can recompute
// ViewSigningBytes and check the signer's signature.
type ViewData struct {
	View    CaseView `json:"view"`
	Subject Subject  `json:"subject"`
}

// ViewSigningBytes is what a view's signature covers: the task's subject
// (run, task, occurrence), the viewer, the time, the signer and how it
// authenticated the viewer, one per line after the tag.
func ViewSigningBytes(s Subject, v CaseView) []byte {
	return []byte(strings.Join([]string{"baton-case-view/v1",
		s.WorkflowID, s.RunID, s.TaskID, strconv.Itoa(s.Occurrence), v.Actor, v.At, "signer:" + v.Signer, "authenticated:" + v.Authenticated}, "\n"))
}

// MaySeePersonal is who may see a task's personal data: its candidates
// (by role, by name, or by delegation while holding a role it delegates
// to), including those who decided it already, never one excluded from it.
func MaySeePersonal(p *policy.Policy, user string, t TaskView) bool {
	switch MayAct(p, user, t) {
	case "", RefusedAlreadyDecided:
		return true
	}
	return false
}

func (v CaseView) bounds() error {
	return CheckBounds(Bound{"taskId", v.TaskID, MaxNameBytes}, Bound{"actor", v.Actor, MaxNameBytes}, Bound{"at", v.At, MaxNameBytes},
		Bound{"signer", v.Signer, MaxNameBytes}, Bound{"authenticated", v.Authenticated, MaxTextBytes}, Bound{"signature", v.Signature, MaxSignatureBytes})
}

// registerViews registers the view-case update: its validator checks the
// view and answers ViewRecordable (or why not); its handler never runs.
func (m *Tasks) registerViews(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateViewCase,
		func(workflow.Context, CaseView) error { return nil },
		workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, v CaseView) error {
				t, err := m.checkView(v)
				if err != nil {
					return m.refusedUpdate(ctx, err)
				}
				// The entry's data travels to the worker's interceptor as
				// the answer's details.
				return temporal.NewApplicationError(fmt.Sprintf("the view of task %q by %s may be recorded", v.TaskID, v.Actor), ViewRecordable,
					ViewData{View: v, Subject: t.subject})
			},
			Description: "Record a view of a task's case file (always rejected: recorded in the audit store, not in history)",
		})
}

// checkView judges a view as the gate judges a decision: bounds, the task,
// the viewer's eligibility under the pinned policy with the worker's
// current directory laid over it, and the trusted signer's signature.
func (m *Tasks) checkView(v CaseView) (*task, error) {
	if err := v.bounds(); err != nil {
		return nil, refuse(RefusedTooLarge, "%v", err)
	}
	pol := m.rec.Policy()
	if pol == nil {
		return nil, refuse(RefusedStarting, "the process is starting")
	}
	if live := m.rec.CurrentDirectory(v.Actor); live != nil {
		pol = Overlay(pol, live, v.Actor)
	}
	t := m.find(v.TaskID)
	if t == nil {
		return nil, refuse(RefusedUnknownTask, "task %q: unknown task", v.TaskID)
	}
	if _, ok := pol.Users[v.Actor]; !ok {
		return nil, refuse(RefusedInvalid, "actor: %q is not in the directory", v.Actor)
	}
	if !MaySeePersonal(pol, v.Actor, t.view()) {
		return nil, refuse(RefusedNoRole, "%s may not see the case file of task %q", v.Actor, v.TaskID)
	}
	s, trusted := pol.Signers[v.Signer]
	if !trusted {
		return nil, refuse(RefusedSignature, "signature: signer %q is not trusted", v.Signer)
	}
	if err := VerifySignerSignature(v.Signer, v.Actor, s, ViewSigningBytes(t.subject, v), v.Signature); err != nil {
		return nil, refuse(RefusedSignature, "%v", err)
	}
	return t, nil
}
