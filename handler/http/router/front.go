package router

import (
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
)

// Front is the HTTP front of a server's pipeline, the chain every HTTP
// server of gnetty starts with (the WebSocket and Socket.IO presets, and
// a plain HTTP server alike):
//
//	http1.ServerCodec -> http1.RequestTimeout -> http1.Aggregator -> [Before...] -> Router
//
// under the slot names their packages export (http1.CodecName,
// http1.TimeoutName, http1.AggregatorName, Name), which the WebSocket
// upgrade replaces and removes.
type Front struct {
	// Router answers the requests (required).
	Router *Router
	// Codec holds the request decoder's limits (zero: the defaults).
	Codec http1.Config
	// Timeout is the request read timeout (http1.NewRequestTimeout): 0
	// means 10 s.
	Timeout time.Duration
	// MaxBodyBytes bounds request bodies (413 beyond); 0 means
	// http1.DefaultMaxContentLength.
	MaxBodyBytes int64
	// Before are handlers placed between the aggregator and the router,
	// in order: a session.Manager, say, under session.Name.
	Before []Slot
}

// Slot is a named handler for Front.Before.
type Slot struct {
	Name    string
	Handler any
}

// Install adds the chain at the end of p. Call it from an initializer,
// on the channel's loop.
func (f Front) Install(p *pipeline.Pipeline) error {
	if err := p.AddLast(http1.CodecName, http1.NewServerCodec(f.Codec)); err != nil {
		return err
	}
	if err := p.AddLast(http1.TimeoutName, http1.NewRequestTimeout(f.Timeout)); err != nil {
		return err
	}
	if err := p.AddLast(http1.AggregatorName, http1.NewAggregator(f.MaxBodyBytes)); err != nil {
		return err
	}
	for _, s := range f.Before {
		if err := p.AddLast(s.Name, s.Handler); err != nil {
			return err
		}
	}
	return p.AddLast(Name, f.Router)
}

// Initializer returns a channel initializer (bootstrap.Config's) that
// installs the chain on every channel; a channel whose chain cannot be
// built (a handler without a name, say) is closed.
func (f Front) Initializer() func(*pipeline.Channel) {
	return func(ch *pipeline.Channel) {
		if err := f.Install(ch.Pipeline()); err != nil {
			ch.Logger().Error("router: cannot build the HTTP chain", "err", err)
			ch.Close()
		}
	}
}
