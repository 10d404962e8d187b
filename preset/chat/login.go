package chat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/codec/jsonmsg"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/handler/http/session"
	"github.com/gnetty/gnetty/pipeline"
)

// loginForm is what POST /login takes (form or JSON).
type loginForm struct {
	Name     string `json:"name"`
	Avatar   string `json:"avatar"`
	Password string `json:"password"`
}

// logoutForm is what POST /logout takes (form, JSON, or nothing).
type logoutForm struct {
	Everywhere bool `json:"everywhere"`
}

// loginError is a refused login: its status and the body's code.
type loginError struct {
	status int
	code   string
	msg    string
}

func (e *loginError) Error() string { return e.code }

var (
	// A guest login with a name someone holds (an account, a token user,
	// another live guest): the same answer whoever holds it.
	errNameTaken = &loginError{http.StatusConflict, "name_taken", "that name is taken; if it is yours, give its password"}
	// A password login that fails, for any reason: a wrong password, or
	// a name held by someone without one. One answer, in one time.
	errBadCredentials = &loginError{http.StatusUnauthorized, "bad_credentials", "wrong password, or the name belongs to someone else"}
	errPasswordNeeded = &loginError{http.StatusUnauthorized, "password_required", "this chat has no guests: log in with a password"}
	errShortPassword  = &loginError{http.StatusBadRequest, "weak_password", "a new account's password is at least 8 characters"}
	errLoginRate      = &loginError{http.StatusTooManyRequests, "rate_limited", "too many login attempts; wait a minute"}
)

// login answers POST /login: a guest login (a name alone) or an account
// login (a name and a password; the first such login to a free name makes
// the account). The stores may block and a password hash takes tens of
// milliseconds, so it runs off the loop.
func (s *Server) login(ctx *pipeline.Context, req *http1.Request) {
	if !s.sameSite(ctx, req) {
		return
	}
	var f loginForm
	if strings.HasPrefix(string(req.Header("Content-Type")), "application/json") {
		if len(req.Body) > 0 && jsonmsg.API.Unmarshal(req.Body, &f) != nil {
			router.Error(ctx, req, http.StatusBadRequest, "bad JSON")
			return
		}
	} else {
		q, err := url.ParseQuery(string(req.Body))
		if err != nil {
			router.Error(ctx, req, http.StatusBadRequest, "bad form")
			return
		}
		f.Name, f.Avatar, f.Password = q.Get("name"), q.Get("avatar"), q.Get("password")
	}
	name, key, err := prepareName(f.Name, s.cfg.MaxNameLen)
	if err != nil {
		replyJSON(ctx.Channel(), req, http1.NewResponse(req), http.StatusBadRequest,
			`{"code":"bad_name","msg":"names are 1 to `+strconv.Itoa(s.cfg.MaxNameLen)+` letters, digits, punctuation or spaces, with nothing invisible"}`)
		return
	}
	if len(f.Password) > maxPasswordLen || !utf8.ValidString(f.Password) {
		replyJSON(ctx.Channel(), req, http1.NewResponse(req), http.StatusBadRequest, `{"code":"bad_request","msg":"bad password"}`)
		return
	}
	if f.Password != "" && !s.logins.allow(key, remoteIP(ctx.Channel())) {
		resp := http1.NewResponse(req)
		resp.Header.Set("Retry-After", "60")
		replyJSON(ctx.Channel(), req, resp, errLoginRate.status, loginBody(errLoginRate))
		return
	}
	u := User{Name: name, Avatar: cleanAvatar(f.Avatar), LoginTime: time.Now().UTC()}
	ch := ctx.Channel()
	cur := session.FromChannel(ch)
	go func() { // the stores may block and hashing is slow: never on the loop
		resp := http1.NewResponse(req)
		u, err := s.authenticate(context.Background(), ch, req, resp, u, key, f.Password, cur)
		var le *loginError
		switch {
		case errors.As(err, &le):
			resp.Header = resp.Header[:0]
			replyJSON(ch, req, resp, le.status, loginBody(le))
		case err != nil:
			// A store is down (a Redis outage): nothing is wrong with the
			// request, so 503 and a retry, not 500.
			s.cfg.Logger.Warn("chat: login", "err", err)
			resp.Header = resp.Header[:0]
			resp.Header.Set("Retry-After", "2")
			replyJSON(ch, req, resp, http.StatusServiceUnavailable, `{"code":"unavailable","msg":"sessions unavailable, try again"}`)
		default:
			b, _ := jsonmsg.API.Marshal(u)
			replyJSON(ch, req, resp, http.StatusOK, string(b))
		}
	}()
}

func loginBody(e *loginError) string {
	b, _ := jsonmsg.API.Marshal(errorMsg{Code: e.code, Msg: e.msg})
	return string(b)
}

// authenticate decides who the request logs in as and starts the session
// (its cookie goes on resp). cur is the request's live session, if any: a
// guest logging in again keeps its identity and name. It blocks.
func (s *Server) authenticate(ctx context.Context, ch *pipeline.Channel, req *http1.Request, resp *http1.Response, u User, key, password string, cur *session.Session) (User, error) {
	v, err := s.dir.owner(ctx, key)
	if err != nil {
		return u, err
	}
	h := decodeHolder(v)
	live, err := s.holds(ctx, h)
	if err != nil {
		return u, err
	}
	curSID := ""
	if cur != nil {
		curSID = cur.ID
	}
	mine := h.guest() && h.SID == curSID && curSID != ""
	switch {
	case password != "" && strings.HasPrefix(h.UID, accountPrefix):
		a, ok, err := s.dir.account(ctx, h.UID)
		if err != nil {
			return u, err
		}
		hash := a.Hash
		if !ok {
			hash = dummyHash
		}
		if good, err := checkPassword(password, hash); err != nil || !good || !ok {
			return u, errBadCredentials
		}
		u.ID, u.Name = a.UID, a.Name
		sid, err := s.startSession(ctx, ch, req, resp, u, cur)
		if err != nil {
			return u, err
		}
		return u, s.dir.addSession(ctx, u.ID, sid)
	case password != "" && (!live || mine):
		// The first login with a password to a free name (or to the
		// name the guest logging in holds) makes the account.
		if utf8.RuneCountInString(password) < minPasswordLen {
			return u, errShortPassword
		}
		a := account{UID: accountPrefix + newEpoch() + newEpoch(), Name: u.Name, Hash: hashPassword(password), Created: time.Now().UTC()}
		if err := s.dir.putAccount(ctx, a); err != nil {
			return u, err
		}
		ok, err := s.dir.swap(ctx, key, v, holder{UID: a.UID, Name: a.Name}.encode())
		if err != nil || !ok {
			_ = s.dir.deleteAccount(ctx, a.UID) // another login took the name meanwhile
			if err == nil {
				err = errBadCredentials
			}
			return u, err
		}
		u.ID = a.UID
		sid, err := s.startSession(ctx, ch, req, resp, u, cur)
		if err != nil {
			return u, err
		}
		return u, s.dir.addSession(ctx, u.ID, sid)
	case password != "":
		_, _ = checkPassword(password, dummyHash) // the same time as a wrong password
		return u, errBadCredentials
	case s.cfg.NoGuests:
		return u, errPasswordNeeded
	case live && !mine:
		return u, errNameTaken
	}
	// A guest: a new identity, or the same one logging in again.
	u.ID = guestPrefix + newEpoch() + newEpoch()
	if mine {
		u.ID = h.UID
	}
	sid, err := s.startSession(ctx, ch, req, resp, u, cur)
	if err != nil {
		return u, err
	}
	ok, err := s.dir.swap(ctx, key, v, holder{UID: u.ID, SID: sid, Name: u.Name}.encode())
	if err != nil || !ok {
		_ = s.sessions.Config().Store.Delete(ctx, sid)
		if err == nil {
			err = errNameTaken // another login took it meanwhile
		}
		return u, err
	}
	return u, nil
}

// holds reports whether h still holds its name: accounts and token users
// for good, a guest while its session lives.
func (s *Server) holds(ctx context.Context, h holder) (bool, error) {
	switch {
	case h.UID == "":
		return false, nil
	case !h.guest():
		return true, nil
	}
	switch _, err := s.sessions.Config().Store.Load(ctx, h.SID); {
	case err == nil:
		return true, nil
	case errors.Is(err, session.ErrNotFound):
		return false, nil
	default:
		return false, err // the store cannot tell: not now
	}
}

// startSession logs the request in as u (a new session, whose ID it
// returns; the cookie on resp), releasing the name cur held as a guest
// when u is another name.
func (s *Server) startSession(ctx context.Context, ch *pipeline.Channel, req *http1.Request, resp *http1.Response, u User, cur *session.Session) (string, error) {
	values := map[string]string{"user": u.Name, "uid": u.ID, "avatar": u.Avatar, "login_time": u.LoginTime.Format(time.RFC3339Nano)}
	ns, err := s.sessions.Login(ctx, ch, req, resp, values)
	if err != nil {
		return "", err
	}
	if cur != nil {
		old := sessionUser(cur)
		if nameKey(old.Name) != nameKey(u.Name) || old.ID != u.ID {
			_ = s.dir.release(ctx, nameKey(old.Name), cur.ID) // renamed: the old name is free
		}
		if strings.HasPrefix(old.ID, accountPrefix) {
			_ = s.dir.dropSessions(ctx, old.ID, cur.ID)
		}
	}
	if err := s.store.SaveUser(u); err != nil {
		s.cfg.Logger.Warn("chat: save user", "err", err)
	}
	return ns.ID, nil
}

// logout ends the session, off the loop (the store may block), and
// closes every WebSocket connection of that session, on every node; with
// "everywhere" (JSON or form), every session of the account.
func (s *Server) logout(ctx *pipeline.Context, req *http1.Request) {
	if !s.sameSite(ctx, req) {
		return
	}
	var f logoutForm
	if strings.HasPrefix(string(req.Header("Content-Type")), "application/json") {
		_ = jsonmsg.API.Unmarshal(req.Body, &f)
	} else if q, err := url.ParseQuery(string(req.Body)); err == nil {
		f.Everywhere = q.Get("everywhere") == "true" || q.Get("everywhere") == "1"
	}
	ch := ctx.Channel()
	sess := session.FromChannel(ch)
	go func() {
		bg := context.Background()
		resp := http1.NewResponse(req)
		if err := s.sessions.Logout(bg, ch, req, resp); err != nil {
			s.cfg.Logger.Warn("chat: logout", "err", err)
		}
		ended := 0
		if sess != nil {
			u := sessionUser(sess)
			_ = s.dir.release(bg, nameKey(u.Name), sess.ID)
			s.endSession(sess.ID)
			ended = 1
			if strings.HasPrefix(u.ID, accountPrefix) {
				sids := []string{sess.ID}
				if f.Everywhere {
					all, err := s.dir.sessionsOf(bg, u.ID)
					if err != nil {
						s.cfg.Logger.Warn("chat: logout everywhere", "err", err)
					}
					for _, sid := range all {
						if sid != sess.ID {
							_ = s.sessions.Config().Store.Delete(bg, sid)
							s.endSession(sid)
							ended++
						}
					}
					sids = append(sids, all...)
				}
				_ = s.dir.dropSessions(bg, u.ID, sids...)
			}
		}
		replyJSON(ch, req, resp, http.StatusOK, `{"ok":true,"sessions":`+strconv.Itoa(ended)+`}`)
	}()
}

// loginLimiter bounds password attempts per name and per client address
// (each attempt costs a password hash): LoginAttempts a minute for an
// address, half that for a name, with bursts of the same size. Guest
// logins have no secret to guess and are not counted.
type loginLimiter struct {
	mu     sync.Mutex
	perMin int
	byKey  map[string]*rateEntry
	now    func() time.Time
}

type rateEntry struct {
	l    *rate.Limiter
	used time.Time
}

func newLoginLimiter(perMin int) *loginLimiter {
	return &loginLimiter{perMin: perMin, byKey: map[string]*rateEntry{}, now: time.Now}
}

// allow takes one attempt for name key from addr, if both have one left.
func (l *loginLimiter) allow(key, addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.byKey) > 100_000 {
		for k, e := range l.byKey { // forget the idle ones
			if now.Sub(e.used) > 10*time.Minute {
				delete(l.byKey, k)
			}
		}
	}
	byName := l.entry("n\x00"+key, max(1, l.perMin/2), now)
	byAddr := l.entry("a\x00"+addr, l.perMin, now)
	if byName.l.TokensAt(now) < 1 || byAddr.l.TokensAt(now) < 1 {
		return false
	}
	byName.l.AllowN(now, 1)
	byAddr.l.AllowN(now, 1)
	return true
}

func (l *loginLimiter) entry(k string, perMin int, now time.Time) *rateEntry {
	e := l.byKey[k]
	if e == nil {
		e = &rateEntry{l: rate.NewLimiter(rate.Limit(float64(perMin)/60), perMin)}
		l.byKey[k] = e
	}
	e.used = now
	return e
}

// remoteIP is the client's address without its port.
func remoteIP(ch *pipeline.Channel) string {
	a := ch.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}
