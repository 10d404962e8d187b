// Command chat runs the chat preset: open http://127.0.0.1:8080 and chat.
//
//	go run ./examples/chat                     # history kept in ./chat-data
//	go run ./examples/chat -addr :9000 -data /var/lib/chat
//
// Several nodes share one chat through Redis:
//
//	go run ./examples/chat -addr :8081 -redis redis://127.0.0.1:6379/0
//	go run ./examples/chat -addr :8082 -redis redis://127.0.0.1:6379/0
//
// With no single point of failure: a Sentinel set (-redis with
// master_name and the sentinels) or a Redis Cluster (-redis-cluster with
// seed nodes); -redis-wait 1 acknowledges a post only once a replica has
// it, so that a failover loses no acknowledged post:
//
//	go run ./examples/chat -redis 'redis://127.0.0.1:26379/0?master_name=chat&addr=127.0.0.1:26380&addr=127.0.0.1:26381' -redis-wait 1
//	go run ./examples/chat -redis-cluster 'redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002'
//
// Every flag can also be set through the environment: CHAT_ADDR,
// CHAT_DATA, CHAT_MAX_MESSAGE_LEN, CHAT_RATE, CHAT_MAX_ROOMS, CHAT_REDIS,
// CHAT_REDIS_CLUSTER, CHAT_REDIS_WAIT, CHAT_NODE, CHAT_PRESENCE_TTL, CHAT_TRUSTED_PROXIES, CHAT_ALLOWED_ORIGINS,
// CHAT_JWT_SECRET, CHAT_JWT_AUDIENCE, CHAT_JWT_ISSUER, CHAT_API_KEY,
// CHAT_TLS_CERT, CHAT_TLS_KEY, CHAT_NO_GUESTS, CHAT_METRICS_ADDR,
// CHAT_METRICS_TOKEN, CHAT_LOG_FORMAT, CHAT_LOG_LEVEL (secrets are better
// given in the environment than as flags, which other users of the
// machine can see).
// A flag on the command line wins over its variable; both take the same
// units (CHAT_PRESENCE_TTL=15s). A bad value in either, an address that
// cannot be listened on, or a data directory that cannot be used stops
// the command with exit status 2 and an error that names the flag and
// its variable, before anything listens; "open ... in a browser" is
// logged once the server listens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gnetty/gnetty/handler/tlsh"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/preset/chat"
)

// options are the command's settings, from flags or the environment.
type options struct {
	addr, data, redisURL, node string
	redisCluster               string
	redisWait                  int
	maxLen, rate, maxRooms     int
	presenceTTL                time.Duration
	trustedProxies             []netip.Prefix
	allowedOrigins             []string
	jwtSecret, apiKey          string
	jwtAudience, jwtIssuer     string
	tlsCert, tlsKey            string
	noGuests                   bool
	metricsAddr, metricsToken  string
	logFormat, logLevel        string
}

// envNames maps each flag to the environment variable that sets it when
// the flag is not given.
var envNames = map[string]string{
	"addr": "CHAT_ADDR", "data": "CHAT_DATA", "max-message-len": "CHAT_MAX_MESSAGE_LEN",
	"rate": "CHAT_RATE", "max-rooms": "CHAT_MAX_ROOMS", "redis": "CHAT_REDIS", "node": "CHAT_NODE",
	"redis-cluster": "CHAT_REDIS_CLUSTER", "redis-wait": "CHAT_REDIS_WAIT",
	"presence-ttl": "CHAT_PRESENCE_TTL", "trusted-proxies": "CHAT_TRUSTED_PROXIES", "allowed-origins": "CHAT_ALLOWED_ORIGINS",
	"jwt-secret": "CHAT_JWT_SECRET", "jwt-audience": "CHAT_JWT_AUDIENCE", "jwt-issuer": "CHAT_JWT_ISSUER", "api-key": "CHAT_API_KEY",
	"tls-cert": "CHAT_TLS_CERT", "tls-key": "CHAT_TLS_KEY", "no-guests": "CHAT_NO_GUESTS",
	"metrics-addr": "CHAT_METRICS_ADDR", "metrics-token": "CHAT_METRICS_TOKEN",
	"log-format": "CHAT_LOG_FORMAT", "log-level": "CHAT_LOG_LEVEL",
}

// errUsage marks command-line errors the flag package has reported.
var errUsage = errors.New("usage")

// parseOptions reads flags, then the environment for every flag not given
// on the command line, through the same parser (a duration is "15s" in
// both), and validates everything. Errors name the flag or variable.
func parseOptions(args []string, getenv func(string) string, usage io.Writer) (options, error) {
	var o options
	var proxies, origins string
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(usage) // the flag package reports command-line errors, and -h, there
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.data, "data", "chat-data", "directory of the message store (\"\" keeps history in memory)")
	fs.IntVar(&o.maxLen, "max-message-len", 2000, "longest message in characters")
	fs.IntVar(&o.rate, "rate", 10, "messages per second per connection")
	fs.IntVar(&o.maxRooms, "max-rooms", 10, "rooms per connection")
	fs.StringVar(&o.redisURL, "redis", "", "Redis URL shared by several nodes (redis://host:port/db), or a Sentinel set's (redis://SENTINEL:PORT/0?master_name=NAME&addr=SENTINEL2:PORT&addr=...); empty: single node")
	fs.StringVar(&o.redisCluster, "redis-cluster", "", "Redis Cluster URL shared by several nodes (redis://SEED:PORT?addr=SEED2:PORT&addr=...), instead of -redis")
	fs.IntVar(&o.redisWait, "redis-wait", 0, "replicas a post must reach (Redis WAIT) before it is acknowledged; 0: acknowledge at once (a failover can lose the last posts)")
	fs.StringVar(&o.node, "node", "", "this node's name with -redis (default random)")
	fs.DurationVar(&o.presenceTTL, "presence-ttl", 15*time.Second, "how long a crashed node's users stay online with -redis (a duration: 15s)")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated CIDRs of TLS-terminating proxies whose X-Forwarded-Proto: https makes the session cookie Secure")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated origins besides the chat's own that may POST /login and /logout")
	fs.StringVar(&o.jwtSecret, "jwt-secret", "", "HS256 secret (32 bytes or more) of connection tokens (the subprotocol bearer.JWT, or ?token=JWT): no login needed")
	fs.StringVar(&o.jwtAudience, "jwt-audience", "", "the aud claim every connection token must carry (empty: not checked)")
	fs.StringVar(&o.jwtIssuer, "jwt-issuer", "", "the iss claim every connection token must carry (empty: not checked)")
	fs.BoolVar(&o.noGuests, "no-guests", false, "every login needs a password (no guests with a name alone)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve /metrics on this address alone (an operator's network), not on -addr")
	fs.StringVar(&o.metricsToken, "metrics-token", "", "require Authorization: Bearer TOKEN (16 characters or more) of /metrics")
	fs.StringVar(&o.apiKey, "api-key", "", "key (16 characters or more) of POST /api/publish (Authorization: Bearer KEY); empty: no publish API")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate: serve https:// and wss:// (with -tls-key; reloaded when the files change)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q: settings are flags (-name value), see -h", fs.Arg(0)))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	unparsed := map[string]bool{} // reported once, not checked again
	fs.VisitAll(func(f *flag.Flag) {
		name := envNames[f.Name]
		if v := getenv(name); v != "" && !given[f.Name] {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", name, v, err))
				unparsed[f.Name] = true
			}
		}
	})
	positive := func(flagName string, v int) {
		if !unparsed[flagName] && v <= 0 {
			errs = append(errs, fmt.Errorf("-%s (%s) must be at least 1, not %d", flagName, envNames[flagName], v))
		}
	}
	positive("max-message-len", o.maxLen)
	positive("rate", o.rate)
	positive("max-rooms", o.maxRooms)
	if o.redisURL != "" && o.redisCluster != "" {
		errs = append(errs, errors.New("-redis (CHAT_REDIS) and -redis-cluster (CHAT_REDIS_CLUSTER) are one or the other"))
	}
	for _, r := range []struct {
		flag, url string
		cluster   bool
	}{{"redis", o.redisURL, false}, {"redis-cluster", o.redisCluster, true}} {
		if r.url == "" || unparsed[r.flag] {
			continue
		}
		if c, err := layer.DialRedis(r.url, r.cluster); err != nil {
			errs = append(errs, fmt.Errorf("-%s (%s): %v", r.flag, envNames[r.flag], err))
		} else {
			_ = c.Close()
		}
	}
	if !unparsed["redis-wait"] && o.redisWait < 0 {
		errs = append(errs, fmt.Errorf("-redis-wait (CHAT_REDIS_WAIT) must be 0 or more, not %d", o.redisWait))
	}
	if o.redisWait > 0 && o.redisURL == "" && o.redisCluster == "" {
		errs = append(errs, errors.New("-redis-wait (CHAT_REDIS_WAIT) needs -redis or -redis-cluster"))
	}
	if !unparsed["presence-ttl"] && o.presenceTTL < time.Second {
		errs = append(errs, fmt.Errorf("-presence-ttl (CHAT_PRESENCE_TTL) must be at least 1s, not %v", o.presenceTTL))
	}
	for _, p := range strings.FieldsFunc(proxies, func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("-trusted-proxies (CHAT_TRUSTED_PROXIES): %q is not a CIDR such as 10.0.0.0/8", p))
			continue
		}
		o.trustedProxies = append(o.trustedProxies, prefix)
	}
	if o.jwtSecret != "" && len(o.jwtSecret) < 32 {
		errs = append(errs, fmt.Errorf("-jwt-secret (CHAT_JWT_SECRET) must be at least 32 bytes (HS256 needs 256 bits), not %d", len(o.jwtSecret)))
	}
	if o.apiKey != "" && len(o.apiKey) < 16 {
		errs = append(errs, fmt.Errorf("-api-key (CHAT_API_KEY) must be at least 16 characters, not %d", len(o.apiKey)))
	}
	if o.metricsToken != "" && len(o.metricsToken) < 16 {
		errs = append(errs, fmt.Errorf("-metrics-token (CHAT_METRICS_TOKEN) must be at least 16 characters, not %d", len(o.metricsToken)))
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		errs = append(errs, errors.New("-tls-cert (CHAT_TLS_CERT) and -tls-key (CHAT_TLS_KEY) go together"))
	}
	o.allowedOrigins = strings.FieldsFunc(origins, func(r rune) bool { return r == ',' || r == ' ' })
	for _, a := range []struct{ flag, value string }{{"addr", o.addr}, {"metrics-addr", o.metricsAddr}} {
		if a.value == "" && a.flag == "metrics-addr" {
			continue
		}
		if err := checkAddr(a.value); err != nil {
			errs = append(errs, fmt.Errorf("-%s (%s) %q: %v", a.flag, envNames[a.flag], a.value, err))
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		errs = append(errs, fmt.Errorf("-log-format (CHAT_LOG_FORMAT) must be text or json, not %q", o.logFormat))
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("-log-level (CHAT_LOG_LEVEL) must be debug, info, warn or error, not %q", o.logLevel))
	}
	return o, errors.Join(errs...)
}

// checkAddr checks a listen address: host:port (host may be empty), the
// port a number from 0 to 65535.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port (127.0.0.1:8080, :8080, [::1]:8080)")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// logger makes the command's logger from -log-format and -log-level.
func (o options) logger() *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(o.logLevel)) // checked by parseOptions
	opts := &slog.HandlerOptions{Level: lv}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func main() {
	o, err := parseOptions(os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2) // already reported, with the usage
	case err != nil:
		fmt.Fprintln(os.Stderr, "chat:", strings.ReplaceAll(err.Error(), "\n", "\nchat: "))
		os.Exit(2)
	}
	logger := o.logger()
	// fail logs what stopped the command and exits with status.
	fail := func(status int, msg string, args ...any) {
		logger.Error("chat: "+msg, args...)
		os.Exit(status)
	}
	cfg := chat.Config{
		Addr: o.addr, MaxMessageLen: o.maxLen, MessagesPerSecond: float64(o.rate), MaxRoomsPerConn: o.maxRooms,
		TrustedProxies: o.trustedProxies, AllowedOrigins: o.allowedOrigins,
		JWTSecret: []byte(o.jwtSecret), JWTAudience: o.jwtAudience, JWTIssuer: o.jwtIssuer, APIKey: o.apiKey,
		NoGuests: o.noGuests, MetricsAddr: o.metricsAddr, MetricsToken: o.metricsToken,
		Logger: logger,
	}
	if o.tlsCert != "" {
		tc, err := tlsh.ServerConfig(o.tlsCert, o.tlsKey, "http/1.1")
		if err != nil {
			fail(2, "-tls-cert/-tls-key (CHAT_TLS_CERT/CHAT_TLS_KEY)", "err", err)
		}
		cfg.TLS = tc
	}
	if o.redisURL != "" || o.redisCluster != "" {
		rc, err := layer.DialRedis(o.redisURL+o.redisCluster, o.redisCluster != "") // checked by parseOptions
		if err != nil {
			fail(2, "-redis (CHAT_REDIS)", "err", err)
		}
		cfg.Redis = rc
		cfg.Node, cfg.PresenceTTL, cfg.RedisWaitReplicas = o.node, o.presenceTTL, o.redisWait
		defer cfg.Redis.Close()
	} else if o.data != "" {
		store, err := chat.OpenBoltStore(o.data)
		if err != nil {
			fail(2, "-data (CHAT_DATA) "+o.data, "err", err)
		}
		cfg.Store = store
	}
	srv, err := chat.New(cfg)
	if err != nil {
		fail(1, "cannot start", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(); err != nil {
		where := "-addr (CHAT_ADDR) " + o.addr
		if o.metricsAddr != "" {
			where += " or -metrics-addr (CHAT_METRICS_ADDR) " + o.metricsAddr
		}
		fail(2, "cannot listen on "+where, "err", err)
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	// Said once the server listens, with the address it got (the port
	// chosen for -addr 127.0.0.1:0 included).
	logger.Info("chat: open " + scheme + "://" + srv.Addrs()[0].String() + "/ in a browser")
	if err := srv.Serve(ctx); err != nil {
		fail(1, "stopped", "err", err)
	}
}
