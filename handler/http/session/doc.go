// Package session keeps server-side sessions for HTTP clients, identified
// by a cookie.
//
// Session IDs are 128 random bits from crypto/rand, written as 32 hex
// characters, carried only in a cookie (HttpOnly, SameSite=Lax, Path=/,
// Secure when the request came over TLS or a trusted proxy says so), never
// in URLs. Over TLS the cookie's name carries the "__Host-" prefix
// ("__Host-gnetty_session"): browsers accept such a cookie only from a
// secure origin, without a Domain and with Path=/, so neither a sibling
// subdomain nor a network attacker on plain http can plant one, and over
// TLS only that name is read. A request that carries two different live
// sessions is refused (ErrConflict) instead of running as either. Data lives server-side in a Store, with an idle lifetime
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
