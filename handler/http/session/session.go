package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the session Manager in the presets
// (upgrade removes it after an upgrade).
const Name = "sessions"

// Data is what a store keeps for one session.
type Data struct {
	Values   map[string]string
	Created  time.Time
	LastSeen time.Time
	UAHash   string // hex SHA-256 of the User-Agent, when bound
}

// Store keeps session data by ID. Implementations are safe for concurrent
// use; they may block.
type Store interface {
	// Load returns the data of id, or ErrNotFound.
	Load(ctx context.Context, id string) (*Data, error)
	// Save stores data under id until expires.
	Save(ctx context.Context, id string, data *Data, expires time.Time) error
	// Delete removes id.
	Delete(ctx context.Context, id string) error
}

// NonBlocking is implemented by stores whose calls never block, so the
// Manager may call them on the event loop.
type NonBlocking interface{ NonBlocking() }

// ErrNotFound is returned by Store.Load for an unknown or expired ID.
var ErrNotFound = errors.New("session: not found")

// Config configures a Manager; zero values mean the defaults.
type Config struct {
	// CookieName defaults to "gnetty_session". Over TLS the cookie is
	// named "__Host-" + CookieName.
	CookieName string
	// IdleTimeout ends a session unused this long; default 30 min.
	IdleTimeout time.Duration
	// MaxLifetime ends a session this long after login; default 24 h.
	MaxLifetime time.Duration
	// BindUserAgent ends a session presented with another User-Agent.
	BindUserAgent bool
	// TrustProxy believes "X-Forwarded-Proto: https" for the Secure flag
	// (a TLS-terminating proxy in front). With TrustedProxies set, only
	// from a peer in one of them; without, from any peer.
	TrustProxy bool
	// TrustedProxies are the addresses of the proxies TrustProxy means
	// (for example 127.0.0.1/32, 10.0.0.0/8).
	TrustedProxies []netip.Prefix
	// OutageGrace is how long a session this node loaded stays valid
	// while the store fails (a Redis outage): long enough to ride out a
	// restart without logging users out, short enough that a logout on
	// another node takes effect. Default 5 min; -1 disables.
	OutageGrace time.Duration
	// Store defaults to a new MemoryStore.
	Store Store
	// Now is the clock; default time.Now. Tests pass a fake one.
	Now func() time.Time
}

// Session is one client's server-side state. Read and change it on the
// loop that handles the request, then Save it.
type Session struct {
	ID   string
	Data *Data
}

// Get returns the value stored under key.
func (s *Session) Get(key string) string { return s.Data.Values[key] }

// Set stores a value (persisted by Manager.Save).
func (s *Session) Set(key, value string) {
	if s.Data.Values == nil {
		s.Data.Values = map[string]string{}
	}
	s.Data.Values[key] = value
}

var (
	sessionKey     = pipeline.NewAttrKey[*Session]("session")
	unavailableKey = pipeline.NewAttrKey[error]("session.unavailable")
)

// FromChannelErr is FromChannel that also tells why there is no session:
// an error wrapping ErrUnavailable when the request carried a session
// cookie the store could not be asked about (answer 503 and let the client
// retry, rather than sending it to log in again).
func FromChannelErr(ch *pipeline.Channel) (*Session, error) {
	if s, ok := sessionKey.Get(ch); ok {
		return s, nil
	}
	err, _ := unavailableKey.Get(ch)
	return nil, err
}

// FromChannel returns the session of the request being handled on ch, or
// nil when the client has none.
func FromChannel(ch *pipeline.Channel) *Session {
	s, _ := sessionKey.Get(ch)
	return s
}

// Manager loads, creates and destroys sessions.
type Manager struct {
	pipeline.Inbound[*http1.Request]
	cfg Config

	mu       sync.Mutex
	recent   map[string]recentSession // sessions loaded lately, for store outages
	inline   bool
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var _ pipeline.ReadHandler = (*Manager)(nil)

// New returns a manager. With the default MemoryStore it starts a janitor
// goroutine that Close stops.
func New(cfg Config) *Manager {
	if cfg.CookieName == "" {
		cfg.CookieName = "gnetty_session"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OutageGrace == 0 {
		cfg.OutageGrace = 5 * time.Minute
	}
	m := &Manager{stop: make(chan struct{}), done: make(chan struct{}), recent: map[string]recentSession{}}
	m.Inbound = pipeline.InboundOf[*http1.Request](m)
	if cfg.Store == nil {
		ms := NewMemoryStore(cfg.Now)
		cfg.Store = ms
		go ms.janitor(time.Minute, m.stop, m.done)
	} else {
		close(m.done)
	}
	m.cfg = cfg
	_, m.inline = cfg.Store.(NonBlocking)
	return m
}

// Close stops the janitor of the default store.
func (m *Manager) Close() {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
}

// Config returns the manager's configuration with defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// NewID returns a fresh session ID: 128 bits from crypto/rand as 32 hex
// characters.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("session: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func uaHash(req *http1.Request) string {
	sum := sha256.Sum256(req.Header("User-Agent"))
	return hex.EncodeToString(sum[:])
}

// cookieName is the session cookie's name: with the "__Host-" prefix
// when the request came over TLS.
func (m *Manager) cookieName(secure bool) string {
	if secure {
		return "__Host-" + m.cfg.CookieName
	}
	return m.cfg.CookieName
}

// cookieIDs returns every well-formed session cookie of the request, in
// order. A client may carry several (a cookie planted for a parent domain
// or another path comes first): each is tried, so an unknown one cannot
// shadow the real session, and two live ones are refused.
func (m *Manager) cookieIDs(req *http1.Request, secure bool) []string {
	var ids []string
	want := m.cookieName(secure)
	for _, f := range req.Fields() {
		if !strings.EqualFold(string(f.Name), "Cookie") {
			continue
		}
		for _, part := range strings.Split(string(f.Value), ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && name == want && validID(value) && len(ids) < maxSessionCookies {
				ids = append(ids, value)
			}
		}
	}
	return ids
}

// maxSessionCookies bounds the store lookups one request can cause.
const maxSessionCookies = 4

// ErrUnavailable is what FromChannelErr reports when the request carried
// a session cookie but the store could not be asked (and this node had
// not loaded that session lately): answer 503, not "log in".
var ErrUnavailable = errors.New("session: store unavailable")

// ErrConflict is what FromChannelErr reports when the request carried two
// different live sessions: one may have been planted (a cookie set for a
// parent domain or a narrower path is sent first), so the request runs as
// neither. Answer 400 and let the client log in again, which destroys
// every session its cookies name.
var ErrConflict = errors.New("session: the request carries two different sessions")

type recentSession struct {
	d      Data
	loaded time.Time
}

// maxRecent bounds the outage cache (a random entry makes room).
const maxRecent = 100_000

func (m *Manager) remember(id string, d *Data, now time.Time) {
	if m.cfg.OutageGrace < 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recent[id]; !ok && len(m.recent) >= maxRecent {
		for k := range m.recent {
			delete(m.recent, k)
			break
		}
	}
	cp := *d
	cp.Values = maps.Clone(d.Values)
	m.recent[id] = recentSession{d: cp, loaded: now}
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	delete(m.recent, id)
	m.mu.Unlock()
}

// recalled returns the session id as this node last loaded it, if that
// was within OutageGrace.
func (m *Manager) recalled(id string, now time.Time) (*Data, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recent[id]
	if !ok || now.Sub(r.loaded) > m.cfg.OutageGrace {
		return nil, false
	}
	d := r.d
	d.Values = maps.Clone(r.d.Values)
	return &d, true
}

// load returns the live session named by the request's cookies, or nil;
// err is ErrUnavailable when the store failed and no session could be
// found (nor recalled), ErrConflict when two cookies name different live
// sessions.
func (m *Manager) load(ctx context.Context, req *http1.Request, secure bool) (*Session, error) {
	var failed error
	var found *Session
	now := m.cfg.Now()
	for _, id := range m.cookieIDs(req, secure) {
		if found != nil && id == found.ID {
			continue
		}
		d, err := m.cfg.Store.Load(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			var ok bool
			if d, ok = m.recalled(id, now); !ok {
				failed = err
				continue
			}
			err = nil
		}
		if err != nil {
			continue
		}
		if now.Sub(d.LastSeen) > m.cfg.IdleTimeout || now.Sub(d.Created) > m.cfg.MaxLifetime {
			_ = m.cfg.Store.Delete(ctx, id)
			m.forget(id)
			continue
		}
		if m.cfg.BindUserAgent && d.UAHash != uaHash(req) {
			continue
		}
		if found != nil {
			return nil, ErrConflict
		}
		found = &Session{ID: id, Data: d}
	}
	if found != nil {
		d := found.Data
		d.LastSeen = now
		_ = m.cfg.Store.Save(ctx, found.ID, d, m.expiry(d)) // fails quietly during an outage
		m.remember(found.ID, d, now)
		return found, nil
	}
	if failed != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, failed)
	}
	return nil, nil
}

func (m *Manager) expiry(d *Data) time.Time {
	idle := d.LastSeen.Add(m.cfg.IdleTimeout)
	if abs := d.Created.Add(m.cfg.MaxLifetime); abs.Before(idle) {
		return abs
	}
	return idle
}

// HandleMessage loads the request's session onto the channel, then passes
// the request on (other messages pass the manager by, through its
// Inbound).
func (m *Manager) HandleMessage(ctx *pipeline.Context, req *http1.Request) {
	secure := m.secure(ctx.Channel(), req)
	if m.inline {
		s, err := m.load(context.Background(), req, secure)
		m.attach(ctx, s, err)
		ctx.FireRead(req)
		return
	}
	ch := ctx.Channel()
	go func() {
		s, err := m.load(context.Background(), req, secure)
		ch.Execute(func() {
			if ctx.IsRemoved() || !ch.IsActive() {
				req.Release()
				return
			}
			m.attach(ctx, s, err)
			ctx.FireRead(req)
		})
	}()
}

func (m *Manager) attach(ctx *pipeline.Context, s *Session, err error) {
	if err != nil {
		unavailableKey.Set(ctx.Channel(), err)
	} else {
		unavailableKey.Delete(ctx.Channel())
	}
	if s == nil {
		sessionKey.Delete(ctx.Channel())
		return
	}
	sessionKey.Set(ctx.Channel(), s)
}

func (m *Manager) secure(ch *pipeline.Channel, req *http1.Request) bool {
	if req.Secure {
		return true
	}
	if !m.cfg.TrustProxy || !strings.EqualFold(string(req.Header("X-Forwarded-Proto")), "https") {
		return false
	}
	if len(m.cfg.TrustedProxies) == 0 {
		return true
	}
	if ch == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(ch.RemoteAddr().String())
	if err != nil {
		return false
	}
	for _, p := range m.cfg.TrustedProxies {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

func (m *Manager) cookie(secure bool, value string, maxAge int) string {
	c := &http.Cookie{
		Name: m.cookieName(secure), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure,
	}
	return c.String()
}

// Login starts a new session for the request's client with values: any
// session it had is destroyed first (a fresh ID defeats fixation). It adds
// the cookie to resp and records the session on the channel. It may block
// when the store does: call it off the loop then.
func (m *Manager) Login(ctx context.Context, ch *pipeline.Channel, req *http1.Request, resp *http1.Response, values map[string]string) (*Session, error) {
	secure := m.secure(ch, req)
	for _, old := range m.cookieIDs(req, secure) {
		_ = m.cfg.Store.Delete(ctx, old)
		m.forget(old)
	}
	now := m.cfg.Now()
	d := &Data{Values: values, Created: now, LastSeen: now}
	if m.cfg.BindUserAgent {
		d.UAHash = uaHash(req)
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	id := NewID()
	if err := m.cfg.Store.Save(ctx, id, d, m.expiry(d)); err != nil {
		return nil, err
	}
	resp.Header.Add("Set-Cookie", m.cookie(secure, id, int(m.cfg.MaxLifetime.Seconds())))
	m.remember(id, d, now)
	s := &Session{ID: id, Data: d}
	if ch != nil {
		sessionKey.Set(ch, s)
	}
	return s, nil
}

// Save stores s's data again (after Set).
func (m *Manager) Save(ctx context.Context, s *Session) error {
	return m.cfg.Store.Save(ctx, s.ID, s.Data, m.expiry(s.Data))
}

// Logout destroys the request's sessions (every session cookie it
// carried) and clears the cookie.
func (m *Manager) Logout(ctx context.Context, ch *pipeline.Channel, req *http1.Request, resp *http1.Response) error {
	if ch != nil {
		sessionKey.Delete(ch)
	}
	secure := m.secure(ch, req)
	resp.Header.Add("Set-Cookie", m.cookie(secure, "", -1))
	var errs []error
	for _, id := range m.cookieIDs(req, secure) {
		m.forget(id)
		if err := m.cfg.Store.Delete(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MemoryStore keeps sessions in memory: the single-node default.
type MemoryStore struct {
	mu   sync.Mutex
	now  func() time.Time
	data map[string]memEntry
}

type memEntry struct {
	d       Data
	expires time.Time
}

// NewMemoryStore returns an empty store using now as its clock (nil:
// time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, data: map[string]memEntry{}}
}

// NonBlocking marks the store as safe to call on an event loop.
func (*MemoryStore) NonBlocking() {}

func clone(d *Data) *Data {
	c := *d
	c.Values = make(map[string]string, len(d.Values))
	for k, v := range d.Values {
		c.Values[k] = v
	}
	return &c
}

// Load implements Store.
func (s *MemoryStore) Load(_ context.Context, id string) (*Data, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[id]
	if !ok || !s.now().Before(e.expires) {
		return nil, ErrNotFound
	}
	return clone(&e.d), nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, id string, d *Data, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[id] = memEntry{d: *clone(d), expires: expires}
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, id)
	return nil
}

// GC removes expired sessions and returns how many it removed.
func (s *MemoryStore) GC() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, n := s.now(), 0
	for id, e := range s.data {
		if !now.Before(e.expires) {
			delete(s.data, id)
			n++
		}
	}
	return n
}

// Len returns the number of stored sessions, expired ones included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

func (s *MemoryStore) janitor(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.GC()
		}
	}
}
