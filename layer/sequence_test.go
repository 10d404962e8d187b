package layer_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gnetty/gnetty/internal/redistest"
	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline/pipelinetest"
)

// A test log: messages "epoch|seq|text", kept in a Redis stream per group
// with the sequence as the entry ID, as the chat keeps its rooms.
type testLog struct {
	t     *testing.T
	c     *redis.Client
	topic string
	group string
}

func (l *testLog) key() string { return "log:" + l.group }

// add logs a message and, unless dropped, publishes it (a dropped one is
// what a node whose subscription was broken never saw).
func (l *testLog) add(epoch string, seq uint64, text string, publish bool) {
	l.t.Helper()
	data := fmt.Sprintf("%s|%d|%s", epoch, seq, text)
	ctx := context.Background()
	if err := l.c.XAdd(ctx, &redis.XAddArgs{Stream: l.key(), ID: fmt.Sprintf("%d-0", seq), Values: []any{"m", data}}).Err(); err != nil {
		l.t.Fatal(err)
	}
	if publish {
		l.publish(data)
	}
}

func (l *testLog) publish(data string) {
	l.t.Helper()
	if err := l.c.Publish(context.Background(), l.topic, append(layer.EnvelopeHeader(true), data...)).Err(); err != nil {
		l.t.Fatal(err)
	}
}

func (l *testLog) sequence() *layer.Sequence {
	return &layer.Sequence{
		Of: func(group string, m layer.Message) (string, uint64, bool) {
			parts := strings.SplitN(string(m.Data), "|", 3)
			if len(parts) != 3 {
				return "", 0, false
			}
			n, err := strconv.ParseUint(parts[1], 10, 64)
			return parts[0], n, err == nil
		},
		Head: func(ctx context.Context, group string) (string, uint64, error) {
			es, err := l.c.XRevRangeN(ctx, "log:"+group, "+", "-", 1).Result()
			if err != nil || len(es) == 0 {
				return "", 0, err
			}
			parts := strings.SplitN(es[0].Values["m"].(string), "|", 3)
			n, _ := strconv.ParseUint(parts[1], 10, 64)
			return parts[0], n, nil
		},
		Read: func(ctx context.Context, group string, after uint64) ([]layer.Message, error) {
			es, err := l.c.XRangeN(ctx, "log:"+group, fmt.Sprintf("%d-0", after+1), "+", 100).Result()
			if err != nil {
				return nil, err
			}
			var out []layer.Message
			for _, e := range es {
				out = append(out, layer.Message{Text: true, Data: []byte(e.Values["m"].(string))})
			}
			return out, nil
		},
	}
}

func TestSequencedGroupsAreGapFreeAcrossFaults(t *testing.T) {
	rs := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { admin.Close() })
	log := &testLog{t: t, c: admin, group: "room"}
	client := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	l, err := layer.NewRedis(context.Background(), layer.RedisConfig{Client: client, Node: "n", Sequence: log.sequence()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	log.topic = l.GroupTopic("room")
	member := pipelinetest.New()
	if err := l.GroupAdd("room", member.Channel); err != nil {
		t.Fatal(err)
	}
	var got []string
	wait := func(want ...string) {
		t.Helper()
		eventually(t, fmt.Sprintf("member got %v", want), func() bool {
			for _, g := range received(member) {
				if g != "probe" { // a late probe from the subscription check
					got = append(got, g)
				}
			}
			return len(got) >= len(want)
		})
		if !slices.Equal(got, want) {
			t.Fatalf("member got %q, want %q", got, want)
		}
		got = nil
	}
	// The subscription is confirmed (and the empty log's head read) once
	// the layer reports a subscriber; the very first message is missed,
	// the second reveals it.
	// An unnumbered probe comes through after the confirmation (pub/sub
	// keeps order on the connection), so once it arrives the head is read.
	eventually(t, "the subscription", func() bool {
		log.publish("probe")
		got = append(got, received(member)...)
		return len(got) > 0
	})
	for _, g := range got {
		if g != "probe" {
			t.Fatalf("before any numbered message: %q", got)
		}
	}
	got = nil
	log.add("e1", 1, "one", false)
	log.add("e1", 2, "two", true)
	wait("e1|1|one", "e1|2|two")

	// A gap: 3 and 4 were logged but never published; 5 arrives.
	log.add("e1", 3, "three", false)
	log.add("e1", 4, "four", false)
	log.add("e1", 5, "five", true)
	wait("e1|3|three", "e1|4|four", "e1|5|five")

	// Duplicates (a retry of 5, an old 2) are dropped; 6 goes through.
	log.publish("e1|5|five")
	log.publish("e1|2|two")
	log.add("e1", 6, "six", true)
	wait("e1|6|six")
	if l.Stats.Duplicates.Load() < 2 {
		t.Fatalf("duplicates %d", l.Stats.Duplicates.Load())
	}

	// 7 and 8 are stored but their publishes never reached this node, and
	// nothing else is posted. Its subscription breaks; once go-redis has
	// subscribed again, the node reads them from the log.
	log.add("e1", 7, "seven", false)
	log.add("e1", 8, "eight", false)
	if err := admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	wait("e1|7|seven", "e1|8|eight")
	if l.Stats.Recovered.Load() < 4 {
		t.Fatalf("recovered %d", l.Stats.Recovered.Load())
	}

	// Redis lost its data: the log starts over with a new epoch at 1.
	_ = admin.Del(context.Background(), log.key())
	log.add("e2", 1, "new one", true)
	wait("e2|1|new one")
	if l.Stats.Resets.Load() != 1 {
		t.Fatalf("resets %d", l.Stats.Resets.Load())
	}
	if err := member.Finish(); err != nil {
		t.Error(err)
	}
}
