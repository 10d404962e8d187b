// Package session keeps server-side sessions for HTTP clients, identified
// by a cookie.
//
// Session IDs are 128 random bits from crypto/rand, written as 32 hex
// characters, carried only in a cookie (HttpOnly, SameSite=Lax, Path=/,
// Secure when the request came over TLS or a trusted proxy says so), never
// in URLs. Data lives server-side in a Store, with an idle lifetime
// (renewed by use) and an absolute one; expired sessions are collected by
// a janitor. Login regenerates the ID (no fixation), Logout destroys the
// session and clears the cookie, and a session can be bound to the
// User-Agent that logged in.
//
// The Manager is a pipeline handler placed after http1.Aggregator: for
// each request it loads the session named by the cookie and stores it on
// the channel (FromChannel), where later handlers (the router's, the
// WebSocket handshake's) find it.
//
// # Concurrency
//
// A Manager serves every channel and is safe for concurrent use. Stores
// may block (a network store); the Manager then loads off the event loop
// and resumes the request on the loop. MemoryStore never blocks and is
// used inline.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/pipeline"
)

// Name is the pipeline slot name of the session Manager in the presets
// (wsupgrade removes it after an upgrade).
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
	// CookieName defaults to "gnetty_session".
	CookieName string
	// IdleTimeout ends a session unused this long; default 30 min.
	IdleTimeout time.Duration
	// MaxLifetime ends a session this long after login; default 24 h.
	MaxLifetime time.Duration
	// BindUserAgent ends a session presented with another User-Agent.
	BindUserAgent bool
	// TrustProxy believes "X-Forwarded-Proto: https" for the Secure flag.
	TrustProxy bool
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

var sessionKey = pipeline.NewAttrKey[*Session]("session")

// FromChannel returns the session of the request being handled on ch, or
// nil when the client has none.
func FromChannel(ch *pipeline.Channel) *Session {
	s, _ := sessionKey.Get(ch)
	return s
}

// Manager loads, creates and destroys sessions.
type Manager struct {
	pipeline.Inbound[*http1.Request]
	cfg      Config
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
	m := &Manager{stop: make(chan struct{}), done: make(chan struct{})}
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

// cookieID finds the session cookie in the request.
func (m *Manager) cookieID(req *http1.Request) string {
	for _, f := range req.Fields() {
		if !strings.EqualFold(string(f.Name), "Cookie") {
			continue
		}
		for _, part := range strings.Split(string(f.Value), ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && name == m.cfg.CookieName && validID(value) {
				return value
			}
		}
	}
	return ""
}

// load returns the live session named by the request's cookie, or nil.
func (m *Manager) load(ctx context.Context, req *http1.Request) *Session {
	id := m.cookieID(req)
	if id == "" {
		return nil
	}
	d, err := m.cfg.Store.Load(ctx, id)
	if err != nil {
		return nil
	}
	now := m.cfg.Now()
	if now.Sub(d.LastSeen) > m.cfg.IdleTimeout || now.Sub(d.Created) > m.cfg.MaxLifetime {
		_ = m.cfg.Store.Delete(ctx, id)
		return nil
	}
	if m.cfg.BindUserAgent && d.UAHash != uaHash(req) {
		return nil
	}
	d.LastSeen = now
	_ = m.cfg.Store.Save(ctx, id, d, m.expiry(d))
	return &Session{ID: id, Data: d}
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
	if m.inline {
		m.attach(ctx, m.load(context.Background(), req))
		ctx.FireRead(req)
		return
	}
	ch := ctx.Channel()
	go func() {
		s := m.load(context.Background(), req)
		ch.Execute(func() {
			if ctx.IsRemoved() || !ch.IsActive() {
				req.Release()
				return
			}
			m.attach(ctx, s)
			ctx.FireRead(req)
		})
	}()
}

func (m *Manager) attach(ctx *pipeline.Context, s *Session) {
	if s == nil {
		sessionKey.Delete(ctx.Channel())
		return
	}
	sessionKey.Set(ctx.Channel(), s)
}

func (m *Manager) secure(req *http1.Request) bool {
	return req.Secure || m.cfg.TrustProxy && strings.EqualFold(string(req.Header("X-Forwarded-Proto")), "https")
}

func (m *Manager) cookie(req *http1.Request, value string, maxAge int) string {
	c := &http.Cookie{
		Name: m.cfg.CookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: m.secure(req),
	}
	return c.String()
}

// Login starts a new session for the request's client with values: any
// session it had is destroyed first (a fresh ID defeats fixation). It adds
// the cookie to resp and records the session on the channel. It may block
// when the store does: call it off the loop then.
func (m *Manager) Login(ctx context.Context, ch *pipeline.Channel, req *http1.Request, resp *http1.Response, values map[string]string) (*Session, error) {
	if old := m.cookieID(req); old != "" {
		_ = m.cfg.Store.Delete(ctx, old)
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
	resp.Header.Add("Set-Cookie", m.cookie(req, id, int(m.cfg.MaxLifetime.Seconds())))
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

// Logout destroys the request's session and clears its cookie.
func (m *Manager) Logout(ctx context.Context, ch *pipeline.Channel, req *http1.Request, resp *http1.Response) error {
	if ch != nil {
		sessionKey.Delete(ch)
	}
	resp.Header.Add("Set-Cookie", m.cookie(req, "", -1))
	if id := m.cookieID(req); id != "" {
		return m.cfg.Store.Delete(ctx, id)
	}
	return nil
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
