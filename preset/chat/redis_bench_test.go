package chat

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
)

// BenchmarkRedisPost: one post through the post script (number, store,
// publish) on a primary with one replica in sync, acknowledged at once
// (wait=0) or after the replica has it (wait=1, Redis's WAIT): the
// latency RedisWaitReplicas adds. One poster, so ns/op is the latency.
func BenchmarkRedisPost(b *testing.B) {
	st := redistest.StartSentinel(b, 1)
	c := redis.NewClient(&redis.Options{Addr: st.Primary.Addr})
	defer c.Close()
	for _, wait := range []int{0, 1} {
		b.Run(fmt.Sprintf("wait=%d", wait), func(b *testing.B) {
			s := NewRedisStore(RedisStoreConfig{Client: c, WaitReplicas: wait})
			publish := func(ctx context.Context, payload []byte) error {
				return c.Publish(ctx, "gnetty:group:bench", payload).Err()
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m := Msg{Room: "bench", From: "ann", FromID: "u1", Text: "a message of some forty bytes or so.", CID: fmt.Sprint("c", wait, "-", i)}
				if _, _, err := s.post(context.Background(), kindUser, []string{"gnetty:group:bench"}, publish, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
