package chat

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/session"
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
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if s.cfg.JWTAudience != "" {
		opts = append(opts, jwt.WithAudience(s.cfg.JWTAudience))
	}
	if s.cfg.JWTIssuer != "" {
		opts = append(opts, jwt.WithIssuer(s.cfg.JWTIssuer))
	}
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.cfg.JWTSecret, nil }, opts...)
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
	if tok, ok := connectionToken(req); ok && len(s.cfg.JWTSecret) > 0 {
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

// Subprotocol is the chat's WebSocket subprotocol. A client that sends its
// connection token as the subprotocol "bearer.JWT" offers this one beside
// it, and the server answers with this one (never with the token).
const Subprotocol = "gnetty.chat"

// tokenProtocol prefixes a connection token offered as a subprotocol.
const tokenProtocol = "bearer."

// connectionToken returns the request's connection token: from an offered
// subprotocol "bearer.JWT" (kept out of URLs, logs and Referer headers),
// or from ?token=JWT.
func connectionToken(req *http1.Request) (string, bool) {
	for _, f := range req.Fields() {
		if !strings.EqualFold(string(f.Name), "Sec-WebSocket-Protocol") {
			continue
		}
		for _, p := range strings.Split(string(f.Value), ",") {
			if p = strings.TrimSpace(p); strings.HasPrefix(p, tokenProtocol) {
				return p[len(tokenProtocol):], true
			}
		}
	}
	if q, _ := url.ParseQuery(string(req.Query())); q.Has("token") {
		return q.Get("token"), true
	}
	return "", false
}
