package layer

import (
	"errors"
	"strconv"
	"sync"

	"github.com/gobwas/ws"

	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/pipeline"
)

// Message is what travels through a layer: an encoded payload, and the
// application's labels for it, carried beside the payload (through Redis
// too) so that a Tap or a Sequence reads them without parsing Data.
type Message struct {
	Text bool
	Data []byte
	// Kind is the application's name for what the message is ("" for
	// none), at most 255 bytes.
	Kind string
	// Epoch and Seq place a numbered message in its group's log (Seq 0:
	// not numbered); Epoch is at most 255 bytes.
	Epoch string
	Seq   uint64
}

// Layer is the channel-layer contract.
type Layer interface {
	// Name returns ch's name, the address Send takes.
	Name(ch *pipeline.Channel) string
	// Register makes ch reachable by its name until it closes.
	Register(ch *pipeline.Channel)
	// GroupAdd puts ch in group; GroupDiscard takes it out.
	GroupAdd(group string, ch *pipeline.Channel) error
	GroupDiscard(group string, ch *pipeline.Channel) error
	// GroupSend delivers msg to every member of group, once each.
	GroupSend(group string, msg Message) error
	// GroupSendExcept is GroupSend skipping the channel called except
	// (as Name returns it): a notice about the sender, for the others.
	GroupSendExcept(group, except string, msg Message) error
	// Send delivers msg to the channel called name.
	Send(name string, msg Message) error
	// Members returns the number of local members of group.
	Members(group string) int
	// Each calls f for every local member of group, from a snapshot (f
	// may call the layer).
	Each(group string, f func(ch *pipeline.Channel))
	// Groups returns the groups that have local members.
	Groups() []string
	// Subscribe makes f a member of group on this node, beside its
	// channels: f receives every message sent to the group, from this
	// node (synchronously, on the sender's goroutine) or another (on the
	// layer's receiving goroutine). It must not block. A protocol whose
	// members are not channels (Socket.IO's polling sessions) delivers
	// from f itself. cancel ends the subscription.
	Subscribe(group string, f func(except string, m Message)) (cancel func())
	// Close releases the layer.
	Close() error
}

// ErrNoChannel is returned by Send for a name no open channel has.
var ErrNoChannel = errors.New("layer: no such channel")

// ErrClosed is returned by a layer used after Close.
var ErrClosed = errors.New("layer: closed")

// Local is the single-node Layer.
type Local struct {
	// Encode turns a Message into what is written to channels; the default
	// is a WebSocket frame prepared once (wsframe.Prepare).
	Encode func(Message) any
	// Tap, when set, sees every group message this node delivers (once,
	// after the members were written to) and the members it went to: to
	// track acknowledgements, or to act on a message of a kind of the
	// application's (close the members of a session that logged out).
	// sentTo is valid only during the call.
	Tap func(group string, m Message, sentTo []*pipeline.Channel)

	mu     sync.RWMutex
	groups map[string]map[*pipeline.Channel]struct{}
	named  map[string]*pipeline.Channel
	subs   map[string]map[*subscriber]struct{}
}

type subscriber struct {
	f func(except string, m Message)
}

var _ Layer = (*Local)(nil)

// NewLocal returns an empty in-memory layer.
func NewLocal() *Local {
	return &Local{groups: map[string]map[*pipeline.Channel]struct{}{}, named: map[string]*pipeline.Channel{}, subs: map[string]map[*subscriber]struct{}{}}
}

func (l *Local) encode(m Message) any {
	if l.Encode != nil {
		return l.Encode(m)
	}
	op := ws.OpBinary
	if m.Text {
		op = ws.OpText
	}
	return wsframe.Prepare(op, m.Data)
}

// Name implements Layer: the channel's ID in decimal.
func (l *Local) Name(ch *pipeline.Channel) string { return strconv.FormatUint(ch.ID(), 10) }

// Register implements Layer.
func (l *Local) Register(ch *pipeline.Channel) {
	l.mu.Lock()
	l.named[l.Name(ch)] = ch
	l.mu.Unlock()
}

// GroupAdd implements Layer.
func (l *Local) GroupAdd(group string, ch *pipeline.Channel) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groups[group]
	if g == nil {
		g = map[*pipeline.Channel]struct{}{}
		l.groups[group] = g
	}
	g[ch] = struct{}{}
	return nil
}

// GroupDiscard implements Layer.
func (l *Local) GroupDiscard(group string, ch *pipeline.Channel) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if g := l.groups[group]; g != nil {
		delete(g, ch)
		if len(g) == 0 {
			delete(l.groups, group)
		}
	}
	return nil
}

// GroupSend implements Layer: encoded once, written to every open member;
// closed members are dropped from the group.
func (l *Local) GroupSend(group string, m Message) error {
	return l.GroupSendExcept(group, "", m)
}

// GroupSendExcept implements Layer.
func (l *Local) GroupSendExcept(group, except string, m Message) error {
	var frame any
	var dead []*pipeline.Channel
	var subs []*subscriber
	var sent *[]*pipeline.Channel
	if l.Tap != nil {
		sent = sentPool.Get().(*[]*pipeline.Channel)
	}
	l.mu.RLock()
	for ch := range l.groups[group] {
		if !ch.IsActive() {
			dead = append(dead, ch)
			continue
		}
		if except != "" && l.Name(ch) == except {
			continue
		}
		if frame == nil {
			frame = l.encode(m) // once, and only if a channel takes it
		}
		ch.WriteAndFlush(frame)
		if sent != nil {
			*sent = append(*sent, ch)
		}
	}
	for s := range l.subs[group] {
		subs = append(subs, s)
	}
	l.mu.RUnlock()
	for _, s := range subs {
		s.f(except, m)
	}
	for _, ch := range dead {
		_ = l.GroupDiscard(group, ch)
	}
	if sent != nil {
		l.Tap(group, m, *sent)
		clear(*sent)
		*sent = (*sent)[:0]
		sentPool.Put(sent)
	}
	return nil
}

// sentPool holds the lists of members a group message went to, for Tap.
var sentPool = sync.Pool{New: func() any { s := make([]*pipeline.Channel, 0, 64); return &s }}

// Send implements Layer.
func (l *Local) Send(name string, m Message) error {
	l.mu.RLock()
	ch := l.named[name]
	l.mu.RUnlock()
	if ch == nil || !ch.IsActive() {
		if ch != nil {
			l.mu.Lock()
			delete(l.named, name)
			l.mu.Unlock()
		}
		return ErrNoChannel
	}
	ch.WriteAndFlush(l.encode(m))
	return nil
}

// Members implements Layer (closed members still listed until the next
// send finds them; subscribers count as members).
func (l *Local) Members(group string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.groups[group]) + len(l.subs[group])
}

// Subscribe implements Layer.
func (l *Local) Subscribe(group string, f func(except string, m Message)) (cancel func()) {
	s := &subscriber{f: f}
	l.mu.Lock()
	g := l.subs[group]
	if g == nil {
		g = map[*subscriber]struct{}{}
		l.subs[group] = g
	}
	g[s] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs[group], s)
			if len(l.subs[group]) == 0 {
				delete(l.subs, group)
			}
			l.mu.Unlock()
		})
	}
}

// Each implements Layer.
func (l *Local) Each(group string, f func(ch *pipeline.Channel)) {
	l.mu.RLock()
	g := l.groups[group]
	chs := make([]*pipeline.Channel, 0, len(g))
	for ch := range g {
		chs = append(chs, ch)
	}
	l.mu.RUnlock()
	for _, ch := range chs {
		f(ch)
	}
}

// Groups implements Layer.
func (l *Local) Groups() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(l.groups)+len(l.subs))
	for g := range l.groups {
		out = append(out, g)
	}
	for g := range l.subs {
		if l.groups[g] == nil {
			out = append(out, g)
		}
	}
	return out
}

// Close implements Layer.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.groups = map[string]map[*pipeline.Channel]struct{}{}
	l.named = map[string]*pipeline.Channel{}
	l.subs = map[string]map[*subscriber]struct{}{}
	return nil
}
