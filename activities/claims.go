package activities

import (
	"context"
	"net/url"
)

// ---- Insurance: the claims system (policy administration, triage,
// reserves, settlements); payouts go through Payments ----

// Claims calls the claims system.
type Claims struct{ C System }

// CoverageInput asks whether a policy covers a kind of loss.
type CoverageInput struct {
	PolicyNumber string `json:"policyNumber"`
	Kind         string `json:"kind"`
}

// CoverageResult is a covering policy's terms; a policy that does not cover
// the loss is an ErrNotCovered error.
type CoverageResult struct {
	Holder     string  `json:"holder"`
	Deductible float64 `json:"deductible"`
	Limit      float64 `json:"limit"`
}

// CheckCoverage reads the policy's terms for the kind of loss.
func (a *Claims) CheckCoverage(ctx context.Context, in CoverageInput) (*CoverageResult, error) {
	var out CoverageResult
	err := a.C.Get(ctx, "/claims/coverage/"+url.PathEscape(in.PolicyNumber)+"?kind="+url.QueryEscape(in.Kind), &out)
	return &out, err
}

// TriageInput is the claim as triage sees it.
type TriageInput struct {
	ClaimID      string  `json:"claimId"`
	PolicyNumber string  `json:"policyNumber"`
	Claimant     string  `json:"claimant"`
	Kind         string  `json:"kind"`
	Amount       float64 `json:"amount"`
}

// TriageResult is the claim's risk score (0..100) and why.
type TriageResult struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
}

// TriageClaim scores the claim.
func (a *Claims) TriageClaim(ctx context.Context, in TriageInput) (*TriageResult, error) {
	var out TriageResult
	err := a.C.Post(ctx, "/claims/triage", in, &out)
	return &out, err
}

// ClaimReserveInput sets money aside for a claim.
type ClaimReserveInput struct {
	ClaimID string  `json:"claimId"`
	Amount  float64 `json:"amount"`
}

// ClaimReserveResult identifies the reserve.
type ClaimReserveResult struct {
	ReserveID string `json:"reserveId"`
}

// OpenReserve sets the claim's reserve.
func (a *Claims) OpenReserve(ctx context.Context, in ClaimReserveInput) (*ClaimReserveResult, error) {
	var out ClaimReserveResult
	err := a.C.Post(ctx, "/claims/reserves", in, &out)
	return &out, err
}

// ReleaseReserve gives a reserve back (compensation).
func (a *Claims) ReleaseReserve(ctx context.Context, in ClaimReserveResult) error {
	return a.C.Post(ctx, "/claims/reserves/"+url.PathEscape(in.ReserveID)+"/release", struct{}{}, nil)
}

// SettleInput closes a claim with its payout.
type SettleInput struct {
	ClaimID   string `json:"claimId"`
	ReserveID string `json:"reserveId"`
	PayoutID  string `json:"payoutId"`
}

// SettleResult identifies the settlement.
type SettleResult struct {
	SettlementID string `json:"settlementId"`
}

// SettleClaim closes the claim file.
func (a *Claims) SettleClaim(ctx context.Context, in SettleInput) (*SettleResult, error) {
	var out SettleResult
	err := a.C.Post(ctx, "/claims/settlements", in, &out)
	return &out, err
}
