package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/http/session/redisstore"
	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

func TestSessionsSharedThroughRedis(t *testing.T) {
	rs := redistest.Start(t)
	c1 := redis.NewClient(&redis.Options{Addr: rs.Addr})
	c2 := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer c1.Close()
	defer c2.Close()
	ctx := context.Background()
	node1, node2 := redisstore.New(redisstore.Config{Client: c1}), redisstore.New(redisstore.Config{Client: c2})

	now := time.Now()
	d := &session.Data{Values: map[string]string{"user": "ann"}, Created: now, LastSeen: now}
	if err := node1.Save(ctx, "abc", d, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := node2.Load(ctx, "abc")
	if err != nil || got.Values["user"] != "ann" {
		t.Fatalf("node 2 sees %+v %v", got, err)
	}
	if ttl := c2.TTL(ctx, "gnetty:session:abc").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}
	if err := node2.Delete(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := node1.Load(ctx, "abc"); err != session.ErrNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := node1.Save(ctx, "old", d, now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := node1.Load(ctx, "old"); err != session.ErrNotFound {
		t.Fatal("an expired session was stored")
	}
}

func TestManagerWithRedisStoreLoadsOffTheLoop(t *testing.T) {
	rs := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer c.Close()
	store := redisstore.New(redisstore.Config{Client: c})
	m := session.New(session.Config{Store: store})
	defer m.Close()
	now := time.Now()
	_ = store.Save(context.Background(), "0123456789abcdef0123456789abcdef",
		&session.Data{Values: map[string]string{"user": "bob"}, Created: now, LastSeen: now}, now.Add(time.Hour))

	seen := make(chan string, 1)
	r := router.New()
	_ = r.Handle("GET", "/me", func(ctx *pipeline.Context, req *http1.Request) {
		if s := session.FromChannel(ctx.Channel()); s != nil {
			seen <- s.Get("user")
		} else {
			seen <- ""
		}
		router.Reply(ctx, req, 200, "text/plain", nil)
	})
	ch := pipelinetest.New(http1.NewServerCodec(http1.Config{}), http1.NewAggregator(0), m, r)
	ch.WriteInbound([]byte("GET /me HTTP/1.1\r\nHost: x\r\nCookie: gnetty_session=0123456789abcdef0123456789abcdef\r\n\r\n"))
	var user string
	for deadline := time.Now().Add(5 * time.Second); ; {
		ch.RunPendingTasks() // the load ran on a goroutine; the request resumes on the loop
		select {
		case user = <-seen:
		default:
			if time.Now().After(deadline) {
				t.Fatal("request never resumed")
			}
			time.Sleep(time.Millisecond)
			continue
		}
		break
	}
	if user != "bob" {
		t.Fatalf("session user %q", user)
	}
	ch.ReadOutboundBytes()
	if err := ch.Finish(); err != nil {
		t.Error(err)
	}
}
