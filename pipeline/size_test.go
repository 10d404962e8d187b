package pipeline

import (
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/gnetty/gnetty/internal/sizetest"
)

// An idle connection holds one Channel (with the head's and the tail's
// contexts) and one context per handler: their sizes are a memory budget
// (80 and 272 bytes; embedded in the gnet transport's connection, the
// Channel leaves it in the 352-byte class). What few channels
// use lives in channelExt, allocated on first use.
func TestChannelSize(t *testing.T) {
	sizetest.Budget(t, "Context", unsafe.Sizeof(Context{}), 80)
	sizetest.Budget(t, "Channel", unsafe.Sizeof(Channel{}), 272)
}

// A channel that is only read and written, on its loop, never makes its
// extension.
func TestIdleChannelHasNoExtension(t *testing.T) {
	tr := &sizeTransport{}
	tr.loop = newSizeLoop()
	ch := NewChannel(tr, Config{})
	ch.Activate()
	ch.Write([]byte("x"))
	ch.Flush()
	if tr.written != 1 || ch.ext.Load() != nil {
		t.Fatalf("written %d; extension %v", tr.written, ch.ext.Load())
	}
	key := NewAttrKey[int]("n")
	if _, ok := key.Get(ch); ok || ch.ext.Load() != nil {
		t.Fatal("reading a missing attribute made the extension")
	}
	key.Set(ch, 7)
	if v, ok := key.Get(ch); !ok || v != 7 || ch.ext.Load() == nil {
		t.Fatalf("attribute %d %v after Set", v, ok)
	}
}

// sizeLoop runs everything at once on the caller: enough for a channel
// that is only written to.
type sizeLoop struct{}

func newSizeLoop() sizeLoop                           { return sizeLoop{} }
func (sizeLoop) Execute(task func())                  { task() }
func (sizeLoop) Schedule(time.Duration, func()) Timer { return nil }
func (sizeLoop) InLoop() bool                         { return true }
func (sizeLoop) Now() time.Time                       { return time.Time{} }

type sizeTransport struct {
	loop    EventLoop
	written int
}

func (t *sizeTransport) EventLoop() EventLoop { return t.loop }
func (t *sizeTransport) LocalAddr() net.Addr  { return nil }
func (t *sizeTransport) RemoteAddr() net.Addr { return nil }
func (t *sizeTransport) Write(msg any) error {
	t.written++
	Release(msg)
	return nil
}
func (t *sizeTransport) Flush()       {}
func (t *sizeTransport) Pending() int { return 0 }
func (t *sizeTransport) Close()       {}
func (t *sizeTransport) Wake()        {}
