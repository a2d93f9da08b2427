package workflows

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/process"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// ProcessLoan is the loan process's name.
const ProcessLoan = "loan"

// Loan outcomes beyond the shared ones.
const OutcomeWithdrawn = "withdrawn"

// Loan is loan origination: KYC, credit bureau, risk score, routing to
// automatic approval, automatic decline or underwriting (four-eyes above a
// threshold, escalation on SLA breach), then offer, disbursement and the
// applicant's notification. The applicant may withdraw until disbursement.
var Loan = process.Define(process.Description{
	Name: ProcessLoan, Title: "Loan origination", IDField: "applicationId", IDPrefix: "A", Stages: 5,
	Messages: []process.Message{{Name: SignalWithdraw, Short: "Withdraw a loan application (until disbursement)",
		Example: "  starter withdraw loan-A-17 --by C-1002 --reason 'found a better rate'"}},
	Flags: []process.Flag{
		process.StringFlag("applicant", "applicant id (e.g. C-1002)", func(in *LoanInput) *string { return &in.ApplicantID }),
		process.FloatFlag("amount", "loan amount", func(in *LoanInput) *float64 { return &in.Amount }),
		process.IntFlag("term-months", "term in months", func(in *LoanInput) *int { return &in.TermMonths }),
		process.StringFlag("purpose", "purpose of the loan", func(in *LoanInput) *string { return &in.Purpose }),
	},
	Demo: func(id func(int) string, _ time.Time) []process.Input {
		return []process.Input{
			&LoanInput{ApplicationID: id(1), ApplicantID: "C-1001", Amount: 12000, TermMonths: 36, Purpose: "car"},
			&LoanInput{ApplicationID: id(2), ApplicantID: "C-1002", Amount: 40000, TermMonths: 48, Purpose: "renovation"},
			&LoanInput{ApplicationID: id(3), ApplicantID: "C-1002", Amount: 150000, TermMonths: 120, Purpose: "property"},
			&LoanInput{ApplicationID: id(4), ApplicantID: "C-1003", Amount: 8000, TermMonths: 24, Purpose: "holiday"},
			&LoanInput{ApplicationID: id(5), ApplicantID: "C-9999", Amount: 5000, TermMonths: 12, Purpose: "tuition"},
		}
	},
	CheckPolicy: process.CheckSection(ProcessLoan, func(p *policy.Policy, lp LoanPolicy) error {
		if err := p.ValidateTask("processes.loan.underwriting", lp.Underwriting, true); err != nil {
			return err
		}
		if lp.AutoDeclineBelow > lp.AutoApprove.MinScore {
			return fmt.Errorf("policy: processes.loan.autoDeclineBelow: %d is above autoApprove.minScore %d", lp.AutoDeclineBelow, lp.AutoApprove.MinScore)
		}
		return nil
	}),
	Currency: Currency,
	Case: func(in process.Input) []process.CaseSection {
		l := in.(*LoanInput)
		return []process.CaseSection{{Title: "Application", Items: []process.CaseItem{
			process.Item("Amount applied for", process.MoneyIn(l.Amount, Currency)),
			process.Item("Term", fmt.Sprintf("%d months", l.TermMonths)),
			process.PersonalItem("Applicant", l.ApplicantID),
			process.PersonalItem("Purpose", l.Purpose),
		}}}
	},
	Rules: process.SectionRules(ProcessLoan, loanFacts, LoanRoute, func(f LoanFacts, lp LoanPolicy) []process.TaskRule {
		if LoanRoute(f, lp).Decision != LoanUnderwriting {
			return nil
		}
		return []process.TaskRule{{Spec: loanUnderwriting(f, lp, "")}}
	}),
}, loanBody)

func loanFacts(f *LoanFacts) []process.FactParser {
	return []process.FactParser{process.IntFact("riskScore", &f.RiskScore), process.FloatFact("amount", &f.Amount)}
}

// loanUnderwriting is the underwriting task: the policy's, with the
// four-eyes quorum for the amount.
func loanUnderwriting(f LoanFacts, lp LoanPolicy, title string) humantask.Spec {
	spec := humantask.FromPolicy("underwriting", title, lp.Underwriting)
	spec.Quorum = LoanQuorum(f, lp)
	return spec
}

// LoanPolicy is the loan's section of the policy.
type LoanPolicy struct {
	// AutoApprove: score >= MinScore and amount <= MaxAmount.
	AutoApprove struct {
		MinScore  int     `json:"minScore"`
		MaxAmount float64 `json:"maxAmount"`
	} `json:"autoApprove"`
	// AutoDeclineBelow: score < this is declined without review.
	AutoDeclineBelow int `json:"autoDeclineBelow"`
	// FourEyesAbove: amounts above it need two distinct underwriters.
	FourEyesAbove float64     `json:"fourEyesAbove"`
	Underwriting  policy.Task `json:"underwriting"`
	// WithdrawRoles may withdraw an application besides its applicant.
	WithdrawRoles []string `json:"withdrawRoles,omitempty"`
}

// LoanFacts are what loan routing decides on.
type LoanFacts struct {
	RiskScore int
	Amount    float64
}

// Loan routing decisions.
const (
	LoanAutoDecline  = "auto-decline"
	LoanAutoApprove  = "auto-approve"
	LoanUnderwriting = "underwriting"
)

// LoanRoute routes an application: automatic decline below the decline
// score, automatic approval at or above the approval score up to its
// amount, otherwise manual underwriting.
func LoanRoute(f LoanFacts, pol LoanPolicy) process.Route {
	facts := map[string]string{"riskScore": fmt.Sprint(f.RiskScore), "amount": process.FormatAmount(f.Amount)}
	switch {
	case f.RiskScore < pol.AutoDeclineBelow:
		return process.Route{Path: record.PathAutomated, Decision: LoanAutoDecline, Verdict: humantask.Reject, Facts: facts,
			Reason: fmt.Sprintf("auto-decline: risk score %d < %d", f.RiskScore, pol.AutoDeclineBelow)}
	case f.RiskScore >= pol.AutoApprove.MinScore && f.Amount <= pol.AutoApprove.MaxAmount:
		return process.Route{Path: record.PathAutomated, Decision: LoanAutoApprove, Verdict: humantask.Approve, Facts: facts,
			Reason: fmt.Sprintf("auto-approve: risk score %d >= %d and amount %s <= %s", f.RiskScore, pol.AutoApprove.MinScore, process.Money(f.Amount), process.Money(pol.AutoApprove.MaxAmount))}
	default:
		return process.Route{Path: record.PathManual, Decision: LoanUnderwriting, Facts: facts,
			Reason: fmt.Sprintf("manual underwriting: risk score %d, amount %s, quorum %d", f.RiskScore, process.Money(f.Amount), LoanQuorum(f, pol))}
	}
}

// LoanQuorum is how many distinct underwriters must approve: two above the
// four-eyes amount.
func LoanQuorum(f LoanFacts, pol LoanPolicy) int {
	return fourEyesQuorum(pol.Underwriting, f.Amount, pol.FourEyesAbove)
}

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
	if err := process.RequireKey("applicationId", in.ApplicationID); err != nil {
		return err
	}
	if err := process.RequireKey("applicantId", in.ApplicantID); err != nil {
		return err
	}
	if err := process.AmountUpTo("amount", in.Amount, 5_000_000); err != nil {
		return err
	}
	if in.TermMonths < 6 || in.TermMonths > 360 {
		return process.Invalid("termMonths", "%d must be between 6 and 360", in.TermMonths)
	}
	return process.AtMost("purpose", in.Purpose, 200)
}

// Key is the business key.
func (in LoanInput) Key() string { return process.WorkflowID(ProcessLoan, in.ApplicationID) }

// SetID sets the application id.
func (in *LoanInput) SetID(id string) { in.ApplicationID = id }

// Summary is the one line the Web UI shows.
func (in LoanInput) Summary() string {
	return fmt.Sprintf("Loan %s: %s over %d months", in.ApplicationID, process.Money(in.Amount), in.TermMonths)
}

// Details are the business facts, shown to every operator: the
// applicant and the purpose stay in the (encrypted) input.
func (in LoanInput) Details() string {
	return process.Details("Loan origination", in.Key(), "amount", process.Money(in.Amount), "term", fmt.Sprintf("%d months", in.TermMonths))
}

// LoanResult is how an application ended.
type LoanResult struct {
	process.Ending
	CreditScore    int    `json:"creditScore,omitempty"`
	RiskScore      int    `json:"riskScore,omitempty"`
	OfferID        string `json:"offerId,omitempty"`
	DisbursementID string `json:"disbursementId,omitempty"`
	// OfferAmount and OfferTermMonths are the underwriter's counter-offer
	// (0 when the application was approved as applied for).
	OfferAmount     float64 `json:"offerAmount,omitempty"`
	OfferTermMonths int     `json:"offerTermMonths,omitempty"`
	// conditions (personal) go to the loan core, not into the result.
	conditions string
}

// loanCounterOffer is the underwriter's form: approve as applied for, or
// with a counter-offer (an amount not above the request, another term) and
// conditions, which may name the applicant's circumstances (personal).
func loanCounterOffer(in LoanInput) humantask.Form {
	return humantask.Form{
		humantask.Money("counterAmount", "Counter-offer amount", Currency).Range(1000, in.Amount).
			WithHelp(fmt.Sprintf("Leave empty to approve the %s applied for; a counter-offer is at most that.", process.Money(in.Amount))),
		humantask.Integer("counterTermMonths", "Counter-offer term (months)").IntRange(6, 360).
			WithHelp(fmt.Sprintf("Leave empty to keep the %d months applied for.", in.TermMonths)),
		humantask.Text("conditions", "Conditions of the offer").Length(0, 1000).MarkPersonal().
			WithHelp("E.g. proof of income before disbursement. Sent to the loan core; the audit trail records a digest."),
	}
}

// offerLoanTerms applies the underwriter's counter-offer: the amount and
// term offered and disbursed, the risk score (and so the price) on the
// term offered, recorded as facts.
func offerLoanTerms(p *process.Proc, ctx workflow.Context, in LoanInput, creditScore int, v humantask.Values, res *LoanResult) {
	amount, counterAmount := v.Money("counterAmount")
	term, counterTerm := v.Int("counterTermMonths")
	res.conditions = v["conditions"]
	if !counterAmount && !counterTerm {
		return
	}
	if !counterAmount {
		amount = in.Amount
	}
	if !counterTerm {
		term = in.TermMonths
	}
	res.OfferAmount, res.OfferTermMonths = amount, term
	res.RiskScore = LoanRiskScore(creditScore, term)
	p.SetFact("offerAmount", process.FormatAmount(amount))
	p.SetFact("offerTermMonths", fmt.Sprint(term))
	p.Audit(ctx, audit.SystemActor, audit.ActionStepCompleted, "", fmt.Sprintf("counter-offer: %s over %d months (applied for %s over %d months), risk score %d",
		process.Money(amount), term, process.Money(in.Amount), in.TermMonths, res.RiskScore))
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

func loanBody(ctx workflow.Context, p *process.Proc, in LoanInput, res *LoanResult) error {
	disbursing := false
	var pol LoanPolicy
	p.EndOn(ctx, SignalWithdraw, record.Requesters{Owner: in.ApplicantID, Roles: func() []string { return pol.WithdrawRoles }},
		func() bool { return !disbursing }, OutcomeWithdrawn, "withdrawn")
	p.OnEnd(func(ctx workflow.Context, outcome, reason string) {
		if outcome != OutcomeWithdrawn {
			_ = notify(ctx, p, "notify-applicant", in.ApplicantID, fmt.Sprintf("Your loan application %s: %s", in.ApplicationID, outcome), reason)
		}
	})
	pol, err := process.Start[LoanPolicy](ctx, p, fmt.Sprintf("application %s by %s for %s", in.ApplicationID, in.ApplicantID, process.Money(in.Amount)))
	if err != nil {
		return err
	}

	var a *activities.KYC
	p.SetStage(ctx, 1, "identity-check", "verifying the applicant's identity")
	var kyc activities.KYCResult
	if err := p.Step(ctx, "kyc", "kyc: verify the applicant's identity for "+in.Key(), a.VerifyIdentity, activities.KYCInput{ApplicantID: in.ApplicantID}, &kyc); err != nil {
		switch process.ErrorType(err) {
		case activities.ErrKYCFailed:
			p.SetPath(ctx, record.PathAutomated, "")
			return process.End(process.OutcomeDeclined, "identity check failed")
		case activities.ErrNotFound:
			// Applicants are the KYC system's, not the directory's: an
			// unknown one fails the instance as an unknown user does,
			// naming the field.
			return process.InvalidStart(process.Invalid("applicantId", "%q is unknown to the identity check (%s)", in.ApplicantID, process.Cause(err)))
		}
		return err
	}

	var cb *activities.CreditBureau
	p.SetStage(ctx, 2, "credit-check", "pulling the credit report")
	var score activities.ScoreResult
	if err := p.Step(ctx, "credit-score", "credit bureau: score the applicant for "+in.Key(), cb.PullCreditScore, activities.ScoreInput{ApplicantID: in.ApplicantID}, &score); err != nil {
		return err
	}
	res.CreditScore = score.Score
	res.RiskScore = LoanRiskScore(score.Score, in.TermMonths)

	p.SetStage(ctx, 3, "decision", "routing by risk score")
	facts := LoanFacts{RiskScore: res.RiskScore, Amount: in.Amount}
	route := LoanRoute(facts, pol)
	p.Route(ctx, route)
	switch route.Decision {
	case LoanAutoDecline:
		return process.End(process.OutcomeDeclined, fmt.Sprintf("risk score %d below %d", res.RiskScore, pol.AutoDeclineBelow))
	case LoanUnderwriting:
		spec := loanUnderwriting(facts, pol, "Underwriting decision for "+in.Key())
		// Instances that opened underwriting before forms existed replay
		// without one.
		forms := workflow.GetVersion(ctx, versionTaskForms, workflow.DefaultVersion, 1) >= 1
		if forms {
			spec.Form = loanCounterOffer(in)
			// What the underwriter decides on: the systems' results.
			p.SetFact("creditScore", fmt.Sprint(score.Score))
			p.SetFact("identityCheck", "verified")
		}
		p.SetStage(ctx, 3, "underwriting", fmt.Sprintf("awaiting underwriter approval (%d needed)", spec.Quorum))
		r, err := p.Decide(ctx, spec, process.Review{Outcome: process.OutcomeDeclined, Decision: "underwriting decision"})
		if err != nil {
			return err
		}
		if forms {
			offerLoanTerms(p, ctx, in, score.Score, r.Values, res)
		}
	}
	amount, term := in.Amount, in.TermMonths
	if res.OfferAmount > 0 {
		amount, term = res.OfferAmount, res.OfferTermMonths
	}

	var lc *activities.LoanCore
	p.SetStage(ctx, 4, "disbursement", "booking the offer and paying out")
	var offer activities.OfferResult
	if err := p.Step(ctx, "offer", "loan core: offer for "+in.Key(), lc.CreateOffer,
		activities.OfferInput{ApplicationID: in.ApplicationID, Amount: amount, TermMonths: term, APR: loanAPR(res.RiskScore), Conditions: res.conditions}, &offer); err != nil {
		return err
	}
	res.OfferID = offer.OfferID
	disbursing = true
	var dis activities.DisburseResult
	if err := p.Step(ctx, "disbursement", "loan core: disburse "+process.Money(amount)+" for "+in.Key(), lc.Disburse,
		activities.DisburseInput{ApplicationID: in.ApplicationID, OfferID: offer.OfferID, Amount: amount}, &dis); err != nil {
		return err
	}
	res.DisbursementID = dis.DisbursementID
	p.SetStage(ctx, 5, "notification", "notifying the applicant")
	if res.OfferAmount > 0 {
		return process.End(process.OutcomeApproved, fmt.Sprintf("disbursed %s over %d months at %.1f%% APR on the underwriter's counter-offer (applied for %s over %d months)",
			process.Money(amount), term, loanAPR(res.RiskScore), process.Money(in.Amount), in.TermMonths))
	}
	return process.End(process.OutcomeApproved, fmt.Sprintf("disbursed %s at %.1f%% APR", process.Money(in.Amount), loanAPR(res.RiskScore)))
}
