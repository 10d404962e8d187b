package bootstrap

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/gnetty/gnetty/pipeline"
)

// LoadBalancing chooses the worker loop for each accepted connection when
// one acceptor hands connections out (ReusePort off).
type LoadBalancing int

const (
	// RoundRobin takes worker loops in turn (gnet.RoundRobin).
	RoundRobin LoadBalancing = iota
	// LeastConnections takes the loop with the fewest connections
	// (gnet.LeastConnections).
	LeastConnections
	// SourceAddrHash hashes the peer address (gnet.SourceAddrHash).
	SourceAddrHash
)

// Config is the server's configuration; the zero value of every field
// means its default, as in net/http.Server. Fill it and pass it to New,
// which validates everything in one place and returns an error.
type Config struct {
	// Addrs are the addresses to listen on: "host:port" or "tcp://host:port"
	// for TCP (tcp4/tcp6 also), "unix:///path/to.sock" for a Unix socket.
	// At least one is required. Port 0 picks a free port (see Server.Addrs);
	// not allowed with ReusePort.
	Addrs []string

	// Initializer fills each new channel's pipeline. It runs on the
	// channel's loop before the active event. Required.
	Initializer func(ch *pipeline.Channel)

	// Workers is the number of worker event loops (gnet WithNumEventLoop).
	// 0 means runtime.NumCPU().
	Workers int

	// ReusePort off (default): one acceptor (gnet's main reactor, the
	// "boss") accepts and hands connections to the Workers loops chosen by
	// LoadBalancing. ReusePort on: every worker loop listens on its own
	// SO_REUSEPORT socket and the kernel spreads connections; there is no
	// boss and LoadBalancing has no effect. (gnet WithReusePort.)
	ReusePort bool

	// LoadBalancing picks the worker for each accepted connection (gnet
	// WithLoadBalancing).
	LoadBalancing LoadBalancing

	// LockOSThread pins each loop to an OS thread (gnet WithLockOSThread).
	LockOSThread bool

	// MaxConnections caps open connections; connections beyond it are
	// accepted and closed at once, and counted in Stats.Rejected. 0 means
	// no cap.
	MaxConnections int

	// ChannelOptions are the per-connection socket, buffer and water-mark
	// settings, shared with ClientConfig (Netty's childOption). Embedded:
	// cfg.HighWaterMark reads as it always did.
	ChannelOptions

	// Logger receives the server's and the channels' logs, gnet's included.
	// Default slog.Default().
	Logger *slog.Logger

	// GCPercent and MemoryLimit tune the Go garbage collector when the
	// server starts (runtime/debug.SetGCPercent and SetMemoryLimit; 0 keeps
	// GOGC and GOMEMLIMIT; a negative GCPercent turns the collector off
	// until MemoryLimit). They are process-wide: the last server started
	// wins. With many connections the live heap is large and every cycle
	// scans it; a higher GCPercent under a MemoryLimit trades headroom for
	// fewer cycles (with 5,000 fan-out members, GOGC=400 took gnetty from
	// 99k to 105k deliveries per CPU-second).
	GCPercent   int
	MemoryLimit int64
}

// ChannelOptions are the settings of each connection, the same for a
// Server's accepted channels and a Client's dialled ones; the zero value
// of every field means its default.
type ChannelOptions struct {
	// TCPDelay turns Nagle's algorithm back on; by default TCP_NODELAY is
	// set (gnet WithTCPNoDelay).
	TCPDelay bool

	// TCPKeepAlive enables TCP keep-alive probes after this idle time
	// (gnet WithTCPKeepAlive); 0 leaves them off.
	TCPKeepAlive time.Duration

	// ReadBufferCap is each loop's read buffer: the most bytes one read
	// hands the pipeline (gnet WithReadBufferCap). Default 64 KiB.
	ReadBufferCap int

	// WriteBufferCap is the size of gnet's static outbound buffer per
	// connection, beyond which it chains more (gnet WithWriteBufferCap).
	// Default 64 KiB.
	WriteBufferCap int

	// SocketRecvBuffer and SocketSendBuffer set SO_RCVBUF and SO_SNDBUF;
	// 0 keeps the system's.
	SocketRecvBuffer int
	SocketSendBuffer int

	// MaxUnreadBytes caps received bytes left unconsumed by the pipeline
	// (kept for the next read); beyond it the channel gets
	// ErrTooMuchUnread and is closed. Default 1 MiB; -1 disables.
	MaxUnreadBytes int

	// HighWaterMark and LowWaterMark bound each channel's pending outbound
	// bytes for writability (defaults 64 KiB and 32 KiB).
	HighWaterMark int
	LowWaterMark  int

	// CloseTimeout bounds how long a channel's graceful close waits for its
	// output to drain. Default 30 s.
	CloseTimeout time.Duration
}

// listenAddr is one parsed listen address.
type listenAddr struct {
	network string // tcp, tcp4, tcp6, unix
	address string
}

func (a listenAddr) proto() string { return a.network + "://" + a.address }

func parseAddr(s string) (listenAddr, error) {
	network, address := "tcp", s
	if i := strings.Index(s, "://"); i >= 0 {
		network, address = s[:i], s[i+3:]
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
		if _, _, err := net.SplitHostPort(address); err != nil {
			return listenAddr{}, fmt.Errorf("bootstrap: address %q: %w", s, err)
		}
	case "unix":
		if address == "" {
			return listenAddr{}, fmt.Errorf("bootstrap: address %q: empty socket path", s)
		}
	default:
		return listenAddr{}, fmt.Errorf("bootstrap: address %q: network %q not supported (tcp, tcp4, tcp6, unix)", s, network)
	}
	return listenAddr{network: network, address: address}, nil
}

// normalize fills in defaults and validates everything in one place.
func (c *Config) normalize() ([]listenAddr, pipeline.Config, error) {
	var chCfg pipeline.Config
	if len(c.Addrs) == 0 {
		return nil, chCfg, errors.New("bootstrap: no listen address")
	}
	if c.Initializer == nil {
		return nil, chCfg, errors.New("bootstrap: no channel initializer")
	}
	addrs := make([]listenAddr, 0, len(c.Addrs))
	for _, s := range c.Addrs {
		a, err := parseAddr(s)
		if err != nil {
			return nil, chCfg, err
		}
		if c.ReusePort && a.network != "unix" {
			if _, port, _ := net.SplitHostPort(a.address); port == "0" {
				return nil, chCfg, fmt.Errorf("bootstrap: address %q: port 0 with ReusePort would give every loop its own port", s)
			}
		}
		addrs = append(addrs, a)
	}
	if c.Workers < 0 || c.MaxConnections < 0 || c.ReadBufferCap < 0 || c.WriteBufferCap < 0 ||
		c.SocketRecvBuffer < 0 || c.SocketSendBuffer < 0 || c.TCPKeepAlive < 0 {
		return nil, chCfg, errors.New("bootstrap: negative setting")
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.ReadBufferCap == 0 {
		c.ReadBufferCap = 64 << 10
	}
	if c.WriteBufferCap == 0 {
		c.WriteBufferCap = 64 << 10
	}
	if c.MaxUnreadBytes == 0 {
		c.MaxUnreadBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch c.LoadBalancing {
	case RoundRobin, LeastConnections, SourceAddrHash:
	default:
		return nil, chCfg, fmt.Errorf("bootstrap: unknown load balancing %d", c.LoadBalancing)
	}
	chCfg = pipeline.Config{
		HighWaterMark: c.HighWaterMark,
		LowWaterMark:  c.LowWaterMark,
		CloseTimeout:  c.CloseTimeout,
		Logger:        c.Logger,
	}
	if err := chCfg.Normalize(); err != nil {
		return nil, chCfg, err
	}
	c.HighWaterMark, c.LowWaterMark, c.CloseTimeout = chCfg.HighWaterMark, chCfg.LowWaterMark, chCfg.CloseTimeout
	return addrs, chCfg, nil
}

func (c *Config) gnetOptions() []gnet.Option {
	nodelay := gnet.TCPNoDelay
	if c.TCPDelay {
		nodelay = gnet.TCPDelay
	}
	lb := map[LoadBalancing]gnet.LoadBalancing{
		RoundRobin:       gnet.RoundRobin,
		LeastConnections: gnet.LeastConnections,
		SourceAddrHash:   gnet.SourceAddrHash,
	}[c.LoadBalancing]
	return []gnet.Option{
		gnet.WithNumEventLoop(c.Workers),
		gnet.WithReusePort(c.ReusePort),
		gnet.WithReuseAddr(true),
		gnet.WithLoadBalancing(lb),
		gnet.WithLockOSThread(c.LockOSThread),
		gnet.WithTCPNoDelay(nodelay),
		gnet.WithTCPKeepAlive(c.TCPKeepAlive),
		gnet.WithReadBufferCap(c.ReadBufferCap),
		gnet.WithWriteBufferCap(c.WriteBufferCap),
		gnet.WithSocketRecvBuffer(c.SocketRecvBuffer),
		gnet.WithSocketSendBuffer(c.SocketSendBuffer),
		gnet.WithLogger(gnetLogger{c.Logger}),
	}
}
