// Package codec holds the byte-to-message decoding contract every gnetty
// decoder is built on (Netty's ByteToMessageDecoder): a Step looks at the
// bytes received so far, fires the messages it can cut out of them, and
// says how much it consumed. Decoder drives a Step, keeps the unconsumed
// tail per channel and hands it on when the decoder leaves the pipeline.
//
// Sub-packages provide the decoders: frame (line and length-field framers,
// a length prepender, a string codec), and the protocol codecs built on
// them.
//
// # Concurrency
//
// A Decoder holds per-channel state: create one per channel, in the
// channel initializer. Its methods run on the channel's event loop.
//
// # Buffer lifetime
//
// When the decoder has nothing buffered, Step sees the transport's read
// buffer itself (zero copy), and a frame fired as *pipeline.Bytes points
// into it: valid only until the handler that receives it returns. Only a
// partial frame left at the end of a read is copied, into the decoder's
// cumulation buffer.
package codec
