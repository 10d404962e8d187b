package fanout

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/gnetty/gnetty/bootstrap"
	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/ws/slowconsumer"
	"github.com/gnetty/gnetty/handler/ws/upgrade"
	gws "github.com/gnetty/gnetty/preset/websocket"
)

// slowLimit is every server's bound on a member's pending output.
const slowLimit = 256 << 10

// Paths: members connect to /room/<n>, publishers to /pub/<n>.
func roomOf(path string) (room string, publisher bool) {
	if r, ok := strings.CutPrefix(path, "/pub/"); ok {
		return r, true
	}
	return strings.TrimPrefix(path, "/room/"), false
}

func serve(impl, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch impl {
	case "gnetty":
		var mu sync.Mutex
		groups := map[string]*gws.Group{}
		group := func(room string) *gws.Group {
			mu.Lock()
			defer mu.Unlock()
			g := groups[room]
			if g == nil {
				g = gws.NewGroup()
				groups[room] = g
			}
			return g
		}
		member := gws.Funcs{
			Open:  func(c *gws.Conn) { group(c.Handshake().Param("room")).Add(c) },
			Close: func(c *gws.Conn, _ ws.StatusCode, _ string) { group(c.Handshake().Param("room")).Remove(c) },
		}
		pub := gws.Funcs{Message: func(c *gws.Conn, typ gws.MessageType, data []byte) {
			group(c.Handshake().Param("room")).Broadcast(typ, data)
		}}
		s, err := gws.New(gws.Config{
			Addrs:        []string{addr},
			Routes:       map[string]gws.Handler{"/room/{room}": member, "/pub/{room}": pub},
			Upgrade:      upgrade.Config{CheckOrigin: func(string, *http1.Request) bool { return true }},
			SlowConsumer: &slowconsumer.Config{Limit: slowLimit}, // in the fused connection's write path
			Server:       bootstrap.Config{Workers: 1, Logger: slog.New(slog.DiscardHandler)},
		})
		if err != nil {
			return err
		}
		return s.Serve(ctx)
	case "gorilla":
		h := newHub()
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			room, publisher := roomOf(r.URL.Path)
			if publisher {
				defer c.Close()
				for {
					_, data, err := c.ReadMessage()
					if err != nil {
						return
					}
					h.broadcast(room, websocket.TextMessage, data)
				}
			}
			cl := &client{c: c, send: make(chan *websocket.PreparedMessage, slowLimit/128)}
			h.join(room, cl)
			go cl.writer()
			for { // read until the member leaves
				if _, _, err := c.NextReader(); err != nil {
					h.leave(room, cl)
					return
				}
			}
		})}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			return err
		}
		return nil
	case "nbio":
		var mu sync.RWMutex
		rooms := map[string]map[*nbws.Conn]struct{}{}
		up := nbws.NewUpgrader()
		up.CheckOrigin = func(*http.Request) bool { return true }
		up.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) {
			room, _ := c.Session().(string)
			mu.RLock()
			for m := range rooms[room] {
				_ = m.WriteMessage(mt, data)
			}
			mu.RUnlock()
		})
		up.OnClose(func(c *nbws.Conn, _ error) {
			room, _ := c.Session().(string)
			mu.Lock()
			delete(rooms[room], c)
			mu.Unlock()
		})
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			room, publisher := roomOf(r.URL.Path)
			c.SetSession(room)
			if !publisher {
				mu.Lock()
				if rooms[room] == nil {
					rooms[room] = map[*nbws.Conn]struct{}{}
				}
				rooms[room][c] = struct{}{}
				mu.Unlock()
			}
		})
		e := nbhttp.NewEngine(nbhttp.Config{Network: "tcp", Addrs: []string{addr}, Handler: mux, NPoller: 1, MaxWriteBufferSize: slowLimit})
		if err := e.Start(); err != nil {
			return err
		}
		<-ctx.Done()
		e.Stop()
		return nil
	}
	return nil
}

// hub is gorilla's chat-example hub, by room.
type hub struct {
	mu    sync.RWMutex
	rooms map[string]map[*client]struct{}
}

type client struct {
	c    *websocket.Conn
	send chan *websocket.PreparedMessage
	once sync.Once
}

func newHub() *hub { return &hub{rooms: map[string]map[*client]struct{}{}} }

func (h *hub) join(room string, c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms[room] == nil {
		h.rooms[room] = map[*client]struct{}{}
	}
	h.rooms[room][c] = struct{}{}
}

func (h *hub) leave(room string, c *client) {
	h.mu.Lock()
	delete(h.rooms[room], c)
	h.mu.Unlock()
	c.once.Do(func() { close(c.send) })
}

// broadcast prepares the message once and queues it for every member; a
// member whose queue is full (slowLimit of pending messages) is dropped.
func (h *hub) broadcast(room string, mt int, data []byte) {
	pm, err := websocket.NewPreparedMessage(mt, data)
	if err != nil {
		return
	}
	var slow []*client
	h.mu.RLock()
	for c := range h.rooms[room] {
		select {
		case c.send <- pm:
		default:
			slow = append(slow, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range slow {
		_ = c.c.Close() // its reader sees the error and leaves
	}
}

func (c *client) writer() {
	for pm := range c.send {
		if err := c.c.WritePreparedMessage(pm); err != nil {
			_ = c.c.Close()
			for range c.send { // drain until leave closes it
			}
			return
		}
	}
}
