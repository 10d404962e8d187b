package chat

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/wsframe"
	"github.com/gnetty/gnetty/executor"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/ws/ack"
	"github.com/gnetty/gnetty/handler/ws/dispatch"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/preset/websocket"
)

// Config configures the chat; zero values mean the defaults.
type Config struct {
	// Addr to listen on; default 127.0.0.1:8080.
	Addr string
	// Store keeps users and history; default a MemoryStore.
	Store Store
	// Limits.
	MaxNameLen        int           // default 32 characters
	MaxMessageLen     int           // default 2000 characters
	MessagesPerSecond float64       // per connection, default 10 (burst 20)
	MaxRoomsPerConn   int           // default 10
	MaxMembersPerRoom int           // default 10000
	MaxQueueBytes     int           // slow-consumer limit, default 1 MiB
	HistoryOnJoin     int           // messages sent on join, default 50
	AckTimeout        time.Duration // default 5 s
	AckRetries        int           // default 3
	// Workers is the number of event loops (default one per CPU).
	Workers int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registry for metrics; default a new one (served on /metrics).
	Registry *prometheus.Registry
	// Redis, when set, shares the chat between nodes: rooms through the
	// Redis channel layer, history and sequence numbers in Redis (Store is
	// then a RedisStore), presence with per-node heartbeats, sessions.
	// One server's client, a Sentinel set's (redis.NewFailoverClient) or
	// a Cluster's (redis.NewClusterClient); layer.DialRedis makes the one
	// a URL names.
	Redis redis.UniversalClient
	// RedisWaitReplicas, when above 0, acknowledges a post only once that
	// many replicas have it (Redis's WAIT, bounded by RedisWaitTimeout,
	// default 1 s; past it the post is answered "unavailable"), so that a
	// failover loses no acknowledged post; see RedisStoreConfig. It costs
	// a replication round trip per post.
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
	// Node names this node (default random); PresenceTTL bounds how long
	// a crashed node's users stay online (default 15 s).
	Node        string
	PresenceTTL time.Duration
	// TrustedProxies, when set, are the addresses of TLS-terminating
	// proxies in front of the chat: their "X-Forwarded-Proto: https"
	// makes the session cookie Secure.
	TrustedProxies []netip.Prefix
	// AllowedOrigins are the origins (scheme://host[:port]) besides the
	// chat's own that may POST /login and /logout from a browser; every
	// other cross-site POST is refused with 403 (login CSRF).
	AllowedOrigins []string
	// NoGuests turns guest login (a name alone) off: every login needs a
	// password (the first login with a password to a free name makes the
	// account). Connection tokens still work.
	NoGuests bool
	// LoginAttempts is how many password logins a minute one client
	// address may try (a name gets half as many); default 20.
	LoginAttempts int
	// JWTSecret, when set, lets a WebSocket connect without a session,
	// with a JWT signed HS256 with it, with the claims sub (the name),
	// exp (required) and optionally avatar (see token.go). The token
	// comes as the subprotocol "bearer.JWT" (beside Subprotocol), which
	// keeps it out of URLs and so out of logs and Referer headers, or as
	// ?token=JWT.
	JWTSecret []byte
	// JWTAudience and JWTIssuer, when set, are required of a token's aud
	// and iss claims.
	JWTAudience string
	JWTIssuer   string
	// MetricsToken, when set, is required of GET /metrics as
	// "Authorization: Bearer <MetricsToken>" (compared in constant time).
	MetricsToken string
	// MetricsAddr, when set, serves /metrics on that address alone (an
	// operator's network), with net/http on goroutines of its own, and
	// not on Addr.
	MetricsAddr string
	// TLS, when set, serves the chat over TLS on Addr (https:// and
	// wss://, session cookies Secure), with the TLS handler on each
	// connection's loop (see handler/tlsh; tlsh.ServerConfig loads a
	// certificate pair and reloads it when it changes).
	TLS *tls.Config
	// APIKey, when set, serves POST /api/publish to backends that send
	// "Authorization: Bearer <APIKey>" (see publish.go); without it the
	// route does not exist.
	APIKey string
}

func (c *Config) normalize() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.MaxNameLen <= 0 {
		c.MaxNameLen = 32
	}
	if c.MaxMessageLen <= 0 {
		c.MaxMessageLen = 2000
	}
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = 10
	}
	if c.MaxRoomsPerConn <= 0 {
		c.MaxRoomsPerConn = 10
	}
	if c.MaxMembersPerRoom <= 0 {
		c.MaxMembersPerRoom = 10000
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = slowconsumer.DefaultLimit
	}
	if c.HistoryOnJoin <= 0 {
		c.HistoryOnJoin = 50
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.AckRetries <= 0 {
		c.AckRetries = 3
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.LoginAttempts <= 0 {
		c.LoginAttempts = 20
	}
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = 15 * time.Second
	}
}

// Avatars is the allow-list of avatar keys (the page draws them); any
// other value is replaced by the first.
var Avatars = []string{"cat", "dog", "fox", "owl", "panda", "frog", "bear", "koala"}

// Server is a running chat. Start, Addrs, Stats and Conns come from the
// embedded websocket.Server.
//
// # Concurrency
//
// Every method is safe for concurrent use. Start, Serve and Shutdown may
// race: a Shutdown that comes first wins, and the chat's own resources
// (executor, sessions, layer, store) are closed exactly once, after the
// connections. The Registry's metrics are read from any goroutine.
type Server struct {
	*websocket.Server
	cfg      Config
	store    Store
	sessions *session.Manager
	dir      directory
	logins   *loginLimiter
	exec     *executor.Executor
	d        *dispatch.Dispatcher
	slow     *slowconsumer.Stats
	m        metrics
	layer    layer.Layer
	backend  backend // local, or Redis with several nodes

	finishOnce sync.Once
	finishErr  error

	metricsMu   sync.Mutex
	metricsSrv  *metricsServer // with Config.MetricsAddr
	metricsDone bool

	janitorStop, janitorDone chan struct{} // the BoltStore's session janitor
	stopping                 atomic.Bool   // Shutdown began: /healthz says so

	mu     sync.Mutex
	epochs map[string]string // each room's epoch as last delivered here
}

// statusTryAgainLater (1013) closes a reader too slow for its queue.
const statusTryAgainLater = websocket.StatusTryAgainLater

// New builds the chat server (not yet listening).
func New(cfg Config) (*Server, error) {
	cfg.normalize()
	s := &Server{cfg: cfg, store: cfg.Store, logins: newLoginLimiter(cfg.LoginAttempts), epochs: map[string]string{}, slow: &slowconsumer.Stats{}}
	if err := s.setupBackend(); err != nil {
		return nil, err
	}
	s.exec = executor.New(executor.Config{Workers: 4})
	s.m = newMetrics(cfg.Registry, s)
	s.d = dispatch.New(dispatch.Config{Key: "type", MaxMessageSize: cfg.MaxMessageLen*6 + 1024, Logger: cfg.Logger})
	s.routes()
	ws, err := websocket.New(websocket.Config{
		Addrs:  []string{cfg.Addr},
		Routes: map[string]websocket.Handler{"/ws/chat/{room}": (*handler)(s)},
		HTTP:   s.httpRoutes,
		Upgrade: upgrade.Config{
			Authorize: func(ctx *pipeline.Context, req *http1.Request) (int, string) {
				if !validRoom(req.Param("room")) {
					return 400, "bad room name" // refused before the upgrade, not closed after it
				}
				return s.authorize(ctx.Channel(), req)
			},
			OnRefused: func(status int, reason string) {
				s.m.handshakeFailures.WithLabelValues(reason).Inc()
			},
			Compression:  true,
			Subprotocols: []string{Subprotocol},
		},
		Sessions: s.sessions,
		Handlers: func(p *pipeline.Pipeline, hs *upgrade.Handshake) error {
			slow := slowconsumer.New(slowconsumer.Config{Limit: cfg.MaxQueueBytes, Code: statusTryAgainLater, Stats: s.slow})
			if err := p.AddAfter(wsframe.Name, slowconsumer.Name, slow); err != nil {
				return err
			}
			if err := p.AddLast(ack.Name, ack.New(ack.Config{Timeout: cfg.AckTimeout, MaxRetries: cfg.AckRetries})); err != nil {
				return err
			}
			return p.AddLast(dispatch.Name, s.d)
		},
		TLS:    cfg.TLS,
		Server: bootstrap.Config{Workers: cfg.Workers, Logger: cfg.Logger},
	})
	if err != nil {
		s.close()
		return nil, err
	}
	s.Server = ws
	return s, nil
}

func (s *Server) close() {
	if s.janitorStop != nil {
		close(s.janitorStop)
		<-s.janitorDone
		s.janitorStop = nil
	}
	s.exec.Close()
	s.sessions.Close()
	s.backend.close()
	_ = s.layer.Close()
}

// Start listens (and on Config.MetricsAddr, when set) and starts the
// loops in the background.
func (s *Server) Start() error {
	if err := s.startMetrics(); err != nil {
		return err
	}
	return s.Server.Start()
}

// Serve runs until ctx ends (or Shutdown is called), then shuts down
// gracefully: every connection gets close 1001, the executor drains
// (history flushed), the store closes. Safe for concurrent use with
// Shutdown; after Shutdown it returns bootstrap.ErrServerClosed.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan struct{})
	defer close(served)
	go func() {
		select {
		case <-ctx.Done():
			s.stopping.Store(true) // as the shutdown begins: a balancer stops sending
		case <-served:
		}
	}()
	if err := s.startMetrics(); err != nil {
		return err
	}
	err := s.Server.Serve(ctx)
	if errors.Is(err, bootstrap.ErrServerClosed) {
		return err
	}
	return s.finish(err)
}

// Shutdown stops the server (see Serve for what it flushes). Safe for
// concurrent use with Serve and itself: the executor, sessions, layer
// and store are closed once, after the connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	return s.finish(s.Server.Shutdown(ctx))
}

// finish closes what the chat owns, once, and returns err or else the
// store's close error.
func (s *Server) finish(err error) error {
	s.finishOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.stopMetrics(ctx)
		cancel()
		s.close()
		s.finishErr = s.store.Close()
	})
	if err == nil {
		err = s.finishErr
	}
	return err
}
