package textsafe

import "testing"

func TestClean(t *testing.T) {
	cases := map[string]string{
		"approved, looks fine":          "approved, looks fine",
		"Zoë Müller — ok":               "Zoë Müller — ok",
		"ok\x1b[2K\x1b[1A\rforged line": `ok\x1b[2K\x1b[1A\rforged line`,
		"two\nlines\tand tab":           `two\nlines\tand tab`,
		"bell\a del\x7f c1\u009b":       `bell\x07 del\x7f c1\x9b`,
		"rtl \u202eevil\u202c":          `rtl \u202eevil\u202c`,
		"bad utf8 \xff end":             `bad utf8 \ufffd end`,
		"":                              "",
	}
	for in, want := range cases {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
