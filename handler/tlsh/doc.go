// Package tlsh is TLS as a pipeline handler, as Netty's SslHandler is: it
// sits first in a channel's pipeline, takes the encrypted bytes the loop
// reads and fires the plaintext on, and encrypts what the handlers write,
// so HTTPS, WSS or any protocol runs on the event loop with no proxy in
// front.
//
// The handshake is Go's own crypto/tls, unmodified, so it gets every
// security fix with the Go release and supports what crypto/tls supports:
// TLS 1.2 and 1.3, ALPN, SNI with GetCertificate (per-name certificates;
// certificate reload without restart through CertFile), client
// certificates (mTLS), session resumption with tickets, close_notify. What
// it does not do: TLS 1.0/1.1 unless the tls.Config allows them,
// renegotiation (crypto/tls refuses it on servers), QUIC, or kernel TLS.
//
// Put it first on every channel with Initializer (the presets do, given
// their TLS setting); the bootstrap knows no handler.
//
// # Why crypto/tls, unmodified
//
// nbio drives a copy of crypto/tls changed to return when input runs out.
// A copy has to be kept in step with every Go security fix by hand, and
// its Config and Certificate are its own types, so an application's
// *tls.Config, GetCertificate and VerifyPeerCertificate would need
// converting. This handler runs crypto/tls as it is for every handshake,
// so it gets every fix with the Go release it is built with and takes the
// application's *tls.Config as it is.
//
// # How it runs
//
// The handshake runs on a goroutine of its own, which exits when the
// handshake ends: crypto/tls cannot resume a handshake that ran out of
// input, and its key exchange and signatures (a P-256 signature, an RSA
// one at 2048 bits costs a millisecond) are the expensive part, kept off
// the loop. The loop keeps reading for it and writes its flights in order.
// A handshake that does not finish within HandshakeTimeout closes the
// connection.
//
// After a TLS 1.3 server handshake (AES-128-GCM, AES-256-GCM or
// ChaCha20-Poly1305, which is every TLS 1.3 suite crypto/tls offers) the
// handler runs the record layer itself, on the channel's loop, and drops
// crypto/tls's connection with its buffers. It takes the traffic secrets
// from crypto/tls's documented KeyLogWriter (each handshake gets a clone of
// the application's tls.Config that logs them to the handler, and passes
// every line on to the application's own KeyLogWriter, if any). The record
// layer is RFC 8446 section 5 with Go's AEADs (crypto/cipher's GCM,
// x/crypto's ChaCha20-Poly1305): records opened and sealed in place, one
// read for all the records of one input, KeyUpdate both ways (answered
// when asked; the handler updates its own key every 2^24 records, under
// AES-GCM's limit), close_notify, and the checks crypto/tls makes, with
// the same alerts (bad_record_mac, record_overflow, unexpected_message for
// a handshake message split across a key change or interleaved with data,
// at most 16 records in a row carrying no data). An idle connection then
// keeps its two traffic secrets (about 1 KB in all, against 9 KB under
// crypto/tls); the cipher state, 1.3 KB per direction, is kept for each
// loop's ActiveCiphers most recently active directions, dropped after a
// second or two without records, and made again from the keys when such
// a direction gets traffic.
//
// TLS 1.2, the client side and FIPS 140-3 mode keep crypto/tls's own
// record layer, driven through an in-memory connection whose reads report
// "would block" (a temporary net.Error, which crypto/tls never makes
// sticky) when the bytes run out. Either way, an idle TLS connection holds
// no goroutine.
//
// Plaintext HTTP sent to a TLS port is answered "400 Bad Request" as
// net/http does; any other bad input gets the alert crypto/tls sends, if
// any, and the connection closes. Only that connection is affected.
//
// # Tested with
//
// curl (ALPN, chunked upload, keep-alive); openssl s_client (TLS 1.3 and
// 1.2 forced, ALPN, 1.1 refused; each TLS 1.3 suite with KeyUpdate asked
// for and not, 40 KB lines); gorilla and Node ws over wss:// with and
// without permessage-deflate; headless Chromium on the chat page over
// https:// trusting a test CA; Go's client with 500 concurrent
// handshakes, a stalled handshake, mTLS, SNI and resumption; a handler
// that refuses the connection on HandshakeDone (nothing sent with the
// Finished reaches the handlers behind it); the handler's own key updates
// read by crypto/tls; a fuzz test that splits records at every point; and
// records crafted with the client's secrets for every alert the record
// layer sends.
//
// # Concurrency
//
// A Handler belongs to one channel; its methods run on the channel's loop.
// State (and the HandshakeDone event) may be read on the loop after the
// handshake.
package tlsh
