package activities

// Application error types: a 4xx from a system becomes a non-retryable
// application error of one of these types, which processes branch on.
const (
	ErrInvalidInput = "InvalidInput"
	ErrNotFound     = "NotFound"
	ErrKYCFailed    = "KYCFailed"
	ErrCardDeclined = "CardDeclined"
	ErrOutOfStock   = "OutOfStock"
	ErrNotCovered   = "NotCovered"
	ErrRefused      = "Refused" // any other 4xx
)

// codeTypes maps the systems' error codes to application error types.
var codeTypes = map[string]string{
	"invalid_input":           ErrInvalidInput,
	"missing_idempotency_key": ErrInvalidInput,
	"not_found":               ErrNotFound,
	"kyc_failed":              ErrKYCFailed,
	"card_declined":           ErrCardDeclined,
	"out_of_stock":            ErrOutOfStock,
	"not_covered":             ErrNotCovered,
}
