package tlsh

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"io"
	"sync"
)

// serverConfigs maps an application's server tls.Config to the one the
// handlers give crypto/tls (see handoffConfig).
var serverConfigs sync.Map // *tls.Config -> *tls.Config

// handoffConfig returns the config the handler gives crypto/tls for a
// server handshake: a clone of the application's whose GetConfigForClient
// gives each handshake a fresh clone (of the application's config, or of
// what the application's GetConfigForClient returns) that logs the
// handshake's traffic secrets to the handler, through the documented
// KeyLogWriter. That is how the handler takes the connection over from
// crypto/tls after a TLS 1.3 handshake. Cloning per handshake keeps
// SetSessionTicketKeys calls on the application's config effective, and
// crypto/tls keeps automatic ticket keys from the config it was given,
// which lives as long as the application's.
func handoffConfig(app *tls.Config) *tls.Config {
	if v, ok := serverConfigs.Load(app); ok {
		return v.(*tls.Config)
	}
	base := app.Clone()
	base.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		src := app
		if app.GetConfigForClient != nil {
			c, err := app.GetConfigForClient(hi)
			if err != nil {
				return nil, err
			}
			if c != nil {
				src = c
			}
		}
		mc, ok := hi.Conn.(*memConn)
		if !ok {
			return src, nil
		}
		c := src.Clone()
		c.KeyLogWriter = &keyLog{c: mc, next: src.KeyLogWriter}
		return c, nil
	}
	v, _ := serverConfigs.LoadOrStore(app, base)
	return v.(*tls.Config)
}

// keyLog takes the application traffic secrets of one handshake from
// crypto/tls's key log lines ("LABEL <client random> <secret>", NSS's
// format) and passes every line on to the application's KeyLogWriter, if
// it set one.
type keyLog struct {
	c    *memConn
	next io.Writer
}

func (k *keyLog) Write(line []byte) (int, error) {
	if f := bytes.Fields(line); len(f) == 3 {
		var dst *[]byte
		switch string(f[0]) {
		case "CLIENT_TRAFFIC_SECRET_0":
			dst = &k.c.clientSecret
		case "SERVER_TRAFFIC_SECRET_0":
			dst = &k.c.serverSecret
		}
		if dst != nil {
			s := make([]byte, hex.DecodedLen(len(f[2])))
			if _, err := hex.Decode(s, f[2]); err == nil { // no string copy of the secret left behind
				k.c.mu.Lock()
				*dst = s
				k.c.mu.Unlock()
			}
		}
	}
	if k.next != nil {
		return k.next.Write(line)
	}
	return len(line), nil
}
