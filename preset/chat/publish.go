package chat

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline"
)

// The publish API lets an application backend post into a room, as
// Centrifugo's server API does: POST /api/publish with
// "Authorization: Bearer <Config.APIKey>" and {"room","name","msg"}. The
// message is numbered, stored and delivered like any other, from name;
// the answer is 200 {"id":N} once it is stored.

type publishRequest struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Msg  string `json:"msg"`
}

// apiKeyOK compares the request's bearer key with Config.APIKey in
// constant time (of the digests, so not even the length leaks).
func (s *Server) apiKeyOK(req *http1.Request) bool {
	got, ok := strings.CutPrefix(string(req.Header("Authorization")), "Bearer ")
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.APIKey))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (s *Server) publish(ctx *pipeline.Context, req *http1.Request) {
	if !s.apiKeyOK(req) {
		resp := http1.NewResponse(req)
		resp.Header.Set("WWW-Authenticate", `Bearer realm="chat"`)
		replyJSON(ctx.Channel(), req, resp, http.StatusUnauthorized, `{"code":"unauthorized","msg":"a valid API key is required"}`)
		return
	}
	var in publishRequest
	if err := jsonmsg.API.Unmarshal(req.Body, &in); err != nil {
		router.Error(ctx, req, http.StatusBadRequest, "the body is a JSON object with room, name and msg")
		return
	}
	text := strings.TrimSpace(in.Msg)
	name, err := s.cleanName(in.Name)
	switch {
	case !validRoom(in.Room):
		router.Error(ctx, req, http.StatusBadRequest, "rooms are 1 to 64 letters, digits, - or _")
		return
	case strings.TrimSpace(in.Name) == "" || err != nil:
		router.Error(ctx, req, http.StatusBadRequest, fmt.Sprintf("name is 1 to %d characters without control characters", s.cfg.MaxNameLen))
		return
	case text == "" || utf8.RuneCountInString(text) > s.cfg.MaxMessageLen:
		router.Error(ctx, req, http.StatusBadRequest, fmt.Sprintf("msg is 1 to %d characters", s.cfg.MaxMessageLen))
		return
	}
	ch := ctx.Channel()
	received := time.Now()
	p := &post{kind: kindUser, key: in.Room, groups: []string{in.Room}, received: received,
		msg: Msg{Room: in.Room, From: name, Text: text, Time: received.UTC()}}
	p.done = func(m Msg, err error) {
		resp := http1.NewResponse(req)
		switch {
		case err != nil:
			replyJSON(ch, req, resp, http.StatusServiceUnavailable, `{"code":"unavailable","msg":"not stored, try again"}`)
		default:
			replyJSON(ch, req, resp, http.StatusOK, fmt.Sprintf(`{"id":%d,"epoch":%q}`, m.ID, m.Epoch))
		}
	}
	if err := s.exec.Submit(roomKey(in.Room), func() {
		// The avatar of the name's user, if it has logged in.
		if u, ok, err := s.store.FindUser(name); err == nil && ok {
			p.msg.Avatar = u.Avatar
		} else {
			p.msg.Avatar = Avatars[0]
		}
		s.runPost(p)
	}); err != nil {
		replyJSON(ch, req, http1.NewResponse(req), http.StatusServiceUnavailable, `{"code":"busy","msg":"server busy, try again"}`)
	}
}

// replyJSON sends a JSON answer from any goroutine.
func replyJSON(ch *pipeline.Channel, req *http1.Request, resp *http1.Response, status int, body string) {
	resp.Status = status
	resp.Header.Set("Content-Type", "application/json")
	resp.Body = append(resp.Body, body...)
	req.Release()
	ch.WriteAndFlush(resp)
}
