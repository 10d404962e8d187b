package http1

import (
	"fmt"
	"net/http"
)

// StatusError is a request the server refuses, with the status to answer.
// The codec answers it, fires it as an error, and closes the connection
// when the request's framing cannot be trusted (always, for decode
// errors).
type StatusError struct {
	Code   int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http1: %d %s: %s", e.Code, http.StatusText(e.Code), e.Reason)
}

// PeerFault marks a refused request as the client's doing (see
// pipeline.PeerFault): logged at debug level, counted.
func (*StatusError) PeerFault() {}

func statusErr(code int, reason string) *StatusError { return &StatusError{Code: code, Reason: reason} }

// Preallocated decode errors: the hot path never formats.
var (
	errBareCR           = statusErr(400, "bare CR or LF in the request head")
	errRequestLine      = statusErr(400, "malformed request line")
	errMethod           = statusErr(400, "malformed method")
	errTarget           = statusErr(400, "malformed request target")
	errVersion          = statusErr(400, "malformed HTTP version")
	errVersionSupported = statusErr(505, "HTTP version not supported")
	errHeaderName       = statusErr(400, "malformed header name")
	errSpaceBeforeColon = statusErr(400, "whitespace before a header colon")
	errObsFold          = statusErr(400, "obsolete line folding")
	errHeaderValue      = statusErr(400, "control character in a header value")
	errTooManyHeaders   = statusErr(431, "too many header fields")
	errHeadTooLarge     = statusErr(431, "request header fields too large")
	errURITooLong       = statusErr(414, "request line too long")
	errCLAndTE          = statusErr(400, "both Content-Length and Transfer-Encoding")
	errContentLength    = statusErr(400, "malformed Content-Length")
	errCLMismatch       = statusErr(400, "differing Content-Length values")
	errTECoding         = statusErr(501, "unsupported transfer coding")
	errTEInvalid        = statusErr(400, "malformed Transfer-Encoding")
	errChunkSize        = statusErr(400, "malformed chunk size")
	errChunkCRLF        = statusErr(400, "chunk data not followed by CRLF")
	errChunkTooLarge    = statusErr(400, "chunk size too large")
	errTrailer          = statusErr(400, "malformed trailer")
	errNoHost           = statusErr(400, "missing Host header")
	errManyHosts        = statusErr(400, "more than one Host header")
)
