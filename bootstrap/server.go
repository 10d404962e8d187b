package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	gerrors "github.com/panjf2000/gnet/v2/pkg/errors"
	"golang.org/x/sys/unix"

	"github.com/gnetty/gnetty/pipeline"
)

// Server accepts connections on gnet event loops and runs a pipeline per
// connection.
//
// # Concurrency
//
// Start, Serve, Shutdown, Addrs and Stats are safe for concurrent use, and
// may race: a Shutdown that comes first wins (Start and Serve then return
// ErrServerClosed and nothing listens); a Shutdown during Start waits for
// the listeners, then stops them; Serve called twice waits in both and
// returns the one shutdown's result.
type Server struct {
	cfg   Config
	addrs []listenAddr
	e     *engine

	mu       sync.Mutex
	started  bool
	closed   bool          // Shutdown came before Start
	ready    chan struct{} // closed when Start has finished booting
	eng      gnet.Engine
	bound    []net.Addr
	stopped  chan struct{} // closed when gnet has stopped
	runErr   error
	shutOnce sync.Once
	shutErr  error
}

// ErrServerClosed is returned by Start and Serve after Shutdown.
var ErrServerClosed = errors.New("bootstrap: server closed")

// errStarted is returned by Start when the server is already started.
var errStarted = errors.New("bootstrap: server already started")

// Stats are a server's connection counters.
type Stats struct {
	Active   int64  // open connections
	Accepted uint64 // connections that got a channel
	Rejected uint64 // connections closed at once (MaxConnections, or shutting down)
	// Writes counts batches handed to the sockets: one writev each, for
	// however many messages the batch held.
	Writes uint64
}

// New validates the configuration and returns a server that is not yet
// listening.
func New(cfg Config) (*Server, error) {
	addrs, chCfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	maxUnread := cfg.MaxUnreadBytes
	if maxUnread < 0 {
		maxUnread = 0
	}
	return &Server{
		cfg:     cfg,
		addrs:   addrs,
		e:       newEngine(cfg.Logger, chCfg, cfg.Initializer, cfg.MaxConnections, maxUnread),
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
	}, nil
}

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Start listens and starts the loops in the background. It returns once
// the server accepts connections, or with the error that kept it from
// doing so: ErrServerClosed after Shutdown, an error if already started.
func (s *Server) Start() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.started {
		s.mu.Unlock()
		return errStarted
	}
	s.started = true
	s.mu.Unlock()
	if s.cfg.GCPercent != 0 {
		debug.SetGCPercent(s.cfg.GCPercent)
	}
	if s.cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(s.cfg.MemoryLimit)
	}

	protos := make([]string, len(s.addrs))
	for i, a := range s.addrs {
		protos[i] = a.proto()
	}
	go func() {
		err := gnet.Rotate(s.e, protos, s.cfg.gnetOptions()...)
		s.mu.Lock()
		s.runErr = err
		s.mu.Unlock()
		for _, l := range s.e.allLoops() {
			l.stop()
		}
		close(s.stopped)
	}()
	select {
	case eng := <-s.e.booted:
		bound, err := s.resolve(eng)
		s.mu.Lock()
		s.eng, s.bound = eng, bound
		s.mu.Unlock()
		close(s.ready)
		if err != nil {
			_ = s.Shutdown(context.Background())
			return err
		}
		s.cfg.Logger.Info("gnetty: listening", "addrs", bound, "workers", s.cfg.Workers, "reuseport", s.cfg.ReusePort)
		return nil
	case <-s.stopped:
		close(s.ready)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.runErr == nil {
			return errors.New("bootstrap: engine stopped during start")
		}
		return fmt.Errorf("bootstrap: %w", s.runErr)
	}
}

// resolve asks the kernel for the bound addresses (port 0 gets one).
func (s *Server) resolve(eng gnet.Engine) ([]net.Addr, error) {
	var out []net.Addr
	for _, a := range s.addrs {
		fd, err := eng.DupListener(a.network, a.address)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: listener %s: %w", a.proto(), err)
		}
		sa, err := unix.Getsockname(fd)
		_ = unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: listener %s: %w", a.proto(), err)
		}
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			out = append(out, &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port})
		case *unix.SockaddrInet6:
			out = append(out, &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port})
		case *unix.SockaddrUnix:
			out = append(out, &net.UnixAddr{Name: sa.Name, Net: "unix"})
		default:
			return nil, fmt.Errorf("bootstrap: listener %s: unexpected address %T", a.proto(), sa)
		}
	}
	return out, nil
}

// Addrs returns the addresses the server listens on, in Config.Addrs
// order, with the ports the kernel chose for port 0. Nil before Start.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// Stats returns the connection counters.
func (s *Server) Stats() Stats {
	return Stats{Active: s.e.active.Load(), Accepted: s.e.accepted.Load(), Rejected: s.e.rejected.Load(), Writes: s.e.writes.Load()}
}

// Serve starts the server if needed and runs until ctx is done or the
// engine stops (Shutdown from elsewhere stops it too), then shuts down
// gracefully within Config.CloseTimeout and returns Shutdown's result.
// After Shutdown it returns ErrServerClosed at once.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Start(); err != nil && err != errStarted {
		return err
	}
	<-s.ready
	select {
	case <-ctx.Done():
	case <-s.stopped:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.CloseTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}

// Shutdown stops the server gracefully:
//
//  1. new connections are accepted and closed at once (gnet cannot stop
//     listening while its loops run);
//  2. a pipeline.ShutdownEvent is fired through every pipeline, so that
//     protocols can say goodbye and close;
//  3. Shutdown waits until every channel has closed, or ctx is done;
//  4. channels still open are closed at once, gnet is stopped, and
//     Shutdown returns once its loops have exited.
//
// It returns ctx.Err() when channels had to be closed by force. Calling it
// again returns the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() { s.shutErr = s.shutdown(ctx) })
	return s.shutErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	<-s.ready // a Start under way finishes booting first
	s.mu.Lock()
	eng := s.eng
	s.mu.Unlock()
	e := s.e
	e.draining.Store(true)
	select {
	case <-s.stopped:
		return nil
	default:
	}
	loops := e.allLoops()
	for _, l := range loops {
		l.Execute(func() {
			for c := range l.conns {
				func() {
					defer c.ch.Recover()
					c.ch.Pipeline().FireUserEvent(pipeline.ShutdownEvent{})
				}()
			}
		})
	}
	var err error
	if e.active.Load() > 0 {
		select {
		case <-e.idle:
		case <-s.stopped:
		case <-ctx.Done():
			err = ctx.Err()
			for _, l := range loops {
				l.Execute(func() {
					for c := range l.conns {
						c.Close()
					}
				})
			}
		}
	}
	// Stop gnet: a task returning ErrEngineShutdown makes a loop exit and
	// the engine stop; without any loop at hand, Engine.Stop does it.
	stopped := false
	for _, l := range loops {
		if l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			return gerrors.ErrEngineShutdown
		})) == nil {
			stopped = true
			break
		}
	}
	if !stopped {
		done := make(chan struct{})
		go func() {
			defer close(done)
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = eng.Stop(sctx)
		}()
		defer func() { <-done }()
	}
	<-s.stopped
	s.cfg.Logger.Info("gnetty: stopped", "accepted", e.accepted.Load(), "rejected", e.rejected.Load())
	return err
}
