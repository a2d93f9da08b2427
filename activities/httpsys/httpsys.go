// Package httpsys is how Baton's activities reach their systems on the
// worker side: over HTTP, with an idempotency key per business step, errors
// classified (4xx: non-retryable, typed; 5xx and timeouts: retried), and
// heartbeats while a call is in flight. Workflow packages never import it.
package httpsys

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/process"
)

// Client calls one enterprise system over HTTP.
type Client struct {
	system string
	base   string
	http   *http.Client
}

// NewClient builds a client for system (used in error messages) at baseURL.
func NewClient(system, baseURL string, timeout time.Duration) *Client {
	return &Client{system: system, base: strings.TrimRight(baseURL, "/"), http: &http.Client{Timeout: timeout}}
}

// IdempotencyKey identifies the business step: the workflow ID (a process
// refuses to run under any ID but its input's business key), the activity
// ID (the workflow sets it to the step's name, with "#n" where a step
// legitimately repeats) and, for readable ledgers, the activity type. The
// run ID is left out on purpose: a reset, a retry or a re-run that repeats
// a step gets the first result instead of a second side effect.
func IdempotencyKey(ctx context.Context) string {
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.ID + "/" + info.ActivityID + "/" + info.ActivityType.Name
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Get reads (activities.System).
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// Post mutates, with an idempotency key (activities.System).
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, in, out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("encode request: "+err.Error(), activities.ErrInvalidInput, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if method != http.MethodGet && activity.IsActivity(ctx) {
		req.Header.Set("Idempotency-Key", IdempotencyKey(ctx))
	}
	stop := heartbeatWhile(ctx)
	resp, err := c.http.Do(req)
	stop()
	if err != nil {
		// Network errors and timeouts are transient: let Temporal retry.
		// Not the URL: its path may hold an applicant id or a policy number,
		// and worker logs print this message.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s %s: %w", c.system, method, route(path), err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var ae apiError
		_ = json.Unmarshal(data, &ae)
		se := process.SystemError{System: c.system, Code: ae.Code, Message: cmp.Or(ae.Message, strings.TrimSpace(string(data))), Status: resp.StatusCode}
		msg := fmt.Sprintf("%s: %s (HTTP %d)", c.system, cmp.Or(ae.Code, http.StatusText(resp.StatusCode)), resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			typ, ok := codeTypes[ae.Code]
			if !ok {
				typ = activities.ErrRefused
			}
			return temporal.NewNonRetryableApplicationError(msg, typ, nil, se)
		}
		// Transient: Temporal retries it. Only the status is in the message.
		return temporal.NewApplicationError(msg, activities.ErrUnavailable, se)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s: decode response: %w", c.system, err)
		}
	}
	return nil
}

// route is a request path without its identifiers: the first two segments
// ("/credit/scores/C-1001" -> "/credit/scores").
func route(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.SplitN(path, "/", 4)
	return strings.Join(parts[:min(len(parts), 3)], "/")
}

// heartbeatWhile heartbeats during a long call when the activity has a
// heartbeat timeout; the returned func stops it.
func heartbeatWhile(ctx context.Context) func() {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	hb := activity.GetInfo(ctx).HeartbeatTimeout
	if hb <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(hb / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// codeTypes maps the systems' error codes to application error types.
var codeTypes = map[string]string{
	"invalid_input":           activities.ErrInvalidInput,
	"missing_idempotency_key": activities.ErrInvalidInput,
	"not_found":               activities.ErrNotFound,
	"kyc_failed":              activities.ErrKYCFailed,
	"verification_failed":     activities.ErrVerificationFailed,
	"card_declined":           activities.ErrCardDeclined,
	"out_of_stock":            activities.ErrOutOfStock,
	"not_covered":             activities.ErrNotCovered,
}

// NewSet builds every activity struct against the systems at baseURL.
func NewSet(baseURL string, timeout time.Duration) activities.Set {
	c := func(system string) *Client { return NewClient(system, baseURL, timeout) }
	return activities.Set{
		Credit:     &activities.CreditBureau{C: c("credit bureau")},
		KYC:        &activities.KYC{C: c("kyc")},
		Loans:      &activities.LoanCore{C: c("loan core")},
		Payments:   &activities.Payments{C: c("payments")},
		Fraud:      &activities.Fraud{C: c("fraud screening")},
		Inventory:  &activities.Inventory{C: c("inventory")},
		Shipping:   &activities.Shipping{C: c("shipping")},
		HR:         &activities.HR{C: c("hr")},
		IT:         &activities.ITProvisioning{C: c("it provisioning")},
		Equipment:  &activities.Equipment{C: c("equipment")},
		Payroll:    &activities.Payroll{C: c("payroll")},
		Facilities: &activities.Facilities{C: c("facilities")},
		Mail:       &activities.Mail{C: c("mail")},
		Claims:     &activities.Claims{C: c("claims")},
	}
}
