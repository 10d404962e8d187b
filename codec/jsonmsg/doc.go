// Package jsonmsg is gnetty's JSON configuration (github.com/json-iterator/go)
// and the small helpers message dispatch needs: a key peek that reads one
// top-level string field without decoding the message or allocating, and
// pooled encode/decode.
//
// The configuration is built once: not ConfigFastest, which writes floats
// with six digits, but a frozen Config with EscapeHTML off, map keys in any
// order and json.RawMessage validated.
//
// # Concurrency
//
// Everything here is safe for concurrent use.
package jsonmsg
