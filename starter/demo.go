package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"baton/activities"
	"baton/workflows"
)

// demoInputs is a realistic mix: every process, automated and manual paths,
// some waiting for people.
func demoInputs(tag string, today time.Time) []workflows.Input {
	id := func(p string, n int) string { return fmt.Sprintf("%s-%s-%d", p, tag, n) }
	book := []activities.Item{{SKU: "SKU-BOOK", Quantity: 2}}
	return []workflows.Input{
		&workflows.LoanInput{ApplicationID: id("A", 1), ApplicantID: "C-1001", Amount: 12000, TermMonths: 36, Purpose: "car"},
		&workflows.LoanInput{ApplicationID: id("A", 2), ApplicantID: "C-1002", Amount: 40000, TermMonths: 48, Purpose: "renovation"},
		&workflows.LoanInput{ApplicationID: id("A", 3), ApplicantID: "C-1002", Amount: 150000, TermMonths: 120, Purpose: "property"},
		&workflows.LoanInput{ApplicationID: id("A", 4), ApplicantID: "C-1003", Amount: 8000, TermMonths: 24, Purpose: "holiday"},
		&workflows.LoanInput{ApplicationID: id("A", 5), ApplicantID: "C-9999", Amount: 5000, TermMonths: 12, Purpose: "tuition"},
		&workflows.OrderInput{OrderID: id("O", 1), CustomerID: "K-100", Items: book, Amount: 120, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "DE"},
		&workflows.OrderInput{OrderID: id("O", 2), CustomerID: "NEW-7", Items: []activities.Item{{SKU: "SKU-LAMP", Quantity: 1}}, Amount: 2500, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "US"},
		&workflows.OrderInput{OrderID: id("O", 3), CustomerID: "K-200", Items: []activities.Item{{SKU: "SKU-GHOST", Quantity: 1}}, Amount: 60, CardNumber: "4111111111111111", BillingCountry: "FR", ShippingCountry: "FR"},
		&workflows.OrderInput{OrderID: id("O", 4), CustomerID: "K-300", Items: book, Amount: 80, CardNumber: "4000000000000002", BillingCountry: "NL", ShippingCountry: "NL"},
		&workflows.OnboardingInput{EmployeeID: id("E", 1), Name: "Nora Noll", Role: "engineer", Department: "platform", Manager: "mia", StartDate: today.AddDate(0, 0, 14).Format(time.DateOnly), Equipment: []string{"laptop", "monitor"}},
		&workflows.OnboardingInput{EmployeeID: id("E", 2), Name: "Omar Ortiz", Role: "analyst", Department: "finance", Manager: "max", StartDate: today.Format(time.DateOnly), Equipment: []string{"laptop"}},
		&workflows.ExpenseInput{ExpenseID: id("X", 1), Requester: "max", Amount: 320, Category: "travel", Description: "train to a client"},
		&workflows.ExpenseInput{ExpenseID: id("X", 2), Requester: "mia", Amount: 2400, Category: "training", Description: "certification"},
		&workflows.ExpenseInput{ExpenseID: id("X", 3), Requester: "ben", Amount: 7800, Category: "equipment", Description: "workstation"},
	}
}

func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start a realistic mix of every process, some waiting for people",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.connect()
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			// Short and unique per run, even for runs a moment apart.
			tag := strconv.FormatInt(now.UnixMilli()%1_000_000_000, 36)
			var started []startResult
			for _, in := range demoInputs(tag, now) {
				run, err := a.startInstance(cmd.Context(), cl, workflows.ProcessOf(in.Key()), in)
				if err != nil {
					return err
				}
				started = append(started, startResult{WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: a.workflowURL(run.GetID())})
			}
			if a.jsonOutput() {
				return a.printJSON(started)
			}
			fmt.Fprintf(a.out, "started %d instances:\n", len(started))
			for _, s := range started {
				fmt.Fprintf(a.out, "  %s\n", s.WorkflowID)
			}
			hints := [][2]string{
				{"starter tasks --user ana", "ana's inbox (underwriting)"},
				{"starter approve loan-A-" + tag + "-2 --as ana", "one approval closes it"},
				{"starter approve loan-A-" + tag + "-3 --as ana", "four-eyes: 1 of 2 ..."},
				{"starter approve loan-A-" + tag + "-3 --as ben", "... and 2 of 2"},
				{"starter reject order-O-" + tag + "-2 --as fay --reason 'address mismatch'", "fraud review"},
				{"starter audit loan-A-" + tag + "-3", "who decided what, when, under which policy"},
				{"starter list", "everything, with stage and outcome"},
				{"starter report", "cycle times, automation rate, backlog"},
			}
			fmt.Fprintln(a.out, "\nNext:")
			w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			for _, h := range hints {
				fmt.Fprintf(w, "  %s\t# %s\n", h[0], h[1])
			}
			_ = w.Flush()
			fmt.Fprintf(a.out, "  open %s\n", a.cfg.UI.URL)
			return nil
		},
	}
}
