package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/process"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// ProcessClaim is the insurance claim process's name.
const ProcessClaim = "claim"

// Claim outcomes beyond the shared ones.
const (
	OutcomePaid         = "paid"
	OutcomeNotCovered   = "not-covered"
	OutcomeDenied       = "denied"
	OutcomePayoutFailed = "payout-failed"
)

// Claim is an insurance claim: coverage check, automated triage, routing
// to straight-through payment or an adjuster's review (four-eyes above a
// threshold, escalation to a senior adjuster), then a reserve, the payout
// and the settlement; a payout that fails releases the reserve.
var Claim = process.Define(process.Description{
	Name: ProcessClaim, Title: "Insurance claim", IDField: "claimId", IDPrefix: "CL", Stages: 5,
	Flags: []process.Flag{
		process.StringFlag("policy-number", "insurance policy number (e.g. P-100)", func(in *ClaimInput) *string { return &in.PolicyNumber }),
		process.StringFlag("claimant", "claimant's customer id (e.g. C-2001)", func(in *ClaimInput) *string { return &in.Claimant }),
		process.StringFlag("kind", "kind of loss (water-damage, fire, theft, auto)", func(in *ClaimInput) *string { return &in.Kind }),
		process.FloatFlag("amount", "claimed amount", func(in *ClaimInput) *float64 { return &in.Amount }),
		process.StringFlag("incident-date", "day of the loss, YYYY-MM-DD", func(in *ClaimInput) *string { return &in.IncidentDate }),
		process.StringFlag("description", "what happened", func(in *ClaimInput) *string { return &in.Description }),
	},
	Demo: func(id func(int) string, today time.Time) []process.Input {
		day := today.AddDate(0, 0, -3).Format(time.DateOnly)
		return []process.Input{
			&ClaimInput{ClaimID: id(1), PolicyNumber: "P-100", Claimant: "C-2001", Kind: "water-damage", Amount: 1200, IncidentDate: day, Description: "burst pipe"},
			&ClaimInput{ClaimID: id(2), PolicyNumber: "P-100", Claimant: "C-2001", Kind: "theft", Amount: 6000, IncidentDate: day, Description: "bicycle stolen"},
			&ClaimInput{ClaimID: id(3), PolicyNumber: "P-200", Claimant: "C-2002", Kind: "auto", Amount: 25000, IncidentDate: day, Description: "collision"},
			&ClaimInput{ClaimID: id(4), PolicyNumber: "P-300", Claimant: "C-2003", Kind: "fire", Amount: 900, IncidentDate: day, Description: "kitchen fire"},
		}
	},
	Currency: Currency,
	Case: func(in process.Input) []process.CaseSection {
		c := in.(*ClaimInput)
		return []process.CaseSection{{Title: "Claim", Items: []process.CaseItem{
			process.Item("Kind of loss", c.Kind),
			process.Item("Amount claimed", process.MoneyIn(c.Amount, Currency)),
			process.Item("Incident date", c.IncidentDate),
			process.PersonalItem("Claimant", c.Claimant),
			process.PersonalItem("Policy number", c.PolicyNumber),
			process.PersonalItem("What happened", c.Description),
		}}}
	},
	CheckPolicy: process.CheckSection(ProcessClaim, func(p *policy.Policy, cp ClaimPolicy) error {
		if cp.ReviewAt < 0 || cp.ReviewAt > 100 {
			return fmt.Errorf("policy: processes.claim.reviewAt: %d is outside 0..100", cp.ReviewAt)
		}
		if cp.AutoPayMax < 0 || cp.FourEyesAbove < cp.AutoPayMax {
			return fmt.Errorf("policy: processes.claim.fourEyesAbove: %.2f must be at least autoPayMax %.2f", cp.FourEyesAbove, cp.AutoPayMax)
		}
		return p.ValidateTask("processes.claim.adjusterReview", cp.AdjusterReview, true)
	}),
	Rules: process.SectionRules(ProcessClaim, claimFacts, func(f ClaimFacts, cp ClaimPolicy) process.Route { return ClaimRoute(f, nil, cp) }, func(f ClaimFacts, cp ClaimPolicy) []process.TaskRule {
		if ClaimRoute(f, nil, cp).Decision != ClaimAdjusterReview {
			return nil
		}
		first := claimAdjusterReview(f, cp, "")
		rules := []process.TaskRule{{Spec: first}}
		if ClaimNeedsSecondAdjuster(f, cp) {
			rules = append(rules, process.TaskRule{Spec: claimSecondAdjuster(cp, nil, ""), DistinctFrom: []string{first.ID}})
		}
		return rules
	}),
}, claimBody)

func claimFacts(f *ClaimFacts) []process.FactParser {
	return []process.FactParser{process.IntFact("triageScore", &f.TriageScore), process.FloatFact("amount", &f.Amount),
		process.FloatFact(FactAssessedAmount, &f.Assessed).Optional()}
}

// Currency is the currency of Baton's processes' amounts (their forms'
// money fields).
const Currency = "EUR"

// FactAssessedAmount is the fact an adjuster's assessment records.
const FactAssessedAmount = "assessedAmount"

// ClaimReasons are the adjuster's reason codes.
var ClaimReasons = []humantask.Option{
	humantask.Opt("as-claimed", "Loss as claimed"),
	humantask.Opt("partial-damage", "Damage smaller than claimed"),
	humantask.Opt("depreciation", "Depreciation applied"),
	humantask.Opt("pre-existing", "Pre-existing damage"),
	humantask.Opt("not-covered", "Loss not covered"),
	humantask.Opt("suspected-fraud", "Suspected fraud"),
}

// claimAssessment is the adjuster's form: the amount to pay (the payable
// amount proposed; the loss as assessed may differ from the claim, up to
// the policy's limit less the deductible), a reason code (required to
// deny), and a note for the file that may name people (personal: never
// in clear in the trail).
func claimAssessment(claimed, payable float64, cov activities.CoverageResult) humantask.Form {
	return humantask.Form{
		humantask.Money(FactAssessedAmount, "Assessed amount to pay", Currency).Require().Range(0.01, max(0.01, cov.Limit-cov.Deductible)).
			WithHelp(fmt.Sprintf("Proposed: %s, the claimed %s less the deductible of %s. At most the policy's limit less the deductible; above %s a second adjuster confirms it.",
				process.Money(payable), process.Money(claimed), process.Money(cov.Deductible), "the four-eyes amount")).
			WithDefault(strconv.FormatFloat(payable, 'f', 2, 64)),
		humantask.Choice("reasonCode", "Reason", ClaimReasons...).RequireOnReject(),
		humantask.Text("note", "Note for the claim file").Length(0, 1000).MarkPersonal().
			WithHelp("Kept in the encrypted case only; the audit trail records a digest."),
	}
}

// ClaimNeedsSecondAdjuster: an assessed amount above the four-eyes amount
// needs a second adjuster even when the claimed amount did not (a claim
// whose review already needed two adjusters has them).
func ClaimNeedsSecondAdjuster(f ClaimFacts, pol ClaimPolicy) bool {
	return f.Assessed > pol.FourEyesAbove && ClaimQuorum(f, pol) < 2
}

// claimSecondAdjuster is the four-eyes confirmation of an assessment: the
// policy's adjuster review, one more adjuster, never one who assessed it.
func claimSecondAdjuster(cp ClaimPolicy, assessors []string, title string) humantask.Spec {
	spec := humantask.FromPolicy("second-adjuster", title, cp.AdjusterReview)
	spec.Quorum = 1
	for _, a := range assessors {
		spec.Exclusions = append(spec.Exclusions, humantask.Exclusion{User: a, Reason: "assessed the claim"})
	}
	return spec
}

// claimAdjusterReview is the adjuster's review: the policy's, with the
// four-eyes quorum for the amount.
func claimAdjusterReview(f ClaimFacts, cp ClaimPolicy, title string) humantask.Spec {
	spec := humantask.FromPolicy("adjuster-review", title, cp.AdjusterReview)
	spec.Quorum = ClaimQuorum(f, cp)
	return spec
}

// ClaimPolicy is the claim's section of the policy.
type ClaimPolicy struct {
	// AutoPayMax: claims up to it with a triage score below ReviewAt are
	// paid without review.
	AutoPayMax float64 `json:"autoPayMax"`
	ReviewAt   int     `json:"reviewAt"`
	// FourEyesAbove: claims above it need two distinct adjusters.
	FourEyesAbove  float64     `json:"fourEyesAbove"`
	AdjusterReview policy.Task `json:"adjusterReview"`
}

// ClaimFacts are what claim routing decides on, and the adjuster's
// assessment once entered (0 before).
type ClaimFacts struct {
	TriageScore int
	Amount      float64
	Assessed    float64
}

// Claim routing decisions.
const (
	ClaimAutoPay        = "auto-pay"
	ClaimAdjusterReview = "adjuster-review"
)

// ClaimRoute pays a small, low-risk claim straight through and sends any
// other to an adjuster; reasons are triage's, for the audit trail.
func ClaimRoute(f ClaimFacts, reasons []string, pol ClaimPolicy) process.Route {
	facts := map[string]string{"triageScore": fmt.Sprint(f.TriageScore), "amount": process.FormatAmount(f.Amount)}
	if f.TriageScore < pol.ReviewAt && f.Amount <= pol.AutoPayMax {
		return process.Route{Path: record.PathAutomated, Decision: ClaimAutoPay, Verdict: humantask.Approve, Facts: facts,
			Reason: fmt.Sprintf("auto-pay: triage score %d < %d and amount %s <= %s", f.TriageScore, pol.ReviewAt, process.Money(f.Amount), process.Money(pol.AutoPayMax))}
	}
	why := ""
	if len(reasons) > 0 {
		why = " (" + strings.Join(reasons, "; ") + ")"
	}
	return process.Route{Path: record.PathManual, Decision: ClaimAdjusterReview, Facts: facts,
		Reason: fmt.Sprintf("adjuster review: triage score %d, amount %s, quorum %d%s", f.TriageScore, process.Money(f.Amount), ClaimQuorum(f, pol), why)}
}

// ClaimQuorum is how many distinct adjusters must approve: two above the
// four-eyes amount.
func ClaimQuorum(f ClaimFacts, pol ClaimPolicy) int {
	return fourEyesQuorum(pol.AdjusterReview, f.Amount, pol.FourEyesAbove)
}

// ClaimPayable is what the policy pays on a claim: the claimed amount up
// to the limit, less the deductible (never negative).
func ClaimPayable(amount, deductible, limit float64) float64 {
	return max(0, min(amount, limit)-deductible)
}

// ClaimInput is an insurance claim. Claimant is a customer id (no name:
// the Web UI shows inputs in clear).
type ClaimInput struct {
	ClaimID      string  `json:"claimId"`
	PolicyNumber string  `json:"policyNumber"`
	Claimant     string  `json:"claimant"`
	Kind         string  `json:"kind"`
	Amount       float64 `json:"amount"`
	IncidentDate string  `json:"incidentDate"` // YYYY-MM-DD
	Description  string  `json:"description,omitempty"`
}

// Validate names the first bad field.
func (in ClaimInput) Validate() error {
	for _, f := range []struct{ name, v string }{{"claimId", in.ClaimID}, {"policyNumber", in.PolicyNumber}, {"claimant", in.Claimant}} {
		if err := process.RequireKey(f.name, f.v); err != nil {
			return err
		}
	}
	if strings.TrimSpace(in.Kind) == "" {
		return process.Invalid("kind", "required (e.g. water-damage, fire, theft, auto)")
	}
	if err := process.AtMost("kind", in.Kind, 100); err != nil {
		return err
	}
	if err := process.AmountUpTo("amount", in.Amount, 1_000_000); err != nil {
		return err
	}
	if _, err := time.Parse(time.DateOnly, in.IncidentDate); err != nil {
		return process.Invalid("incidentDate", "%q is not a date such as 2026-11-20", in.IncidentDate)
	}
	return process.AtMost("description", in.Description, 500)
}

// Key is the business key.
func (in ClaimInput) Key() string { return process.WorkflowID(ProcessClaim, in.ClaimID) }

// SetID sets the claim id.
func (in *ClaimInput) SetID(id string) { in.ClaimID = id }

// Summary is the one line the Web UI shows.
func (in ClaimInput) Summary() string {
	return fmt.Sprintf("Claim %s: %s %s", in.ClaimID, process.Money(in.Amount), in.Kind)
}

// Details are the business facts, shown to every operator: the
// policy number, the claimant, the incident date and the description stay
// in the (encrypted) input.
func (in ClaimInput) Details() string {
	return process.Details("Insurance claim", in.Key(), "kind", in.Kind, "amount", process.Money(in.Amount))
}

// ClaimResult is how a claim ended.
type ClaimResult struct {
	process.Ending
	TriageScore int     `json:"triageScore,omitempty"`
	Payable     float64 `json:"payable,omitempty"`
	// Assessed is the adjuster's assessed amount (paid), ReasonCode why.
	Assessed      float64  `json:"assessed,omitempty"`
	ReasonCode    string   `json:"reasonCode,omitempty"`
	PayoutID      string   `json:"payoutId,omitempty"`
	SettlementID  string   `json:"settlementId,omitempty"`
	Compensations []string `json:"compensations,omitempty"`
}

func claimBody(ctx workflow.Context, p *process.Proc, in ClaimInput, res *ClaimResult) error {
	p.OnEnd(func(ctx workflow.Context, outcome, reason string) {
		res.Compensations = p.Compensated()
		_ = notify(ctx, p, "notify-claimant", in.Claimant, fmt.Sprintf("Your claim %s: %s", in.ClaimID, outcome), reason)
	})
	pol, err := process.Start[ClaimPolicy](ctx, p, fmt.Sprintf("claim %s on policy %s by %s for %s", in.ClaimID, in.PolicyNumber, in.Claimant, process.Money(in.Amount)))
	if err != nil {
		return err
	}

	var claims *activities.Claims
	p.SetStage(ctx, 1, "coverage", "checking the policy's coverage")
	var cov activities.CoverageResult
	if err := p.Step(ctx, "coverage", "claims: coverage for "+in.Key(), claims.CheckCoverage,
		activities.CoverageInput{PolicyNumber: in.PolicyNumber, Kind: in.Kind}, &cov); err != nil {
		if process.ErrorType(err) == activities.ErrNotCovered {
			p.SetPath(ctx, record.PathAutomated, "")
			return process.End(OutcomeNotCovered, process.Cause(err))
		}
		return err
	}
	res.Payable = ClaimPayable(in.Amount, cov.Deductible, cov.Limit)
	if res.Payable <= 0 {
		p.SetPath(ctx, record.PathAutomated, "")
		return process.End(OutcomeNotCovered, fmt.Sprintf("%s is within the deductible of %s", process.Money(in.Amount), process.Money(cov.Deductible)))
	}

	p.SetStage(ctx, 2, "triage", "scoring the claim")
	var tri activities.TriageResult
	if err := p.Step(ctx, "triage", "claims: triage "+in.Key(), claims.TriageClaim, activities.TriageInput{
		ClaimID: in.ClaimID, PolicyNumber: in.PolicyNumber, Claimant: in.Claimant, Kind: in.Kind, Amount: in.Amount,
	}, &tri); err != nil {
		return err
	}
	res.TriageScore = tri.Score
	facts := ClaimFacts{TriageScore: tri.Score, Amount: in.Amount}
	route := ClaimRoute(facts, tri.Reasons, pol)
	p.Route(ctx, route)
	if route.Decision == ClaimAdjusterReview {
		spec := claimAdjusterReview(facts, pol, "Adjuster review of "+in.Key())
		// Instances that opened their review before forms existed replay
		// without one.
		forms := workflow.GetVersion(ctx, versionTaskForms, workflow.DefaultVersion, 1) >= 1
		if forms {
			spec.Form = claimAssessment(in.Amount, res.Payable, cov)
			// What the adjuster decides on: coverage and triage.
			p.SetFact("deductible", process.FormatAmount(cov.Deductible))
			p.SetFact("coverageLimit", process.FormatAmount(cov.Limit))
			p.SetFact("payableAmount", process.FormatAmount(res.Payable))
			p.SetFact("triageReasons", strings.Join(tri.Reasons, "; "))
		}
		p.SetStage(ctx, 3, "adjuster-review", fmt.Sprintf("awaiting adjuster approval (%d needed)", spec.Quorum))
		r, err := p.Decide(ctx, spec, process.Review{Outcome: OutcomeDenied, Decision: "adjuster decision"})
		if err != nil {
			return err
		}
		if assessed, ok := r.Values.Money(FactAssessedAmount); forms && ok {
			res.Assessed, res.ReasonCode, res.Payable = assessed, r.Values["reasonCode"], assessed
			facts.Assessed = assessed
			p.SetFact(FactAssessedAmount, process.FormatAmount(assessed))
			if ClaimNeedsSecondAdjuster(facts, pol) {
				second := claimSecondAdjuster(pol, r.Approvers, fmt.Sprintf("Second adjuster: confirm %s assessed on %s", process.Money(assessed), in.Key()))
				p.SetStage(ctx, 3, "second-adjuster", fmt.Sprintf("awaiting a second adjuster: %s assessed is above the four-eyes amount %s", process.Money(assessed), process.Money(pol.FourEyesAbove)))
				if _, err := p.Decide(ctx, second, process.Review{Outcome: OutcomeDenied, Decision: "second adjuster's decision"}); err != nil {
					return err
				}
			}
		}
	}

	p.SetStage(ctx, 4, "payout", "paying "+process.Money(res.Payable))
	var rsv activities.ClaimReserveResult
	if err := p.Step(ctx, "reserve", "claims: reserve "+process.Money(res.Payable)+" for "+in.Key(), claims.OpenReserve,
		activities.ClaimReserveInput{ClaimID: in.ClaimID, Amount: res.Payable}, &rsv,
		process.UndoneBy("release-reserve", func(ctx workflow.Context) error {
			return p.Step(ctx, "release-reserve", "claims: release "+rsv.ReserveID+" for "+in.Key(), claims.ReleaseReserve, rsv, nil)
		})); err != nil {
		return err
	}
	var pay *activities.Payments
	var out activities.PayoutResult
	if err := p.Step(ctx, "payout", "payments: pay "+process.Money(res.Payable)+" for "+in.Key(), pay.Payout,
		activities.PayoutInput{Reference: in.Key(), Payee: in.Claimant, Amount: res.Payable}, &out,
		process.Retry(p.LimitedRetry(3))); err != nil {
		return process.EndOnError(err, "payout", nil, OutcomePayoutFailed)
	}
	res.PayoutID = out.PayoutID
	p.Commit() // paid: the reserve is spent, nothing to undo
	var stl activities.SettleResult
	if err := p.Step(ctx, "settle", "claims: settle "+in.Key(), claims.SettleClaim,
		activities.SettleInput{ClaimID: in.ClaimID, ReserveID: rsv.ReserveID, PayoutID: out.PayoutID}, &stl); err != nil {
		return err
	}
	res.SettlementID = stl.SettlementID
	p.SetStage(ctx, 5, "notification", "notifying the claimant")
	if res.Assessed > 0 {
		return process.End(OutcomePaid, fmt.Sprintf("paid %s as assessed (claimed %s, deductible %s)", process.Money(res.Payable), process.Money(in.Amount), process.Money(cov.Deductible)))
	}
	return process.End(OutcomePaid, fmt.Sprintf("paid %s (claimed %s, deductible %s)", process.Money(res.Payable), process.Money(in.Amount), process.Money(cov.Deductible)))
}
