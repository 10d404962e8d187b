package layer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topology is how a Redis client reaches Redis.
type Topology string

const (
	// Single is one Redis server (redis.NewClient): when it dies for good,
	// every node stops posting until it is back.
	Single Topology = "single"
	// Sentinel is a primary with replicas watched by Redis Sentinel
	// (redis.NewFailoverClient): the sentinels promote a replica when the
	// primary dies, and the client follows them to it.
	Sentinel Topology = "sentinel"
	// Cluster is a Redis Cluster (redis.NewClusterClient): keys sharded
	// over several primaries, each with its replicas.
	Cluster Topology = "cluster"
)

// TopologyOf tells how c reaches Redis: a *redis.ClusterClient is a
// Cluster, a client from redis.NewFailoverClient a Sentinel set, any other
// *redis.Client a Single server.
func TopologyOf(c redis.UniversalClient) Topology {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return Cluster
	case *redis.Client:
		if c.Options().Addr == "FailoverClient" { // go-redis's mark on a failover client
			return Sentinel
		}
	}
	return Single
}

// DescribeRedis names where c connects, for logs and errors:
// "single 127.0.0.1:6379", "sentinel", "cluster 127.0.0.1:7000,...".
func DescribeRedis(c redis.UniversalClient) string {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return "cluster " + strings.Join(c.Options().Addrs, ",")
	case *redis.Client:
		if TopologyOf(c) == Sentinel {
			return "sentinel"
		}
		return "single " + c.Options().Addr
	}
	return "redis"
}

// DialRedis makes the client for a Redis URL, the one setting that picks
// the topology:
//
//   - cluster false, a plain URL (redis://host:port/db, rediss:// for TLS):
//     one server, redis.ParseURL;
//   - cluster false, a URL with master_name
//     (redis://SENTINEL:PORT/0?master_name=NAME&addr=SENTINEL2:PORT&addr=...):
//     the primary that the sentinels name, redis.ParseFailoverURL;
//   - cluster true (redis://SEED:PORT?addr=SEED2:PORT&addr=...): a Redis
//     Cluster reached through its seeds, redis.ParseClusterURL.
//
// A bad URL is an error that says which form was expected; DialRedis
// does not connect (the first command does). A cluster client from
// DialRedis reads the slot map again as soon as a command fails on the
// network, and every 2 s, so that commands follow a failover at once.
func DialRedis(rawURL string, cluster bool) (redis.UniversalClient, error) {
	if rawURL == "" {
		return nil, errors.New("empty Redis URL")
	}
	if cluster {
		opts, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("a cluster URL is redis://SEED:PORT?addr=SEED2:PORT&addr=...: %w", err)
		}
		if opts.ClusterStateReloadInterval == 0 {
			// go-redis's default is 10 s: that long after a primary's
			// death, commands for its slots would still go to it.
			opts.ClusterStateReloadInterval = 2 * time.Second
		}
		cc := redis.NewClusterClient(opts)
		cc.AddHook(reloadOnFailure{cc})
		return cc, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("a Redis URL is redis://host:port/db: %w", err)
	}
	if u.Query().Has("master_name") {
		opts, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("a Sentinel URL is redis://SENTINEL:PORT/0?master_name=NAME&addr=SENTINEL2:PORT: %w", err)
		}
		if opts.MasterName == "" {
			return nil, errors.New("a Sentinel URL needs master_name=NAME")
		}
		return redis.NewFailoverClient(opts), nil
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("a Redis URL is redis://host:port/db: %w", err)
	}
	return redis.NewClient(opts), nil
}

// PingAll checks that c serves: one server's or the Sentinel primary's
// PING, or every cluster primary's. It returns the first failure.
func PingAll(ctx context.Context, c redis.UniversalClient) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		_, err := pingPrimaries(ctx, cc)
		return err
	}
	return c.Ping(ctx).Err()
}

// pingPrimaries pings every primary of a cluster and returns their
// addresses, sorted.
func pingPrimaries(ctx context.Context, cc *redis.ClusterClient) ([]string, error) {
	var mu sync.Mutex
	var addrs []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if err := m.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("primary %s: %w", m.Options().Addr, err)
		}
		mu.Lock()
		addrs = append(addrs, m.Options().Addr)
		mu.Unlock()
		return nil
	})
	slices.Sort(addrs)
	return addrs, err
}

// RedisHealth watches a Redis client for readiness checks and metrics:
// its topology, whether it serves, and the failovers it has seen (the
// primary that serves, or a cluster's set of primaries, changing).
// Check blocks on the network (call it off the event loops); the other
// methods are safe from any goroutine and never block.
type RedisHealth struct {
	c    redis.UniversalClient
	topo Topology

	// Failovers counts changes of the serving primaries that Check saw.
	Failovers atomic.Uint64

	mu        sync.Mutex
	primaries string // the identity of what served at the last good check
	down      error  // the last check's failure, nil when it served
	downSince time.Time
}

// NewRedisHealth watches c; nothing runs until Check.
func NewRedisHealth(c redis.UniversalClient) *RedisHealth {
	return &RedisHealth{c: c, topo: TopologyOf(c)}
}

// Topology is the client's topology.
func (h *RedisHealth) Topology() Topology { return h.topo }

// Check pings every primary and notes who serves: on one server or a
// Sentinel set the primary's run_id (a promoted replica has its own), on
// a Cluster the primaries' addresses. A failure is returned, and while it
// lasts after a good check, Status reports a failover in progress.
func (h *RedisHealth) Check(ctx context.Context) error {
	id, err := h.identify(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if h.down == nil {
			h.downSince = time.Now()
		}
		h.down = err
		return err
	}
	if h.primaries != "" && id != h.primaries {
		h.Failovers.Add(1)
	}
	h.primaries, h.down = id, nil
	return nil
}

func (h *RedisHealth) identify(ctx context.Context) (string, error) {
	if cc, ok := h.c.(*redis.ClusterClient); ok {
		addrs, err := pingPrimaries(ctx, cc)
		if err != nil {
			return "", err
		}
		if state, err := cc.ClusterInfo(ctx).Result(); err == nil && !strings.Contains(state, "cluster_state:ok") {
			return "", errors.New("cluster_state is not ok (a primary is failing over)")
		}
		return strings.Join(addrs, ","), nil
	}
	info, err := h.c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "run_id:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("INFO server has no run_id")
}

// Up reports whether the last Check found Redis serving (true before
// the first).
func (h *RedisHealth) Up() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down == nil
}

// Status describes the topology and the state for a readiness answer:
// "sentinel: ok", or "cluster: failing over for 2.1s: ..." while a check
// fails after Redis had served ("down" if it never did).
func (h *RedisHealth) Status() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.down == nil:
		return string(h.topo) + ": ok"
	case h.primaries == "":
		return fmt.Sprintf("%s: down: %v", h.topo, h.down)
	case h.topo == Single:
		return fmt.Sprintf("%s: down for %s: %v", h.topo, time.Since(h.downSince).Round(100*time.Millisecond), h.down)
	}
	return fmt.Sprintf("%s: failing over for %s: %v", h.topo, time.Since(h.downSince).Round(100*time.Millisecond), h.down)
}

// reloadOnFailure makes a cluster client read the slot map again as soon
// as a command fails for a reason other than Redis's answer (a refused
// connection, a timeout): the primary that owns the slot may have died
// and a replica taken over. go-redis alone waits for the map's reload
// interval. The reload runs in the background, once however many ask.
type reloadOnFailure struct{ c *redis.ClusterClient }

func (h reloadOnFailure) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnFailure) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.note(err)
		return err
	}
}

func (h reloadOnFailure) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.note(err)
		return err
	}
}

func (h reloadOnFailure) note(err error) {
	if err == nil {
		return
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !strings.HasPrefix(rerr.Error(), "CLUSTERDOWN") && !strings.HasPrefix(rerr.Error(), "TRYAGAIN") {
		return // Redis answered (redis.Nil, a script's error): the map is right
	}
	h.c.ReloadState(context.Background())
}
