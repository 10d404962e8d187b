package nethttp

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/executor"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline"
)

// queueKey holds a channel's ordered work queue.
var queueKey = pipeline.NewAttrKey[*executor.Queue]("nethttp.queue")

// Handler adapts h to a router handler.
func Handler(h http.Handler) router.HandlerFunc {
	return func(ctx *pipeline.Context, req *http1.Request) {
		ch := ctx.Channel()
		q, ok := queueKey.Get(ch)
		if !ok {
			q = &executor.Queue{}
			queueKey.Set(ch, q)
		}
		q.Submit(func() { serve(ch, h, req) })
	}
}

func serve(ch *pipeline.Channel, h http.Handler, req *http1.Request) {
	hr, err := toHTTP(ch, req)
	if err != nil {
		resp := http1.NewResponse(req)
		resp.Status = http.StatusBadRequest
		resp.Body = append(resp.Body, "bad request\n"...)
		req.Release()
		ch.WriteAndFlush(resp)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // cancels the handler's context when the connection closes
		select {
		case <-ch.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	w := &writer{ch: ch, req: req, header: http.Header{}}
	func() {
		defer func() {
			if r := recover(); r != nil && r != http.ErrAbortHandler {
				pipeline.LogPanic(ch.Logger(), "nethttp: handler panic", r, debug.Stack(), "path", hr.URL.Path)
				if !w.committed {
					w.header = http.Header{}
					w.status, w.buf = http.StatusInternalServerError, append(w.buf[:0], "internal server error\n"...)
					w.header.Set("Content-Type", "text/plain; charset=utf-8")
				} else {
					w.broken = true
				}
			}
		}()
		h.ServeHTTP(w, hr.WithContext(ctx))
	}()
	w.finish()
	req.Release()
}

func toHTTP(ch *pipeline.Channel, req *http1.Request) (*http.Request, error) {
	target := string(req.Target())
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, len(req.Fields()))
	for _, f := range req.Fields() {
		h.Add(string(f.Name), string(f.Value))
	}
	body := bytes.Clone(req.Body)
	hr := &http.Request{
		Method:        req.Method(),
		URL:           u,
		Proto:         req.Proto(),
		ProtoMajor:    req.Major,
		ProtoMinor:    req.Minor,
		Header:        h,
		Host:          string(req.Host()),
		RequestURI:    target,
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(bytes.NewReader(body)),
		GetBody: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(body)), nil
		},
		Close: !req.KeepAlive,
	}
	if hr.Host == "" {
		hr.Host = u.Host
	}
	if a, ok := ch.RemoteAddr().(*net.TCPAddr); ok {
		hr.RemoteAddr = a.String()
	} else if ch.RemoteAddr() != nil {
		hr.RemoteAddr = ch.RemoteAddr().String()
	}
	if len(req.Trailer) > 0 {
		hr.Trailer = http.Header{}
		for _, f := range req.Trailer {
			hr.Trailer.Add(string(f.Name), string(f.Value))
		}
	}
	return hr, nil
}

// writer is the http.ResponseWriter: it buffers until the handler
// returns (one response with Content-Length) or flushes (a streamed
// response).
type writer struct {
	ch        *pipeline.Channel
	req       *http1.Request
	header    http.Header
	status    int
	buf       []byte
	committed bool // the head has been sent (streaming)
	broken    bool
}

func (w *writer) Header() http.Header { return w.header }

func (w *writer) WriteHeader(code int) {
	if w.status == 0 && !w.committed {
		if code < 100 || code > 999 {
			panic("nethttp: invalid status " + strconv.Itoa(code))
		}
		w.status = code
	}
}

func (w *writer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	select {
	case <-w.ch.Done():
		return 0, net.ErrClosed
	default:
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *writer) head(stream bool) *http1.Response {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	resp := http1.NewResponse(w.req)
	resp.Status = w.status
	resp.Stream = stream
	if w.header.Get("Content-Type") == "" && len(w.buf) > 0 && w.status != http.StatusNoContent && w.status != http.StatusNotModified {
		w.header.Set("Content-Type", http.DetectContentType(w.buf))
	}
	for k, vs := range w.header {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	return resp
}

// Flush sends the head (once) and what has been written so far.
func (w *writer) Flush() {
	if !w.committed {
		w.committed = true
		w.ch.WriteAndFlush(w.head(true))
	}
	if len(w.buf) > 0 {
		w.ch.WriteAndFlush(&http1.Content{Data: bytes.Clone(w.buf), Seq: w.req.Seq()})
		w.buf = w.buf[:0]
	}
}

func (w *writer) finish() {
	switch {
	case w.broken:
		w.ch.Close()
	case w.committed:
		w.ch.WriteAndFlush(&http1.Content{Data: bytes.Clone(w.buf), Last: true, Seq: w.req.Seq()})
	default:
		resp := w.head(false)
		resp.Body = append(resp.Body, w.buf...)
		w.ch.WriteAndFlush(resp)
	}
}

var _ http.Flusher = (*writer)(nil)
