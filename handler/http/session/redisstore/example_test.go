package redisstore_test

import (
	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/http/session/redisstore"
)

// Sessions every node sharing the Redis sees: a login on one node is
// valid on all. (It needs a Redis, so it is compiled, not run.)
func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	sessions := session.New(session.Config{Store: redisstore.New(redisstore.Config{Client: client})})
	defer sessions.Close()
	// Put sessions before the router, as session.Manager's example shows.
}
