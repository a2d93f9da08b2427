package simulator

import (
	"net/http"
	"slices"
)

// The claims system (insurance): policy administration (coverage), claim
// triage, claim reserves and settlements. Payouts go through payments.

// CodeNotCovered refuses a claim the policy does not cover.
const CodeNotCovered = "not_covered"

// InsurancePolicy is a seeded insurance policy.
type InsurancePolicy struct {
	Holder     string   `json:"holder"`
	Covers     []string `json:"covers"`
	Deductible float64  `json:"deductible"`
	Limit      float64  `json:"limit"`
	Lapsed     bool     `json:"lapsed,omitempty"`
}

// SeedPolicies are the policy-admin system's policies (documented in
// docs/guide.md; tests rely on them).
var SeedPolicies = map[string]InsurancePolicy{
	"P-100": {Holder: "C-2001", Covers: []string{"water-damage", "fire", "theft"}, Deductible: 250, Limit: 50000},
	"P-200": {Holder: "C-2002", Covers: []string{"auto"}, Deductible: 500, Limit: 30000},
	"P-300": {Holder: "C-2003", Covers: []string{"water-damage", "fire"}, Deductible: 250, Limit: 50000, Lapsed: true},
}

// ClaimTriageScore is the documented triage rule set: 10 base; +30 when
// the claimed amount is over 5,000 (+50 over 20,000); +30 for theft; +20
// when the claimant is not the policy holder; capped at 100.
func ClaimTriageScore(amount float64, kind, claimant, holder string) (int, []string) {
	score, reasons := 10, []string{}
	switch {
	case amount > 20000:
		score += 50
		reasons = append(reasons, "amount over 20000")
	case amount > 5000:
		score += 30
		reasons = append(reasons, "amount over 5000")
	}
	if kind == "theft" {
		score += 30
		reasons = append(reasons, "theft")
	}
	if claimant != holder {
		score += 20
		reasons = append(reasons, "claimant is not the policy holder")
	}
	return min(score, 100), reasons
}

type claimReserve struct {
	ClaimID  string
	Amount   float64
	Released bool
}

func (s *Server) registerInsurance() {
	reserves := map[string]claimReserve{}
	s.route("GET /claims/coverage/{policy}", "claims", false, func(r *http.Request, _ []byte) (any, *effect, error) {
		id, kind := r.PathValue("policy"), r.URL.Query().Get("kind")
		p, ok := SeedPolicies[id]
		switch {
		case !ok:
			return nil, nil, refuse(404, CodeNotFound, "no policy %s", id)
		case p.Lapsed:
			return nil, nil, refuse(422, CodeNotCovered, "policy %s has lapsed", id)
		case !slices.Contains(p.Covers, kind):
			return nil, nil, refuse(422, CodeNotCovered, "policy %s does not cover %q", id, kind)
		}
		return map[string]any{"policyNumber": id, "holder": p.Holder, "deductible": p.Deductible, "limit": p.Limit}, nil, nil
	})
	s.route("POST /claims/triage", "claims", false, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			ClaimID      string  `json:"claimId"`
			PolicyNumber string  `json:"policyNumber"`
			Claimant     string  `json:"claimant"`
			Kind         string  `json:"kind"`
			Amount       float64 `json:"amount"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		p, ok := SeedPolicies[in.PolicyNumber]
		if !ok {
			return nil, nil, refuse(404, CodeNotFound, "no policy %s", in.PolicyNumber)
		}
		score, reasons := ClaimTriageScore(in.Amount, in.Kind, in.Claimant, p.Holder)
		return map[string]any{"claimId": in.ClaimID, "score": score, "reasons": reasons}, nil, nil
	})
	s.route("POST /claims/reserves", "claims", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			ClaimID string  `json:"claimId"`
			Amount  float64 `json:"amount"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.ClaimID == "" || in.Amount <= 0 {
			return nil, nil, refuse(400, CodeInvalidInput, "claimId and amount are required")
		}
		id := s.nextID("RES")
		reserves[id] = claimReserve{ClaimID: in.ClaimID, Amount: in.Amount}
		return map[string]any{"reserveId": id}, &effect{"claim-reserve", in.ClaimID, 0}, nil
	})
	s.route("POST /claims/reserves/{id}/release", "claims", true, func(r *http.Request, _ []byte) (any, *effect, error) {
		id := r.PathValue("id")
		rs, ok := reserves[id]
		if !ok {
			return nil, nil, refuse(404, CodeNotFound, "no reserve %s", id)
		}
		if rs.Released {
			return nil, nil, refuse(409, CodeInvalidInput, "reserve %s is already released", id)
		}
		rs.Released = true
		reserves[id] = rs
		return map[string]any{"reserveId": id, "released": true}, &effect{"reserve-release", rs.ClaimID, 0}, nil
	})
	s.route("POST /claims/settlements", "claims", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			ClaimID   string `json:"claimId"`
			ReserveID string `json:"reserveId"`
			PayoutID  string `json:"payoutId"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		rs, ok := reserves[in.ReserveID]
		if !ok || rs.ClaimID != in.ClaimID || in.PayoutID == "" {
			return nil, nil, refuse(400, CodeInvalidInput, "claimId, a reserve of that claim and payoutId are required")
		}
		return map[string]any{"settlementId": s.nextID("STL")}, &effect{"settlement", in.ClaimID, 0}, nil
	})
}
