// Package wsframe is the server side of the WebSocket framing protocol (RFC
// 6455) with permessage-deflate (RFC 7692), for gnetty pipelines. The
// handshake handler installs a Codec once the upgrade has been answered.
//
// It uses github.com/gobwas/ws for what it does well (header rules with
// CheckHeader, unmasking with Cipher, close codes) and parses frames itself
// from the connection's buffer: gobwas/ws's readers block on an io.Reader,
// which an event loop cannot do, and a header parsed from a byte slice
// costs no allocation.
//
// # Buffer lifetime
//
// A *Message fired inbound points into the codec's buffers (or straight
// into the received bytes for a single-frame message): valid only until
// the handler returns. Copy what you keep.
//
// # Broadcast
//
// Prepare encodes a message once; writing the same *Prepared to many
// channels copies the same bytes into each channel's batch.
//
// # Concurrency
//
// One Codec per channel; its methods run on the channel's loop. Prepared
// values are immutable and may be shared by any goroutines.
//
// # Outbound text is always UTF-8
//
// The encoder refuses a text message (or a Prepared text) that is not valid
// UTF-8 with ErrInvalidText instead of sending it: a peer must fail the
// connection on such a frame. The check costs about 18 ns for 64 bytes and
// 48 ns for 1 KiB; a Prepared broadcast is checked once, not per member.
// Close reasons are repaired (invalid bytes become U+FFFD).
package wsframe
