package activities

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
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

// get reads; post mutates with an idempotency key.
func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, in, out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("encode request: "+err.Error(), ErrInvalidInput, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, err)
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
		return fmt.Errorf("%s %s %s: %w", c.system, method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var ae apiError
		_ = json.Unmarshal(data, &ae)
		msg := fmt.Sprintf("%s: %s (HTTP %d)", c.system, cmp.Or(ae.Message, strings.TrimSpace(string(data))), resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			typ, ok := codeTypes[ae.Code]
			if !ok {
				typ = ErrRefused
			}
			return temporal.NewNonRetryableApplicationError(msg, typ, nil, ae)
		}
		return errors.New(msg)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s: decode response: %w", c.system, err)
		}
	}
	return nil
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
