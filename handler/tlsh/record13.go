package tlsh

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"hash"
	"slices"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/gnetty/gnetty/pipeline"
)

// TLS 1.3's record layer (RFC 8446 section 5), run by the handler itself
// once crypto/tls has finished a server handshake: crypto/tls's
// connection, with its record and handshake buffers, is dropped, and a
// connection keeps only its two traffic secrets. The cipher state (an
// AES-GCM key schedule is over a kilobyte) lives in a per-loop cache of the
// most recently active connections and is made again from the secret when
// an evicted connection gets traffic.

// The content types and alerts the record layer uses.
const (
	recordCCS       = 20
	recordAlert     = 21
	recordHandshake = 22
	recordData      = 23

	alertCloseNotify       = 0
	alertUnexpectedMessage = 10
	alertBadRecordMAC      = 20
	alertRecordOverflow    = 22
	alertDecodeError       = 50
	alertProtocolVersion   = 70
	alertInternalError     = 80
	alertUserCanceled      = 90

	typeKeyUpdate = 24

	maxPlaintext  = 16 << 10
	maxCiphertext = maxPlaintext + 256
	// maxUseless bounds records in a row that carry no application data
	// (empty records, KeyUpdate, user_canceled), as
	// crypto/tls does, so a peer cannot keep the loop busy with them.
	maxUseless = 16
)

// rekeyAfter is how many records one key seals before the handler
// updates it: AES-GCM's limit is 2^24.5 full records (RFC 8446 5.5). A
// variable only so that a test can make crypto/tls see several updates.
var rekeyAfter uint64 = 1 << 24

// alert is a TLS alert the handler sends, as an error.
type alert uint8

func (a alert) Error() string {
	switch a {
	case alertUnexpectedMessage:
		return "tls: unexpected message"
	case alertBadRecordMAC:
		return "tls: bad record MAC"
	case alertRecordOverflow:
		return "tls: record overflow"
	case alertDecodeError:
		return "tls: error decoding message"
	case alertProtocolVersion:
		return "tls: protocol version not supported"
	case alertInternalError:
		return "tls: internal error"
	}
	return "tls: alert"
}

// errTooManyIgnored ends a connection that sent maxUseless records in a
// row with no application data.
var errTooManyIgnored = errors.New("tls: too many ignored records")

// suite13 is a TLS 1.3 cipher suite the handler's record layer runs.
type suite13 struct {
	keyLen  int
	hashLen int
	hash    func() hash.Hash
	aead    func(key []byte) (cipher.AEAD, error)
}

var (
	suiteAES128 = &suite13{16, sha256.Size, sha256.New, aesGCM}
	suiteAES256 = &suite13{32, sha512.Size384, sha512.New384, aesGCM}
	suiteChaCha = &suite13{32, sha256.Size, sha256.New, chacha20poly1305.New}
)

func suiteFor(id uint16) *suite13 {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return suiteAES128
	case tls.TLS_AES_256_GCM_SHA384:
		return suiteAES256
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return suiteChaCha
	}
	return nil
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// expandLabel is HKDF-Expand-Label with an empty context (RFC 8446 7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = append(info, byte(n>>8), byte(n), byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil {
		panic("tlsh: " + err.Error()) // n is a key, IV or hash length: never too long
	}
	return out
}

// half is one direction's keys: the traffic secret, the IV made from it,
// the record sequence number, and (while the loop's cache holds it) the
// cipher, whose key is made from the secret when the cipher is.
type half struct {
	suite  *suite13
	secret [48]byte // hash-length bytes used
	iv     [12]byte
	nonce  [12]byte // scratch: iv ^ seq
	seq    uint64
	aead   cipher.AEAD // nil while not in the cache
	slot   int32       // index in the cache, -1 when not in it
	ref    bool        // used since the cache's hand last passed
}

// setSecret installs a traffic secret and the IV made from it, with the
// sequence number at 0.
func (h *half) setSecret(s *suite13, secret []byte, c *cipherCache) {
	c.drop(h)
	h.suite = s
	n := copy(h.secret[:], secret)
	clear(h.secret[n:])
	copy(h.iv[:], expandLabel(s.hash, secret, "iv", len(h.iv)))
	h.seq = 0
}

// next moves to the next traffic secret (a KeyUpdate, RFC 8446 7.2).
func (h *half) next(c *cipherCache) {
	n := h.suite.hashLen
	s := expandLabel(h.suite.hash, h.secret[:n], "traffic upd", n)
	h.setSecret(h.suite, s, c)
	clear(s)
}

// wipe zeroes the direction's secret and what was made from it.
func (h *half) wipe() {
	clear(h.secret[:])
	clear(h.iv[:])
	clear(h.nonce[:])
}

// cipher returns the direction's AEAD, making it (and putting it in the
// loop's cache) when it is not there, with the nonce for the next record
// in h.nonce.
func (h *half) cipher(c *cipherCache) (cipher.AEAD, error) {
	if h.seq == ^uint64(0) {
		return nil, errors.New("tls: sequence number wraparound")
	}
	if h.aead == nil {
		key := expandLabel(h.suite.hash, h.secret[:h.suite.hashLen], "key", h.suite.keyLen)
		a, err := h.suite.aead(key)
		clear(key) // the cipher keeps its own schedule
		if err != nil {
			return nil, err
		}
		h.aead = a
		c.admit(h)
	}
	h.ref = true
	h.nonce = h.iv
	for i := range 8 {
		h.nonce[4+i] ^= byte(h.seq >> (56 - 8*i))
	}
	return h.aead, nil
}

// records is a connection's TLS 1.3 record layer after the handshake.
// It runs on the channel's loop.
type records struct {
	in, out half
	cache   *cipherCache
	hand    [5]byte // a KeyUpdate message arriving in pieces
	handN   uint8
	useless uint8 // records in a row with no application data
}

func newRecords(s *suite13, clientSecret, serverSecret []byte, c *cipherCache) *records {
	r := &records{cache: c}
	r.in.slot, r.out.slot = -1, -1
	r.in.setSecret(s, clientSecret, c)
	r.out.setSecret(s, serverSecret, c)
	return r
}

// release gives the connection's ciphers back to the cache (it closed)
// and zeroes its traffic secrets.
func (r *records) release() {
	r.cache.drop(&r.in)
	r.cache.drop(&r.out)
	r.in.wipe()
	r.out.wipe()
}

// seal appends one record of type typ holding p (at most maxPlaintext
// bytes) to dst, encrypted in place.
func (r *records) seal(dst []byte, typ byte, p []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, 5+len(p)+1+16) // 16: the tag of every TLS 1.3 AEAD
	dst = append(dst, 0, 0, 0, 0, 0)
	return r.sealAt(append(dst, p...), start, typ)
}

// sealAt seals b[start+5:] (at most maxPlaintext bytes) where it is, as
// one record of type typ whose header goes in the 5 bytes of room at
// b[start:]; it returns b through the record's end.
func (r *records) sealAt(b []byte, start int, typ byte) ([]byte, error) {
	a, err := r.out.cipher(r.cache)
	if err != nil {
		return b[:start], err
	}
	body := start + 5
	n := len(b) - body + 1 + a.Overhead()
	b = slices.Grow(b, 1+a.Overhead())
	b[start], b[start+1], b[start+2], b[start+3], b[start+4] = recordData, 3, 3, byte(n>>8), byte(n)
	b = append(b, typ)
	b = a.Seal(b[:body], r.out.nonce[:], b[body:], b[start:body])
	r.out.seq++
	return b, nil
}

// sealData appends p as application data records, updating the key when
// it has sealed rekeyAfter records.
func (r *records) sealData(dst, p []byte) ([]byte, error) {
	var err error
	for len(p) > 0 {
		if r.out.seq >= rekeyAfter {
			if dst, err = r.seal(dst, recordHandshake, []byte{typeKeyUpdate, 0, 0, 1, 0}); err != nil {
				return dst, err
			}
			r.out.next(r.cache)
		}
		n := min(len(p), maxPlaintext)
		if dst, err = r.seal(dst, recordData, p[:n]); err != nil {
			return dst, err
		}
		p = p[n:]
	}
	return dst, nil
}

// sealBatch seals b[5:], application data written after 5 bytes of room
// for a header: in place when it fits one record (no copy), else into a
// new buffer (b goes back to the pool).
func (r *records) sealBatch(b []byte) ([]byte, error) {
	p := b[5:]
	if len(p) > maxPlaintext || r.out.seq >= rekeyAfter {
		out, err := r.sealData(getBuf(), p)
		putBuf(b)
		return out, err
	}
	return r.sealAt(b, 0, recordData)
}

// sealAlert appends an alert record.
func (r *records) sealAlert(dst []byte, a byte) []byte {
	level := byte(2)
	if a == alertCloseNotify {
		level = 1
	}
	dst, _ = r.seal(dst, recordAlert, []byte{level, a})
	return dst
}

// What open found in a record.
type event uint8

const (
	gotData        event = iota // application data (may be empty)
	gotNothing                  // a record with nothing to deliver
	gotCloseNotify              // the peer closed its side
)

// open handles one complete record rec (header included), decrypting it
// in place. It returns what it held, the application data (a part of
// rec), and what to send back (a KeyUpdate answer) appended to reply. An
// error is an alert to send, or a remote alert (the peer's error).
func (r *records) open(rec, reply []byte) (event, []byte, []byte, error) {
	switch rec[0] {
	case recordData:
	case recordCCS:
		// The handler runs the records only after the client's Finished,
		// and RFC 8446 section 5 makes a change_cipher_spec after the
		// peer's Finished an unexpected record (crypto/tls still ignores
		// it, also in the middle of a split KeyUpdate).
		return 0, nil, reply, alert(alertUnexpectedMessage)
	default:
		return 0, nil, reply, alert(alertUnexpectedMessage)
	}
	a, err := r.in.cipher(r.cache)
	if err != nil {
		return 0, nil, reply, alert(alertInternalError)
	}
	p, err := a.Open(rec[5:5], r.in.nonce[:], rec[5:], rec[:5])
	if err != nil {
		return 0, nil, reply, alert(alertBadRecordMAC)
	}
	r.in.seq++
	if len(p) > maxPlaintext+1 {
		return 0, nil, reply, alert(alertRecordOverflow)
	}
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, reply, alert(alertUnexpectedMessage) // no content type
	}
	typ, p := p[i], p[:i]
	if typ != recordHandshake && r.handN > 0 {
		// Handshake messages are not interleaved with other records.
		return 0, nil, reply, alert(alertUnexpectedMessage)
	}
	switch typ {
	case recordData:
		if len(p) == 0 {
			return r.nothing(reply, nil)
		}
		r.useless = 0
		return gotData, p, reply, nil
	case recordAlert:
		if len(p) != 2 {
			return 0, nil, reply, alert(alertUnexpectedMessage)
		}
		switch p[1] {
		case alertCloseNotify:
			return gotCloseNotify, nil, reply, nil
		case alertUserCanceled:
			return r.nothing(reply, nil)
		}
		return 0, nil, reply, &remoteAlert{p[1]}
	case recordHandshake:
		if len(p) == 0 {
			return 0, nil, reply, alert(alertUnexpectedMessage)
		}
		return r.handshake(p, reply)
	}
	return 0, nil, reply, alert(alertUnexpectedMessage)
}

// nothing counts a record that delivered nothing.
func (r *records) nothing(reply []byte, err error) (event, []byte, []byte, error) {
	if r.useless++; r.useless > maxUseless {
		return 0, nil, reply, errTooManyIgnored
	}
	return gotNothing, nil, reply, err
}

// handshake takes post-handshake messages. A server gets only KeyUpdate
// (RFC 8446 4.6.3), which must end its record: the next record uses the
// new key.
func (r *records) handshake(p, reply []byte) (event, []byte, []byte, error) {
	for len(p) > 0 {
		n := copy(r.hand[r.handN:], p)
		r.handN += uint8(n)
		p = p[n:]
		if r.hand[0] != typeKeyUpdate {
			return 0, nil, reply, alert(alertUnexpectedMessage)
		}
		if r.handN < 4 {
			continue
		}
		if r.hand[1] != 0 || r.hand[2] != 0 || r.hand[3] != 1 {
			return 0, nil, reply, alert(alertDecodeError)
		}
		if r.handN < 5 {
			continue
		}
		requested := r.hand[4]
		if requested > 1 {
			return 0, nil, reply, alert(alertDecodeError)
		}
		r.handN = 0
		if len(p) > 0 {
			return 0, nil, reply, alert(alertUnexpectedMessage) // a key change inside a record
		}
		if requested == 1 {
			// Answer with our own KeyUpdate under the old key, then
			// switch, as crypto/tls does.
			var err error
			if reply, err = r.seal(reply, recordHandshake, []byte{typeKeyUpdate, 0, 0, 1, 0}); err != nil {
				return 0, nil, reply, alert(alertInternalError)
			}
			r.out.next(r.cache)
		}
		r.in.next(r.cache)
	}
	return r.nothing(reply, nil)
}

// remoteAlert is a fatal alert the peer sent.
type remoteAlert struct{ desc uint8 }

func (a *remoteAlert) Error() string { return "remote error: " + tls.AlertError(a.desc).Error() }

// cipherCache holds the ciphers of a loop's most recently active
// connections (each direction counts once): a connection pushed out keeps
// its keys and makes its cipher again when it next has traffic. The
// replacement is CLOCK: an entry used since the hand last passed gets
// another turn. A sweep every cacheSweep also takes the cipher of every
// entry unused since the last sweep, so idle connections hold none
// whatever the cache's size. It runs on its loop.
type cipherCache struct {
	slots []*half
	hand  int
	loop  pipeline.EventLoop
	sweep func()
	armed bool // a sweep is scheduled
}

// DefaultActiveCiphers is Config.ActiveCiphers's default.
const DefaultActiveCiphers = 4096

// cacheSweep is how often the cache drops the ciphers of directions that
// had no record since its last sweep: a connection idle for one to two
// sweeps keeps its keys only.
const cacheSweep = time.Second

// cacheKey is the key of a loop's cipher cache of a given size.
type cacheKey struct{ size int }

func newCipherCache(loop pipeline.EventLoop, size int) *cipherCache {
	c := &cipherCache{slots: make([]*half, size), loop: loop}
	c.sweep = c.sweepIdle
	return c
}

// sweepIdle drops the ciphers unused since the last sweep and schedules
// the next sweep while any are left.
func (c *cipherCache) sweepIdle() {
	c.armed = false
	left := false
	for i, e := range c.slots {
		switch {
		case e == nil:
		case e.ref:
			e.ref = false
			left = true
		default:
			e.aead, e.slot = nil, -1
			c.slots[i] = nil
		}
	}
	if left {
		c.arm()
	}
}

func (c *cipherCache) arm() {
	if !c.armed && c.loop != nil {
		c.armed = true
		c.loop.Schedule(cacheSweep, c.sweep)
	}
}

func (c *cipherCache) admit(h *half) {
	if len(c.slots) == 0 {
		return
	}
	for {
		e := c.slots[c.hand]
		if e != nil && e.ref {
			e.ref = false
			c.hand = (c.hand + 1) % len(c.slots)
			continue
		}
		if e != nil {
			e.aead, e.slot = nil, -1
		}
		c.slots[c.hand] = h
		h.slot = int32(c.hand)
		c.hand = (c.hand + 1) % len(c.slots)
		c.arm()
		return
	}
}

// drop takes h's cipher away (a key change, or the connection closed).
func (c *cipherCache) drop(h *half) {
	if h.slot >= 0 {
		c.slots[h.slot] = nil
	}
	h.aead, h.slot = nil, -1
}
