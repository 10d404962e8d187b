package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/gnetty/gnetty/pipeline"
)

// ClientConfig configures a Client; the zero value of every field means
// its default.
type ClientConfig struct {
	// Workers is the number of event loops (default runtime.NumCPU()).
	// Dialled connections go to the loop with the fewest connections.
	Workers int
	// DialTimeout bounds each Dial when its context has no earlier
	// deadline. Default 10 s.
	DialTimeout time.Duration
	// ChannelOptions are the per-connection settings, as in Config.
	ChannelOptions
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
}

// Client dials connections and runs a pipeline for each on gnet event
// loops of its own: the same loops, batching and channel semantics as the
// Server. Load tools and protocol tests use it.
//
// # Concurrency
//
// Dial and Close are safe for concurrent use.
type Client struct {
	cfg ClientConfig
	e   *engine
	cli *gnet.Client

	mu     sync.Mutex
	closed bool
}

// NewClient starts a client's event loops.
func NewClient(cfg ClientConfig) (*Client, error) {
	sc := Config{
		Addrs:          []string{"127.0.0.1:0"}, // unused; satisfies validation
		Initializer:    func(*pipeline.Channel) {},
		Workers:        cfg.Workers,
		ChannelOptions: cfg.ChannelOptions,
		Logger:         cfg.Logger,
	}
	_, chCfg, err := sc.normalize()
	if err != nil {
		return nil, err
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	cfg.Logger = sc.Logger
	maxUnread := max(sc.MaxUnreadBytes, 0)
	c := &Client{cfg: cfg, e: newEngine(sc.Logger, chCfg, nil, 0, maxUnread)}
	opts := sc.gnetOptions()
	c.cli, err = gnet.NewClient(c.e, opts...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := c.cli.Start(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return c, nil
}

var (
	defaultClient     *Client
	defaultClientErr  error
	defaultClientOnce sync.Once
)

// DefaultClient returns the client loops shared by the process, which the
// presets' dialers (websocket.Dial, httpclient) use when given none: one
// event loop per CPU, started on first use and never closed. An idle
// connection on them holds no goroutine. Safe from any goroutine.
func DefaultClient() (*Client, error) {
	defaultClientOnce.Do(func() {
		defaultClient, defaultClientErr = NewClient(ClientConfig{Workers: runtime.NumCPU(), Logger: slog.Default()})
	})
	return defaultClient, defaultClientErr
}

// ErrClientClosed is returned by Dial after Close.
var ErrClientClosed = errors.New("bootstrap: client closed")

// Dial connects to address ("tcp" or "unix" network), runs init on the new
// channel's loop to fill its pipeline, fires the active event and returns
// the channel.
func (c *Client) Dial(ctx context.Context, network, address string, init func(ch *pipeline.Channel)) (*pipeline.Channel, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClientClosed
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.DialTimeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(!c.cfg.TCPDelay)
	}
	req := &dialRequest{init: init}
	if _, err := c.cli.EnrollContext(nc, req); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// EnrollContext returns once OnOpen has run on the loop.
	if req.ch == nil {
		return nil, errors.New("bootstrap: connection closed while opening")
	}
	return req.ch, nil
}

// Stats returns the client's connection counters.
func (c *Client) Stats() Stats {
	return Stats{Active: c.e.active.Load(), Accepted: c.e.accepted.Load()}
}

// Close closes every connection and stops the loops.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	err := c.cli.Stop()
	for _, l := range c.e.allLoops() {
		l.stop()
	}
	return err
}
