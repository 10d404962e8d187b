// Package frame provides Netty's classic framers on the codec.Decoder
// contract: a line decoder (LF and CRLF), a length-field decoder and the
// matching length-field prepender, and a string codec.
//
// Decoders fire each frame as a *pipeline.Bytes that points into the
// received bytes (no copy): valid only until the next handler returns.
// StringCodec turns frames into strings for handlers that keep them.
//
// # Concurrency
//
// Decoders keep per-channel state: create them in the channel initializer,
// one per channel. The prepender and the string codec are stateless and may
// be shared. Every method runs on the channel's event loop.
package frame
