package chat

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gnetty/gnetty/layer"
	"github.com/gnetty/gnetty/pipeline"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics: Prometheus metrics on GET /metrics, open by default, behind a
// bearer token with Config.MetricsToken, and on an address of their own
// (an operator's network) with Config.MetricsAddr.

type metrics struct {
	conns             prometheus.Gauge
	in, out           prometheus.Counter
	broadcasts        prometheus.Counter
	limited           prometheus.Counter
	abusive           prometheus.Counter
	lost              prometheus.Counter
	handshakeFailures *prometheus.CounterVec
	delivery          prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry, s *Server) metrics {
	m := metrics{
		conns:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "chat_connections", Help: "Open chat WebSocket connections."}),
		in:         prometheus.NewCounter(prometheus.CounterOpts{Name: "chat_messages_in_total", Help: "Chat messages received."}),
		out:        prometheus.NewCounter(prometheus.CounterOpts{Name: "chat_messages_out_total", Help: "Messages written to connections."}),
		broadcasts: prometheus.NewCounter(prometheus.CounterOpts{Name: "chat_broadcasts_total", Help: "Room broadcasts (each encoded once)."}),
		limited:    prometheus.NewCounter(prometheus.CounterOpts{Name: "chat_rate_limited_total", Help: "Messages refused by the rate limit."}),
		abusive:    prometheus.NewCounter(prometheus.CounterOpts{Name: "chat_refused_disconnects_total", Help: "Connections closed for sending too many refused messages."}),
		lost:       prometheus.NewCounter(prometheus.CounterOpts{Name: "chat_redis_failures_total", Help: "Broadcasts or posts that did not reach Redis (other nodes missed them)."}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chat_delivery_seconds",
			Help:    "From receiving a chat message to handing it to every member's connection on this node (with Redis: to Redis, for every node).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		handshakeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chat_handshake_failures_total", Help: "Refused WebSocket upgrades by reason."}, []string{"reason"}),
	}
	// The Go runtime and the process, as every Go service exports them; a
	// registry the application passes may have them already.
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			if !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
				panic(err)
			}
		}
	}
	reg.MustRegister(m.conns, m.in, m.out, m.broadcasts, m.limited, m.abusive, m.lost, m.handshakeFailures, m.delivery,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chat_slow_consumer_disconnects_total", Help: "Connections closed for not reading."},
			func() float64 { return float64(s.slow.Disconnected.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gnetty_peer_faults_total", Help: "Errors clients caused (malformed requests or frames, failed TLS handshakes), process-wide; logged at debug level."},
			func() float64 { return float64(pipeline.PeerFaults()) }))
	return m
}

// registerRedisMetrics adds the Redis topology (a gauge of 1 labelled
// with it), whether Redis serves, and the failovers seen.
func (s *Server) registerRedisMetrics(h *layer.RedisHealth) {
	topo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chat_redis_topology", Help: "The Redis topology in use (single, sentinel or cluster): 1."}, []string{"topology"})
	topo.WithLabelValues(string(h.Topology())).Set(1)
	s.cfg.Registry.MustRegister(topo,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chat_redis_up", Help: "1 while Redis serves (every primary of a cluster), 0 while it is down or failing over."},
			func() float64 {
				if h.Up() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chat_redis_failovers_total", Help: "Changes of the serving Redis primary (or a cluster's primaries) seen by this node."},
			func() float64 { return float64(h.Failovers.Load()) }))
}

// metricsHandler serves the registry, behind the bearer token when one
// is set (401 with WWW-Authenticate otherwise).
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
	if s.cfg.MetricsToken == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsServer serves /metrics on Config.MetricsAddr with net/http, on
// goroutines of its own (it is the operator's, not the chat's traffic).
type metricsServer struct {
	srv  *http.Server
	addr net.Addr
}

// startMetrics listens on Config.MetricsAddr, once; without it, nothing.
func (s *Server) startMetrics() error {
	s.metricsMu.Lock()
	defer s.metricsMu.Unlock()
	if s.cfg.MetricsAddr == "" || s.metricsSrv != nil || s.metricsDone {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return errors.New("chat: metrics address: " + err.Error())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler())
	ms := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, addr: l.Addr()}
	s.metricsSrv = ms
	go func() {
		if err := ms.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("chat: metrics server", "err", err)
		}
	}()
	return nil
}

// MetricsAddr returns the address /metrics is served on with
// Config.MetricsAddr once started, else nil.
func (s *Server) MetricsAddr() net.Addr {
	s.metricsMu.Lock()
	defer s.metricsMu.Unlock()
	if s.metricsSrv == nil {
		return nil
	}
	return s.metricsSrv.addr
}

func (s *Server) stopMetrics(ctx context.Context) {
	s.metricsMu.Lock()
	ms := s.metricsSrv
	s.metricsDone = true // never started after the shutdown
	s.metricsMu.Unlock()
	if ms != nil {
		_ = ms.srv.Shutdown(ctx)
	}
}
