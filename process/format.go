package process

import (
	"fmt"
	"strconv"
	"strings"
)

// FormatAmount writes an amount as a fact: exact, and parseable again.
func FormatAmount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Money writes an amount for people: two decimals, thousands separated
// ("12,000.00").
func Money(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String() + frac
	}
	return b.String() + frac
}

// Details renders an input's static details compactly (the Web UI shows
// them in a small frame): a heading with the process and business key,
// then "name: value" pairs. Business facts only: every operator sees them.
func Details(process, key string, pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, "**"+pairs[i]+"**: "+pairs[i+1])
	}
	return fmt.Sprintf("**%s** `%s`\n\n%s\n", process, key, strings.Join(parts, " · "))
}
