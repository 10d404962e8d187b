package http1

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// URL is where a client's request goes, read from its URL: what the HTTP
// client and the WebSocket Dial need to connect and to write the request.
type URL struct {
	Scheme string // as given: http, https, ws or wss
	Secure bool   // https or wss: over TLS
	Host   string // the host name alone (TLS's ServerName)
	Addr   string // host:port to dial, port 80 or 443 when the URL has none
	// Authority is the Host header's value: the URL's host[:port].
	Authority string
	// Target is the request target: the escaped path ("/" at least) and
	// the query.
	Target string
}

// ParseURL reads rawURL, whose scheme must be plain (over TCP) or secure
// (over TLS): "http", "https" for HTTP, "ws", "wss" for WebSocket.
func ParseURL(rawURL, plain, secure string) (URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return URL{}, err
	}
	t := URL{Scheme: u.Scheme, Authority: u.Host, Host: u.Hostname()}
	switch u.Scheme {
	case plain:
	case secure:
		t.Secure = true
	default:
		return URL{}, fmt.Errorf("scheme %q (want %s or %s)", u.Scheme, plain, secure)
	}
	if u.Host == "" {
		return URL{}, errors.New("no host in " + rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if t.Secure {
			port = "443"
		}
	}
	t.Addr = net.JoinHostPort(t.Host, port)
	t.Target = u.EscapedPath()
	if t.Target == "" {
		t.Target = "/"
	}
	if u.RawQuery != "" {
		t.Target += "?" + u.RawQuery
	}
	return t, nil
}

// HeaderFrom copies a net/http header's fields (the form client
// configurations take) into a Header.
func HeaderFrom(h http.Header) Header {
	var out Header
	for name, values := range h {
		for _, v := range values {
			out.Add(name, v)
		}
	}
	return out
}
