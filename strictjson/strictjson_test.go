package strictjson

import "testing"

type input struct {
	ApplicationID string  `json:"applicationId"`
	Amount        float64 `json:"amount"`
	Applicant     struct {
		Age int `json:"age"`
	} `json:"applicant"`
}

func TestDecodeRefusesAmbiguousInput(t *testing.T) {
	cases := map[string]string{
		`{"applicationId":"a","amount":1} {"amount":99}`: "input: unexpected data after the JSON object (byte 33)",
		`{"applicationId":"a","applicationId":"b"}`:      "applicationId: duplicate key",
		"{\"applicationId\":\"a\xff\"}":                  "applicationId: invalid UTF-8",
		`{"amount":"12"}`:                                "amount: want a number, got JSON string",
		`{"applicant":{"age":"old"}}`:                    "applicant.age: want a number, got JSON string",
		`{"amount":1e400}`:                               "amount: value out of range",
		`{"amout":1}`:                                    "amout: unknown key",
		`{"amount":1`:                                    "input: malformed JSON at byte 11",
	}
	for in, want := range cases {
		var v input
		err := Decode([]byte(in), &v)
		if err == nil || err.Error() != want {
			t.Errorf("Decode(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestDecodeAcceptsOneObject(t *testing.T) {
	var v input
	if err := Decode([]byte(" {\"applicationId\":\"A-1\",\"amount\":12.5,\"applicant\":{\"age\":40}}\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.ApplicationID != "A-1" || v.Amount != 12.5 || v.Applicant.Age != 40 {
		t.Fatalf("decoded %+v", v)
	}
}
