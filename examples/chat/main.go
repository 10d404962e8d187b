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
// Every flag can also be set through the environment: CHAT_ADDR,
// CHAT_DATA, CHAT_MAX_MESSAGE_LEN, CHAT_RATE, CHAT_MAX_ROOMS, CHAT_REDIS,
// CHAT_NODE, CHAT_PRESENCE_TTL, CHAT_TRUSTED_PROXIES, CHAT_ALLOWED_ORIGINS.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/preset/chat"
)

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}

func main() {
	addr := flag.String("addr", env("CHAT_ADDR", "127.0.0.1:8080"), "listen address")
	data := flag.String("data", env("CHAT_DATA", "chat-data"), "directory of the message store (\"\" keeps history in memory)")
	maxLen := flag.Int("max-message-len", envInt("CHAT_MAX_MESSAGE_LEN", 2000), "longest message in characters")
	ratePerSec := flag.Int("rate", envInt("CHAT_RATE", 10), "messages per second per connection")
	maxRooms := flag.Int("max-rooms", envInt("CHAT_MAX_ROOMS", 10), "rooms per connection")
	redisURL := flag.String("redis", env("CHAT_REDIS", ""), "Redis URL shared by several nodes (redis://host:port/db); empty: single node")
	node := flag.String("node", env("CHAT_NODE", ""), "this node's name with -redis (default random)")
	ttl := flag.Duration("presence-ttl", time.Duration(envInt("CHAT_PRESENCE_TTL", 15))*time.Second, "how long a crashed node's users stay online with -redis")
	proxies := flag.String("trusted-proxies", env("CHAT_TRUSTED_PROXIES", ""), "comma-separated CIDRs of TLS-terminating proxies whose X-Forwarded-Proto: https makes the session cookie Secure")
	origins := flag.String("allowed-origins", env("CHAT_ALLOWED_ORIGINS", ""), "comma-separated origins besides the chat's own that may POST /login and /logout")
	flag.Parse()

	cfg := chat.Config{
		Addr: *addr, MaxMessageLen: *maxLen, MessagesPerSecond: float64(*ratePerSec), MaxRoomsPerConn: *maxRooms,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	for _, p := range strings.FieldsFunc(*proxies, func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			log.Fatalf("chat: -trusted-proxies (CHAT_TRUSTED_PROXIES): %q is not a CIDR such as 10.0.0.0/8", p)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, prefix)
	}
	cfg.AllowedOrigins = strings.FieldsFunc(*origins, func(r rune) bool { return r == ',' || r == ' ' })
	if *redisURL != "" {
		opts, err := redis.ParseURL(*redisURL)
		if err != nil {
			log.Fatalf("chat: -redis: %v", err)
		}
		cfg.Redis = redis.NewClient(opts)
		cfg.Node, cfg.PresenceTTL = *node, *ttl
		defer cfg.Redis.Close()
	} else if *data != "" {
		store, err := chat.OpenBoltStore(*data)
		if err != nil {
			log.Fatal(err)
		}
		cfg.Store = store
	}
	srv, err := chat.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Logger.Info("chat: open http://" + *addr + "/ in a browser")
	if err := srv.Serve(ctx); err != nil {
		log.Fatal(err)
	}
}
