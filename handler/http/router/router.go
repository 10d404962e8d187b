package router

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the Router in the presets (the WebSocket upgrade
// removes it after an upgrade).
const Name = "router"

// HandlerFunc handles one request. It owns req: it answers (now or
// later) and releases it.
type HandlerFunc func(ctx *pipeline.Context, req *http1.Request)

type segKind int

const (
	segLiteral segKind = iota
	segParam
	segWild
)

type segment struct {
	kind segKind
	text string // literal text or parameter name
}

type route struct {
	method   string
	pattern  string
	segs     []segment
	handler  HandlerFunc
	priority []segKind
}

// Router matches requests to handlers. Build it with New: it takes
// *http1.Request reads (pipeline.Inbound) and passes every other message
// on.
type Router struct {
	pipeline.Inbound[*http1.Request]
	routes []*route
	// PassUnmatched passes requests no pattern matches to the next handler
	// instead of answering 404.
	PassUnmatched bool
}

// New returns an empty router.
func New() *Router {
	r := &Router{}
	r.Inbound = pipeline.InboundOf[*http1.Request](r)
	return r
}

var _ pipeline.ReadHandler = (*Router)(nil)

// Handle registers h for method ("" for any method) and pattern. It
// returns an error for a malformed pattern or a duplicate route.
func (r *Router) Handle(method, pattern string, h HandlerFunc) error {
	if !strings.HasPrefix(pattern, "/") {
		return fmt.Errorf("router: pattern %q must start with /", pattern)
	}
	var segs []segment
	parts := strings.Split(pattern[1:], "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "...}"):
			if i != len(parts)-1 {
				return fmt.Errorf("router: pattern %q: wildcard must be last", pattern)
			}
			segs = append(segs, segment{kind: segWild, text: p[1 : len(p)-4]})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			if name == "" || strings.ContainsAny(name, "{}") {
				return fmt.Errorf("router: pattern %q: bad parameter %q", pattern, p)
			}
			segs = append(segs, segment{kind: segParam, text: name})
		case strings.ContainsAny(p, "{}"):
			return fmt.Errorf("router: pattern %q: braces must enclose a whole segment", pattern)
		default:
			segs = append(segs, segment{kind: segLiteral, text: p})
		}
	}
	for _, rt := range r.routes {
		if rt.method == method && rt.pattern == pattern {
			return fmt.Errorf("router: duplicate route %s %s", method, pattern)
		}
	}
	rt := &route{method: method, pattern: pattern, segs: segs, handler: h}
	for _, s := range segs {
		rt.priority = append(rt.priority, s.kind)
	}
	r.routes = append(r.routes, rt)
	// Most specific first: compare segment kinds left to right.
	sort.SliceStable(r.routes, func(i, j int) bool {
		a, b := r.routes[i].priority, r.routes[j].priority
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) > len(b)
	})
	return nil
}

// match reports whether path matches rt, without allocating; params are
// collected only when collect is set.
func (rt *route) match(path []byte, req *http1.Request, collect bool) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for i, s := range rt.segs {
		if s.kind == segWild {
			if collect {
				req.Params = append(req.Params, http1.Param{Key: s.text, Value: unescape(rest)})
			}
			return true
		}
		j := 0
		for j < len(rest) && rest[j] != '/' {
			j++
		}
		seg := rest[:j]
		switch s.kind {
		case segLiteral:
			if string(seg) != s.text {
				return false
			}
		case segParam:
			if len(seg) == 0 {
				return false
			}
			if collect {
				req.Params = append(req.Params, http1.Param{Key: s.text, Value: unescape(seg)})
			}
		}
		last := i == len(rt.segs)-1
		if j == len(rest) {
			return last
		}
		if last {
			return false
		}
		rest = rest[j+1:]
	}
	return false
}

func unescape(b []byte) string {
	s := string(b)
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// HandleMessage routes one request (other messages pass the router by,
// through its Inbound).
func (r *Router) HandleMessage(ctx *pipeline.Context, req *http1.Request) {
	method := req.Method()
	var allow []string
	for _, rt := range r.routes {
		if !rt.match(req.Path(), nil, false) {
			continue
		}
		if rt.method == "" || rt.method == method || method == "HEAD" && rt.method == "GET" {
			req.Params = req.Params[:0]
			rt.match(req.Path(), req, true)
			rt.handler(ctx, req)
			return
		}
		allow = append(allow, rt.method)
	}
	if len(allow) > 0 {
		sort.Strings(allow)
		allow = compact(allow)
		resp := http1.NewResponse(req)
		resp.Status = http.StatusMethodNotAllowed
		resp.Header.Set("Allow", strings.Join(allow, ", "))
		resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
		resp.Body = append(resp.Body, "method not allowed\n"...)
		req.Release()
		ctx.WriteAndFlush(resp)
		return
	}
	if r.PassUnmatched {
		ctx.FireRead(req)
		return
	}
	Error(ctx, req, http.StatusNotFound, "not found")
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	if contains(out, "GET") && !contains(out, "HEAD") {
		out = append(out, "HEAD")
		sort.Strings(out)
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Reply answers req with status, a content type and body, and releases
// req. It may be called from any goroutine (it writes through the channel);
// the codec keeps the answer in request order.
func Reply(ctx *pipeline.Context, req *http1.Request, status int, contentType string, body []byte) {
	resp := http1.NewResponse(req)
	resp.Status = status
	if contentType != "" {
		resp.Header.Set("Content-Type", contentType)
	}
	resp.Body = append(resp.Body, body...)
	req.Release()
	ctx.Channel().WriteAndFlush(resp)
}

// Error answers req with status and a plain-text message.
func Error(ctx *pipeline.Context, req *http1.Request, status int, msg string) {
	Reply(ctx, req, status, "text/plain; charset=utf-8", []byte(msg+"\n"))
}
