package socketio

import (
	"bytes"
	"errors"

	"github.com/gnetty/gnetty/codec/jsonmsg"
)

// Args are the arguments of an event or an acknowledgement as they came
// from the client: raw JSON values, with binary attachments in place of
// their placeholders.
//
// # Buffer lifetime
//
// Args own their bytes (copied off the transport): keep them as long as
// you like, on any goroutine.
type Args struct {
	raw         [][]byte
	attachments [][]byte
}

// ErrArgIndex is returned by Decode for an argument the event does not
// have.
var ErrArgIndex = errors.New("socketio: no such argument")

// Len returns the number of arguments.
func (a *Args) Len() int { return len(a.raw) }

// Raw returns argument i's JSON text (placeholders included), or nil.
func (a *Args) Raw(i int) []byte {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Bytes returns argument i when it is a binary attachment.
func (a *Args) Bytes(i int) ([]byte, bool) {
	if i < 0 || i >= len(a.raw) || len(a.attachments) == 0 {
		return nil, false
	}
	v, err := a.generic(i)
	if err != nil {
		return nil, false
	}
	b, ok := v.([]byte)
	return b, ok
}

// String returns argument i when it is a JSON string.
func (a *Args) String(i int) (string, bool) {
	var s string
	if i < 0 || i >= len(a.raw) || firstNonSpace(a.raw[i]) != '"' {
		return "", false
	}
	if err := jsonmsg.API.Unmarshal(a.raw[i], &s); err != nil {
		return "", false
	}
	return s, true
}

// Decode decodes argument i into v, as encoding/json would. Into *[]byte,
// a binary attachment is copied as it is; into *any, binary attachments
// anywhere in the value come out as []byte.
func (a *Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.raw) {
		return ErrArgIndex
	}
	switch p := v.(type) {
	case *[]byte:
		if b, ok := a.Bytes(i); ok {
			*p = append((*p)[:0], b...)
			return nil
		}
	case *any:
		g, err := a.generic(i)
		if err != nil {
			return err
		}
		*p = g
		return nil
	}
	return jsonmsg.API.Unmarshal(a.raw[i], v)
}

// Values returns the arguments ready to be sent again (Emit, Ack): raw
// JSON values (json.Marshaler, written as they came), and values with
// attachments decoded with the attachments as []byte, so an echo keeps
// binary binary.
func (a *Args) Values() []any {
	out := make([]any, len(a.raw))
	raws := make([]rawJSON, len(a.raw))
	for i, r := range a.raw {
		if len(a.attachments) > 0 && bytes.Contains(r, []byte(`"_placeholder"`)) {
			if g, err := a.generic(i); err == nil {
				out[i] = g
				continue
			}
		}
		raws[i] = r
		out[i] = &raws[i]
	}
	return out
}

// rawJSON is an argument as it came from a client: valid JSON, written
// out again as it is.
type rawJSON []byte

// MarshalJSON returns r.
func (r *rawJSON) MarshalJSON() ([]byte, error) { return *r, nil }

func (a *Args) generic(i int) (any, error) {
	var g any
	if err := jsonmsg.API.Unmarshal(a.raw[i], &g); err != nil {
		return nil, err
	}
	if len(a.attachments) == 0 {
		return g, nil
	}
	return reconstruct(g, a.attachments)
}

// fill copies elems (raw JSON values) and takes atts; one allocation for
// the bytes, one for the slice headers.
func (a *Args) fill(elems [][]byte, atts [][]byte) {
	a.attachments = atts
	if len(elems) == 0 {
		return
	}
	total := 0
	for _, e := range elems {
		total += len(e)
	}
	buf := make([]byte, 0, total)
	a.raw = make([][]byte, len(elems))
	for i, e := range elems {
		buf = append(buf, e...)
		a.raw[i] = buf[len(buf)-len(e) : len(buf) : len(buf)]
	}
}

// newArgs copies the elements of a JSON array (skipping the event name
// when skipFirst) and takes the attachments.
func newArgs(data []byte, skipFirst bool, atts [][]byte) (*Args, error) {
	var stack [8][]byte
	elems, err := jsonmsg.SplitArray(data, stack[:0])
	if err != nil {
		return nil, err
	}
	if skipFirst && len(elems) > 0 {
		elems = elems[1:]
	}
	a := &Args{}
	a.fill(elems, atts)
	return a, nil
}
