package chat

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/http/nethttp"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/handler/http/static"
	"github.com/gnetty/gnetty/pipeline"
)

//go:embed web
var web embed.FS

func (s *Server) httpRoutes(r *router.Router) error {
	files, err := fs.Sub(web, "web")
	if err != nil {
		return err
	}
	page, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return err
	}
	routes := []struct {
		method, pattern string
		h               router.HandlerFunc
	}{
		{"GET", "/", func(ctx *pipeline.Context, req *http1.Request) {
			resp := http1.NewResponse(req)
			resp.Header.Set("Content-Type", "text/html; charset=utf-8")
			resp.Header.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'")
			resp.Header.Set("X-Content-Type-Options", "nosniff")
			resp.Body = append(resp.Body, page...)
			req.Release()
			ctx.WriteAndFlush(resp)
		}},
		{"GET", "/static/{path...}", static.New(static.Config{FS: files})},
		{"GET", "/healthz", s.healthz},
		{"GET", "/api/me", func(ctx *pipeline.Context, req *http1.Request) {
			sess, err := session.FromChannelErr(ctx.Channel())
			if errors.Is(err, session.ErrUnavailable) {
				router.Reply(ctx, req, http.StatusServiceUnavailable, "application/json", []byte(`{"error":"sessions unavailable, try again"}`))
				return
			}
			if errors.Is(err, session.ErrConflict) {
				router.Reply(ctx, req, http.StatusBadRequest, "application/json", []byte(`{"error":"two different sessions: log in again"}`))
				return
			}
			if sess == nil {
				router.Reply(ctx, req, http.StatusUnauthorized, "application/json", []byte(`{"error":"not logged in"}`))
				return
			}
			b, _ := jsonmsg.API.Marshal(sessionUser(sess))
			router.Reply(ctx, req, 200, "application/json", b)
		}},
		{"GET", "/api/rooms", s.roomDirectory},
		{"GET", "/api/session", func(ctx *pipeline.Context, req *http1.Request) {
			// As /api/me, but "not logged in" is an answer, not an
			// error: {"user":null} with 200, so a page that asks on load
			// logs no 401.
			sess, err := session.FromChannelErr(ctx.Channel())
			if errors.Is(err, session.ErrUnavailable) {
				router.Reply(ctx, req, http.StatusServiceUnavailable, "application/json", []byte(`{"error":"sessions unavailable, try again"}`))
				return
			}
			if sess == nil { // none, or two different ones (log in again)
				router.Reply(ctx, req, 200, "application/json", []byte(`{"user":null}`))
				return
			}
			b, _ := jsonmsg.API.Marshal(struct {
				User User `json:"user"`
			}{sessionUser(sess)})
			router.Reply(ctx, req, 200, "application/json", b)
		}},
		{"POST", "/login", s.login},
		{"POST", "/logout", s.logout},
	}
	if s.cfg.MetricsAddr == "" {
		routes = append(routes, struct {
			method, pattern string
			h               router.HandlerFunc
		}{"GET", "/metrics", nethttp.Handler(s.metricsHandler())})
	}
	if s.cfg.APIKey != "" {
		routes = append(routes, struct {
			method, pattern string
			h               router.HandlerFunc
		}{"POST", "/api/publish", s.publish})
	}
	for _, rt := range routes {
		if err := r.Handle(rt.method, rt.pattern, rt.h); err != nil {
			return err
		}
	}
	return nil
}

// sessionUser is the user a session was logged in as, with its real
// login time.
func sessionUser(sess *session.Session) User {
	t, _ := time.Parse(time.RFC3339Nano, sess.Get("login_time"))
	uid := sess.Get("uid")
	if uid == "" {
		uid = guestPrefix + sessionKeyOf(sess.ID) // a session from before identities: a guest of its own
	}
	return User{ID: uid, Name: sess.Get("user"), Avatar: sess.Get("avatar"), LoginTime: t}
}

// roomDirectory answers GET /api/rooms for a logged-in user: the rooms
// with members on any node and how many ({"rooms":[{"name","members"}]}),
// the busiest first. The listing may wait on Redis, so it runs off the
// loop.
func (s *Server) roomDirectory(ctx *pipeline.Context, req *http1.Request) {
	sess, err := session.FromChannelErr(ctx.Channel())
	if err != nil || sess == nil {
		router.Reply(ctx, req, http.StatusUnauthorized, "application/json", []byte(`{"error":"not logged in"}`))
		return
	}
	ch := ctx.Channel()
	go func() {
		resp := http1.NewResponse(req)
		resp.Header.Set("Content-Type", "application/json")
		resp.Header.Set("Cache-Control", "no-store")
		rooms, err := s.RoomDirectory()
		if err != nil {
			resp.Status = http.StatusServiceUnavailable
			resp.Body = append(resp.Body, `{"error":"the directory is unavailable, try again"}`...)
		} else {
			resp.Body, _ = jsonmsg.API.Marshal(struct {
				Rooms []RoomInfo `json:"rooms"`
			}{rooms})
		}
		req.Release()
		ch.WriteAndFlush(resp)
	}()
}

// healthz is readiness: 200 "ok" only while the node can serve, 503 and
// the reason otherwise (shutting down, the store or Redis unreachable).
// The checks may block, so they run off the loop, bounded by 2 s.
func (s *Server) healthz(ctx *pipeline.Context, req *http1.Request) {
	ch := ctx.Channel()
	go func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp := http1.NewResponse(req)
		resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.health(cctx); err != nil {
			resp.Status = http.StatusServiceUnavailable
			resp.Body = fmt.Appendf(resp.Body, "unavailable: %v\n", err)
		} else {
			resp.Body = append(resp.Body, "ok\n"...)
		}
		req.Release()
		ch.WriteAndFlush(resp)
	}()
}

// health reports why the node cannot serve, or nil.
func (s *Server) health(ctx context.Context) error {
	if s.stopping.Load() {
		return errors.New("shutting down")
	}
	if b, ok := s.backend.(*redisBackend); ok {
		if err := b.health.Check(ctx); err != nil {
			return fmt.Errorf("redis %s", b.health.Status())
		}
	}
	if h, ok := s.store.(interface{ Health(context.Context) error }); ok {
		if err := h.Health(ctx); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// sameSite refuses (403) a state-changing request a browser sent from
// another site (login CSRF): its Origin must be the chat's own (or in
// Config.AllowedOrigins); without Origin, Sec-Fetch-Site must not say
// cross-site. Clients that are not browsers send neither and pass.
func (s *Server) sameSite(ctx *pipeline.Context, req *http1.Request) bool {
	origin := string(req.Header("Origin"))
	ok := true
	switch {
	case origin != "":
		ok = slices.Contains(s.cfg.AllowedOrigins, origin)
		if u, err := url.Parse(origin); err == nil && !ok {
			ok = (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, string(req.Host()))
		}
	case strings.EqualFold(string(req.Header("Sec-Fetch-Site")), "cross-site"):
		ok = false
	}
	if !ok {
		router.Error(ctx, req, http.StatusForbidden, "cross-site request refused")
	}
	return ok
}
