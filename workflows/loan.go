package workflows

import (
	"cmp"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/workflows/humantask"
)

// Loan outcomes beyond the shared ones.
const OutcomeWithdrawn = "withdrawn"

// LoanInput is a loan application.
type LoanInput struct {
	ApplicationID string  `json:"applicationId"`
	ApplicantID   string  `json:"applicantId"`
	Amount        float64 `json:"amount"`
	TermMonths    int     `json:"termMonths"`
	Purpose       string  `json:"purpose,omitempty"`
}

// Validate names the first bad field.
func (in LoanInput) Validate() error {
	if err := requireKey("applicationId", in.ApplicationID); err != nil {
		return err
	}
	if err := requireKey("applicantId", in.ApplicantID); err != nil {
		return err
	}
	if in.Amount <= 0 || in.Amount > 5_000_000 {
		return invalid("amount", "%v must be above 0 and at most 5,000,000", in.Amount)
	}
	if in.TermMonths < 6 || in.TermMonths > 360 {
		return invalid("termMonths", "%d must be between 6 and 360", in.TermMonths)
	}
	if len(in.Purpose) > 200 {
		return invalid("purpose", "at most 200 characters")
	}
	return nil
}

// Key is the business key.
func (in LoanInput) Key() string { return WorkflowID(ProcessLoan, in.ApplicationID) }

// Summary is the one line the Web UI shows.
func (in LoanInput) Summary() string {
	return fmt.Sprintf("Loan %s: %s over %d months", in.ApplicationID, money(in.Amount), in.TermMonths)
}

// Details are the business facts (ids, no personal data).
func (in LoanInput) Details() string {
	return facts("Loan origination", in.Key(), "applicant", in.ApplicantID, "amount", money(in.Amount),
		"term", fmt.Sprintf("%d months", in.TermMonths), "purpose", cmp.Or(in.Purpose, "-"))
}

// LoanResult is how an application ended.
type LoanResult struct {
	Outcome        string `json:"outcome"`
	HandlingPath   string `json:"handlingPath"`
	Reason         string `json:"reason"`
	CreditScore    int    `json:"creditScore,omitempty"`
	RiskScore      int    `json:"riskScore,omitempty"`
	OfferID        string `json:"offerId,omitempty"`
	DisbursementID string `json:"disbursementId,omitempty"`
}

// LoanRiskScore is the documented, deterministic risk score: the credit
// score less 10 points per full year of term beyond five years, kept within
// 300..850. Routing compares it with the policy's thresholds.
func LoanRiskScore(creditScore, termMonths int) int {
	s := creditScore
	if termMonths > 60 {
		s -= 10 * ((termMonths - 60) / 12)
	}
	return max(300, min(850, s))
}

// loanAPR prices an approved loan by risk.
func loanAPR(risk int) float64 {
	switch {
	case risk >= 720:
		return 5.9
	case risk >= 650:
		return 8.9
	default:
		return 12.9
	}
}

// Loan is loan origination: KYC, credit bureau, risk score, routing to
// automatic approval, automatic decline or underwriting (four-eyes above a
// threshold, escalation on SLA breach), then offer, disbursement and the
// applicant's notification. The applicant may withdraw until disbursement.
func Loan(ctx workflow.Context, in LoanInput) (*LoanResult, error) {
	p, err := begin(ctx, ProcessLoan, in, 5)
	if err != nil {
		return nil, err
	}
	withdrawn, disbursing := false, false
	p.watch(ctx, SignalWithdraw, in.ApplicantID, func() bool { return !disbursing }, &withdrawn)
	if err := p.start(ctx, fmt.Sprintf("application %s by %s for %s", in.ApplicationID, in.ApplicantID, money(in.Amount))); err != nil {
		return nil, err
	}
	pol := p.m.Policy().Processes.Loan
	res := &LoanResult{}
	end := func(outcome, reason string) (*LoanResult, error) {
		res.Outcome, res.Reason, res.HandlingPath = outcome, reason, p.m.HandlingPath()
		if outcome != OutcomeWithdrawn {
			_ = p.notify(ctx, "notify-applicant", in.ApplicantID, fmt.Sprintf("Your loan application %s: %s", in.ApplicationID, outcome), reason)
		}
		p.finish(ctx, outcome, reason)
		return res, nil
	}

	var a *activities.KYC
	p.stage(ctx, 1, "identity-check", "verifying the applicant's identity")
	var kyc activities.KYCResult
	if err := p.step(ctx, "kyc", "kyc: verify identity of "+in.ApplicantID+" for "+in.Key(), a.VerifyIdentity, activities.KYCInput{ApplicantID: in.ApplicantID}, &kyc); err != nil {
		if errorType(err) == activities.ErrKYCFailed {
			p.m.SetHandlingPath(ctx, PathAutomated)
			return end(OutcomeDeclined, "identity check failed")
		}
		return nil, err
	}
	if withdrawn {
		return end(OutcomeWithdrawn, "withdrawn by the applicant")
	}

	var cb *activities.CreditBureau
	p.stage(ctx, 2, "credit-check", "pulling the credit report")
	var score activities.ScoreResult
	if err := p.step(ctx, "credit-score", "credit bureau: score "+in.ApplicantID+" for "+in.Key(), cb.PullCreditScore, activities.ScoreInput{ApplicantID: in.ApplicantID}, &score); err != nil {
		return nil, err
	}
	res.CreditScore = score.Score
	res.RiskScore = LoanRiskScore(score.Score, in.TermMonths)
	p.m.SetFact("riskScore", fmt.Sprint(res.RiskScore))
	if withdrawn {
		return end(OutcomeWithdrawn, "withdrawn by the applicant")
	}

	p.stage(ctx, 3, "decision", "routing by risk score")
	switch {
	case res.RiskScore < pol.AutoDeclineBelow:
		p.m.SetHandlingPath(ctx, PathAutomated)
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionRouted, "", fmt.Sprintf("auto-decline: risk score %d < %d", res.RiskScore, pol.AutoDeclineBelow))
		return end(OutcomeDeclined, fmt.Sprintf("risk score %d below %d", res.RiskScore, pol.AutoDeclineBelow))
	case res.RiskScore >= pol.AutoApprove.MinScore && in.Amount <= pol.AutoApprove.MaxAmount:
		p.m.SetHandlingPath(ctx, PathAutomated)
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionRouted, "", fmt.Sprintf("auto-approve: risk score %d >= %d and amount %s <= %s", res.RiskScore, pol.AutoApprove.MinScore, money(in.Amount), money(pol.AutoApprove.MaxAmount)))
	default:
		p.m.SetHandlingPath(ctx, PathManual)
		spec := humantask.FromPolicy("underwriting", "Underwriting decision for "+in.Key(), pol.Underwriting)
		if in.Amount > pol.FourEyesAbove {
			spec.Quorum = max(spec.Quorum, 2)
		}
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionRouted, "", fmt.Sprintf("manual underwriting: risk score %d, amount %s, quorum %d", res.RiskScore, money(in.Amount), spec.Quorum))
		p.stage(ctx, 3, "underwriting", fmt.Sprintf("awaiting underwriter approval (%d needed)", spec.Quorum))
		task, err := p.m.Open(ctx, spec)
		if err != nil {
			return nil, err
		}
		if err := workflow.Await(ctx, func() bool { return task.Closed() || withdrawn }); err != nil {
			return nil, err
		}
		if withdrawn {
			p.m.CancelOpen(ctx, "withdrawn by the applicant")
			return end(OutcomeWithdrawn, "withdrawn by the applicant")
		}
		r := task.Result()
		switch r.State {
		case humantask.StateApproved:
		case humantask.StateRejected:
			return end(OutcomeDeclined, "rejected by "+r.Rejecter+": "+r.Comment)
		default:
			return end(OutcomeDeclined, "no underwriting decision by the deadline")
		}
	}

	var lc *activities.LoanCore
	p.stage(ctx, 4, "disbursement", "booking the offer and paying out")
	var offer activities.OfferResult
	if err := p.step(ctx, "offer", "loan core: offer for "+in.Key(), lc.CreateOffer,
		activities.OfferInput{ApplicationID: in.ApplicationID, Amount: in.Amount, TermMonths: in.TermMonths, APR: loanAPR(res.RiskScore)}, &offer); err != nil {
		return nil, err
	}
	res.OfferID = offer.OfferID
	if withdrawn {
		return end(OutcomeWithdrawn, "withdrawn by the applicant before disbursement")
	}
	disbursing = true
	var dis activities.DisburseResult
	if err := p.step(ctx, "disbursement", "loan core: disburse "+money(in.Amount)+" for "+in.Key(), lc.Disburse,
		activities.DisburseInput{ApplicationID: in.ApplicationID, OfferID: offer.OfferID, Amount: in.Amount}, &dis); err != nil {
		return nil, err
	}
	res.DisbursementID = dis.DisbursementID
	p.stage(ctx, 5, "notification", "notifying the applicant")
	return end(OutcomeApproved, fmt.Sprintf("disbursed %s at %.1f%% APR", money(in.Amount), loanAPR(res.RiskScore)))
}
