package tlsh

// RunsRecords reports whether the handler took the records over from
// crypto/tls.
func (h *Handler) RunsRecords() bool { return h.rec != nil }

// CiphersHeld reports whether the handler holds its two ciphers.
func (h *Handler) CiphersHeld() (in, out bool) {
	return h.rec != nil && h.rec.in.aead != nil, h.rec != nil && h.rec.out.aead != nil
}

// Peer is a TLS 1.3 client's record layer, for tests that craft what a
// client would not send: it seals what the test asks and opens what the
// server sent.
type Peer struct{ r *records }

// NewPeer runs the client's side of suite with its traffic secrets.
func NewPeer(suite uint16, clientSecret, serverSecret []byte) *Peer {
	c := newCipherCache(nil, 4)
	return &Peer{newRecords(suiteFor(suite), serverSecret, clientSecret, c)}
}

// Seal returns one record of inner type typ holding p.
func (p *Peer) Seal(typ byte, data []byte) []byte {
	b, err := p.r.seal(nil, typ, data)
	if err != nil {
		panic(err)
	}
	return b
}

// Open opens the record at the front of b and returns its inner type,
// its content and the rest of b.
func (p *Peer) Open(b []byte) (typ byte, data, rest []byte, err error) {
	n := int(b[3])<<8 | int(b[4])
	rec := append([]byte(nil), b[:5+n]...)
	a, err := p.r.in.cipher(p.r.cache)
	if err != nil {
		return 0, nil, nil, err
	}
	pt, err := a.Open(rec[5:5], p.r.in.nonce[:], rec[5:], rec[:5])
	if err != nil {
		return 0, nil, nil, err
	}
	p.r.in.seq++
	i := len(pt) - 1
	for i > 0 && pt[i] == 0 {
		i--
	}
	return pt[i], pt[:i], b[5+n:], nil
}

// UpdateIn and UpdateOut move one direction to its next traffic secret.
func (p *Peer) UpdateIn()  { p.r.in.next(p.r.cache) }
func (p *Peer) UpdateOut() { p.r.out.next(p.r.cache) }

// SkipOutRecords counts n records as sealed, as if the connection had
// sent them (for the test of the handler's own key update).
func (h *Handler) SkipOutRecords(n uint64) { h.rec.out.seq += n }

// RekeyAfter is how many records one key seals.
var RekeyAfter = rekeyAfter

// SetRekeyAfter makes the handlers update their key every n records,
// until the test ends.
func SetRekeyAfter(t interface{ Cleanup(func()) }, n uint64) {
	old := rekeyAfter
	rekeyAfter = n
	t.Cleanup(func() { rekeyAfter = old })
}

// SetOutRecords sets how many records the handler has sealed.
func (h *Handler) SetOutRecords(n uint64) { h.rec.out.seq = n }

// SkipInRecords counts n of the server's records as opened.
func (p *Peer) SkipInRecords(n uint64) { p.r.in.seq += n }

// SecretsWiped reports whether both traffic secrets and IVs are zero.
func (h *Handler) SecretsWiped() bool {
	var zero [48]byte
	var zeroIV [12]byte
	return h.rec.in.secret == zero && h.rec.out.secret == zero && h.rec.in.iv == zeroIV && h.rec.out.iv == zeroIV
}

// OutSecret is a copy of the handler's current sending traffic secret;
// OutRecords how many records it sealed under it.
func (h *Handler) OutSecret() []byte  { return append([]byte(nil), h.rec.out.secret[:]...) }
func (h *Handler) OutRecords() uint64 { return h.rec.out.seq }
