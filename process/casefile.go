package process

// CaseSection is one section of a case file, as the web inbox shows a task
// to its decider: what the process's input says, formatted for people.
type CaseSection struct {
	Title string     `json:"title"`
	Items []CaseItem `json:"items"`
}

// CaseItem is one line of a case file. Personal items (names, customer
// ids, free text about people, card numbers) are shown only to users who
// may see the task's personal data, and each such view is recorded.
type CaseItem struct {
	Label    string `json:"label"`
	Value    string `json:"value"`
	Personal bool   `json:"personal,omitempty"`
	// User says Value is a user id of the directory (shown with the name).
	User bool `json:"user,omitempty"`
}

// Item is a case file line of business facts.
func Item(label, value string) CaseItem { return CaseItem{Label: label, Value: value} }

// PersonalItem is a case file line of personal data.
func PersonalItem(label, value string) CaseItem {
	return CaseItem{Label: label, Value: value, Personal: true}
}

// UserItem is a case file line naming a user of the directory.
func UserItem(label, id string) CaseItem { return CaseItem{Label: label, Value: id, User: true} }

// MoneyIn writes an amount of currency for people ("12,000.00 EUR").
func MoneyIn(v float64, currency string) string { return Money(v) + " " + currency }
