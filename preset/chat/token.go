package chat

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/session"
	"github.com/gnetty/gnetty/pipeline"
)

// Connection tokens, as Centrifugo has them: an application backend that
// knows its users signs a short-lived JWT (HS256, with Config.JWTSecret)
// and its client connects with it, no login needed. The token's sub is
// the user's identity ("t:" + sub, a namespace /login never gives out)
// and its name, trusted as the backend vouches for it: a token user holds
// its name against guests (a guest holding it loses it to the token
// user), though not against an account that already has it; exp is
// required; avatar is optional.

type tokenClaims struct {
	Avatar string `json:"avatar,omitempty"`
	jwt.RegisteredClaims
}

// errBadToken is every refused token's answer (401): which check failed
// is logged at debug level, not told to the client.
var errBadToken = errors.New("chat: bad connection token")

// tokenUser verifies a connection token and returns its user.
func (s *Server) tokenUser(tok string, now time.Time) (User, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.cfg.JWTSecret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		s.cfg.Logger.Debug("chat: connection token refused", "err", err)
		return User{}, errBadToken
	}
	if c.Subject == "" {
		return User{}, errBadToken
	}
	name, err := s.cleanName(c.Subject)
	if err != nil {
		return User{}, errBadToken
	}
	login := now.UTC()
	if c.IssuedAt != nil {
		login = c.IssuedAt.UTC()
	}
	return User{ID: tokenPrefix + c.Subject, Name: name, Avatar: cleanAvatar(c.Avatar), LoginTime: login}, nil
}

// authorize decides who may upgrade to /ws/chat/{room} and records who
// they are for OnOpen: a token when the request has one (and tokens are
// on), else the session. It runs on the loop.
func (s *Server) authorize(ch *pipeline.Channel, req *http1.Request) (int, string) {
	if !validRoom(req.Param("room")) {
		return 400, "bad room name" // refused before the upgrade, not closed after it
	}
	if q, _ := url.ParseQuery(string(req.Query())); q.Has("token") && len(s.cfg.JWTSecret) > 0 {
		tok := q.Get("token")
		u, err := s.tokenUser(tok, time.Now())
		if err != nil {
			return 401, "bad token"
		}
		identityKey.Set(ch, identity{user: u, key: sessionKeyOf("token\x00" + tok)})
		// Known from now on, for direct messages to reach the name.
		_ = s.exec.Submit(roomKey("@"+u.ID), func() { s.claimTokenName(u) })
		return 0, ""
	}
	switch sess, err := session.FromChannelErr(ch); {
	case errors.Is(err, session.ErrUnavailable):
		return 503, "sessions unavailable, try again" // not "log in": the session may be fine
	case errors.Is(err, session.ErrConflict):
		return 400, "two different sessions: log in again"
	case sess == nil:
		return 401, "log in first"
	default:
		identityKey.Set(ch, identity{user: sessionUser(sess), key: sessionKeyOf(sess.ID)})
	}
	return 0, ""
}

// claimTokenName makes a token user the holder of its name, unless an
// account (or another token user) holds it. It blocks.
func (s *Server) claimTokenName(u User) {
	ctx := context.Background()
	if err := s.store.SaveUser(u); err != nil {
		s.cfg.Logger.Warn("chat: save user", "err", err)
	}
	key := nameKey(u.Name)
	v, err := s.dir.owner(ctx, key)
	if err != nil {
		s.cfg.Logger.Warn("chat: token user's name", "err", err)
		return
	}
	if h := decodeHolder(v); h.UID == u.ID || h.UID != "" && !h.guest() {
		return
	}
	if _, err := s.dir.swap(ctx, key, v, holder{UID: u.ID, Name: u.Name}.encode()); err != nil {
		s.cfg.Logger.Warn("chat: token user's name", "err", err)
	}
}
