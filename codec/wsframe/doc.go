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
// # Compression and context takeover
//
// permessage-deflate (RFC 7692) is agreed by the handshake
// (upgrade.Config.Compression, DeflateOptions.Accept) and set in
// Config.Deflate. Compressors and decompressors are pooled, never kept per
// connection (a compressor is hundreds of KB, a reader 40 KB), so a
// compressed connection without context takeover holds no compression
// state between messages: every message is compressed alone, as gorilla
// does.
//
// With context takeover (DeflateOptions.ContextTakeover) each direction
// keeps its LZ77 window between messages, as browsers, Node ws and zlib
// do, within DeflateOptions.Memory bytes per connection (default
// DefaultDeflateMemory, 8 KiB): the server's window gets half (capped by
// server_max_window_bits), and the client's window is cut to what fits by
// answering client_max_window_bits (512 B to 32 KiB), or refused with
// client_no_context_takeover when the client cannot be told (an offer
// without client_max_window_bits means 32 KiB). The connection keeps only
// those two windows; the pooled compressor is primed with the window for
// each message (klauspost/compress's ResetDict), the decompressor reads
// with it as its dictionary. server_max_window_bits from 8 to 15 is
// honoured with a compressor whose window is that small. A message that
// inflates past MaxMessageSize is refused with 1009, one that does not
// inflate with 1007. A 4 KiB window sends about 2.5 times fewer bytes
// than no window on chat-like JSON, for about 5.5 µs more a message
// (benchmarks/README.md has the figures for each window).
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
