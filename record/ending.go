package record

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// Stop is how a customer's message (withdraw, cancel) asked the instance
// to end: its outcome and the reason people read (see EndOn, Stopped).
type Stop struct {
	Outcome string
	Reason  string
}

// Request is the payload of a message that ends an instance (withdraw,
// cancel), sent as an update of that name (answered: accepted or refused
// with the reason) or as a signal (a refusal is audited).
type Request struct {
	// By is who asks: the instance's owner (applicant, customer) or a
	// holder of a role the policy names for this message. Required.
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// Signature is an Ed25519 signature (base64) of By over
	// RequestSigningBytes; required when the policy requires signed
	// decisions.
	Signature string `json:"signature,omitempty"`
}

// RequestSigningBytes is what a request's signature covers: the run, the
// message and every field.
func RequestSigningBytes(workflowID, runID, name string, req Request) []byte {
	return []byte(strings.Join([]string{"baton-request/v1", workflowID, runID, name, req.By, req.Reason}, "\n"))
}

// Requesters say who may send a message that ends an instance.
type Requesters struct {
	// Owner is the applicant or customer.
	Owner string
	// Roles returns the roles the (pinned) policy names for the message.
	Roles func() []string
}

// Refusal codes of requests beyond humantask's.
const RefusedTooLate = "too-late"

// EndOn listens for the message name (withdraw, cancel) as an update and
// as a signal. While allowed() holds, the first one from an authorised
// requester is audited as requested with its requester, and the instance
// is to end with outcome and the reason "<verb> by <requester>" (see
// Stopped); anything else is refused: as an update with the reason, as a
// signal in the audit trail (capped, see AuditRefused).
func (r *Record) EndOn(ctx workflow.Context, name string, who Requesters, allowed func() bool, outcome, verb string) {
	accept := func(ctx workflow.Context, req Request) string {
		r.stop = &Stop{Outcome: outcome, Reason: verb + " by " + req.By + suffix(req.Reason)}
		r.Audit(ctx, req.By, audit.ActionRequested, "", name+suffix(req.Reason))
		return name + " accepted: the instance ends as " + outcome
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, req Request) (string, error) {
			if err := r.checkRequestLive(ctx, name, who, allowed, req); err != nil {
				return "", err
			}
			return accept(ctx, req), nil
		},
		workflow.UpdateHandlerOptions{
			Validator: func(_ workflow.Context, req Request) error {
				return r.checkRequest(name, who, allowed, req, r.policy)
			},
			Description: name + " the instance (answered: accepted, or refused with the reason)",
		})
	if err != nil {
		r.log.Error("update handler not registered", "Update", name, "Error", err)
	}
	ch := workflow.GetSignalChannel(ctx, name)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var req Request
			if !ch.Receive(ctx, &req) {
				return
			}
			if err := r.checkRequestLive(ctx, name, who, allowed, req); err != nil {
				by := humantask.ActorOrUnknown(humantask.Clip(req.By, humantask.MaxNameBytes))
				msg := err.Error()
				var ae *temporal.ApplicationError
				if errors.As(err, &ae) {
					msg = ae.Message()
				}
				r.AuditRefused(ctx, by, audit.ActionRequestRefused, "", name+" refused: "+msg, humantask.How{})
				continue
			}
			accept(ctx, req)
		}
	})
}

// requestRefusal is a refused request as the update's error.
func requestRefusal(code, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), code)
}

// checkRequest decides whether req may end the instance under pol.
func (r *Record) checkRequest(name string, who Requesters, allowed func() bool, req Request, pol *policy.Policy) error {
	if err := humantask.CheckBounds(
		humantask.Bound{Name: "by", Value: req.By, Max: humantask.MaxNameBytes},
		humantask.Bound{Name: "reason", Value: req.Reason, Max: humantask.MaxTextBytes},
		humantask.Bound{Name: "signature", Value: req.Signature, Max: humantask.MaxSignatureBytes}); err != nil {
		return requestRefusal(humantask.RefusedTooLarge, "%v", err)
	}
	if pol == nil {
		return requestRefusal(humantask.RefusedStarting, "the instance is starting; try again")
	}
	var roles []string
	if who.Roles != nil {
		roles = who.Roles()
	}
	if req.By == "" {
		return requestRefusal(humantask.RefusedInvalid, "by: required (%s)", mayAsk(who.Owner, roles))
	}
	if !allowed() || r.stop != nil || r.ending {
		return requestRefusal(RefusedTooLate, "too late")
	}
	if req.By != who.Owner && !slices.ContainsFunc(roles, func(role string) bool { return pol.HasRole(req.By, role) }) {
		return requestRefusal(humantask.RefusedNoRole, "by: %s may not %s this instance (%s)", req.By, name, mayAsk(who.Owner, roles))
	}
	if req.Signature == "" && !pol.RequireSignedDecisions {
		return nil
	}
	if req.Signature == "" {
		return requestRefusal(humantask.RefusedSignature, "signature: the policy requires signed requests")
	}
	u, ok := pol.Users[req.By]
	if !ok {
		return requestRefusal(humantask.RefusedSignature, "signature: %s has no public key in the directory", req.By)
	}
	info := r.execution
	if err := humantask.VerifySignature(req.By, u, RequestSigningBytes(info.ID, info.RunID, name, req), req.Signature); err != nil {
		return requestRefusal(humantask.RefusedSignature, "%v", err)
	}
	return nil
}

// checkRequestLive checks req once, under the pinned policy with the
// worker's live directory entry of the requester laid over it (read first,
// a recorded local activity) when the requester is a user of the
// directory; the owner (a customer) is not, and is checked as pinned.
func (r *Record) checkRequestLive(ctx workflow.Context, name string, who Requesters, allowed func() bool, req Request) error {
	pol := r.policy
	if _, inDirectory := r.directoryUser(req.By); inDirectory && len(req.By) <= humantask.MaxNameBytes {
		live, err := r.LiveDirectory(ctx, req.By)
		if err != nil {
			return requestRefusal(humantask.RefusedUnavailable, "the directory could not be read: %v", err)
		}
		pol = humantask.Overlay(pol, live, req.By)
	}
	return r.checkRequest(name, who, allowed, req, pol)
}

func mayAsk(owner string, roles []string) string {
	s := "the owner " + owner
	if len(roles) > 0 {
		s += ", or a holder of role " + strings.Join(roles, " or ")
	}
	return s
}

// Stopped returns the ending a message asked for, or nil. Once the instance
// is ending (Finish or Fail began), it is nil: nothing interrupts the end.
func (r *Record) Stopped() *Stop {
	if r.ending {
		return nil
	}
	return r.stop
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// directoryUser is the pinned directory's entry of user (none before the
// policy is pinned).
func (r *Record) directoryUser(user string) (policy.User, bool) {
	if r.policy == nil {
		return policy.User{}, false
	}
	u, ok := r.policy.Users[user]
	return u, ok
}
