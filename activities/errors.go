package activities

// Application error types: a 4xx from a system becomes a non-retryable
// application error of one of these types, which processes branch on.
const (
	ErrInvalidInput = "InvalidInput"
	ErrNotFound     = "NotFound"
	ErrKYCFailed    = "KYCFailed"
	ErrCardDeclined = "CardDeclined"
	// ErrVerificationFailed: the customer did not pass a verification.
	ErrVerificationFailed = "VerificationFailed"
	ErrOutOfStock         = "OutOfStock"
	ErrNotCovered         = "NotCovered"
	ErrRefused            = "Refused" // any other 4xx
	// ErrUnavailable is a 5xx, 408 or 429: Temporal retries it.
	ErrUnavailable = "Unavailable"
)
