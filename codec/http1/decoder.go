package http1

import (
	"bytes"

	"github.com/gnetty/gnetty/pipeline"
)

// MaxPipelined is how many requests may wait for their responses on one
// connection; further requests stay unread (in the decoder's buffer, then
// in the kernel's) until a response completes.
const MaxPipelined = 64

// Config holds the request decoder's limits; zero means the default.
type Config struct {
	// MaxRequestLine is the longest request line accepted (414 beyond).
	// Default 8 KiB.
	MaxRequestLine int
	// MaxHeaderBytes is the largest request head, request line included,
	// and the largest trailer section (431 beyond). Default 64 KiB.
	MaxHeaderBytes int
	// MaxHeaders is the most header fields in a head (431 beyond).
	// Default 100.
	MaxHeaders int
}

func (c *Config) normalize() {
	if c.MaxRequestLine <= 0 {
		c.MaxRequestLine = 8 << 10
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.MaxHeaders <= 0 {
		c.MaxHeaders = 100
	}
}

const (
	stateHead = iota
	stateBody
	stateChunkSize
	stateChunkData
	stateChunkCRLF
	stateTrailer
	stateUntilClose
	stateSwitched
	stateFailed // a response was refused: the rest is not read
)

var crlf2 = []byte("\r\n\r\n")

// decoder is the request parser: a codec.Step.
type decoder struct {
	bodyReader
	cfg     Config
	sc      *ServerCodec
	scanned int // bytes of an incomplete head already searched
}

func (d *decoder) Decode(ctx *pipeline.Context, in []byte) (int, error) {
	if d.state == stateHead {
		return d.head(ctx, in)
	}
	n, err := d.body(ctx, in)
	if err != nil {
		return d.fail(ctx, err)
	}
	return n, nil
}

// fail answers the error, closes the connection and stops decoding.
func (d *decoder) fail(ctx *pipeline.Context, err *StatusError) (int, error) {
	d.sc.failed(ctx, err, d.state != stateHead)
	return 0, err
}

func (d *decoder) head(ctx *pipeline.Context, in []byte) (int, error) {
	if d.sc.closing {
		return len(in), nil // the connection closes after the current response
	}
	if len(d.sc.pending) >= MaxPipelined {
		d.sc.paused = true // resumed when a response completes
		return 0, nil
	}
	// Ignore empty lines before a request (RFC 9112 2.2), CRLF or bare LF.
	lead := 0
	for {
		if len(in)-lead >= 2 && in[lead] == '\r' && in[lead+1] == '\n' {
			lead += 2
		} else if len(in)-lead >= 1 && in[lead] == '\n' {
			lead++
		} else {
			break
		}
	}
	if lead > 0 {
		d.scanned = 0
		return lead, nil
	}
	from := max(d.scanned-3, 0)
	n := headEnd(in, from)
	if n < 0 {
		if i := bytes.IndexByte(in, '\n'); i < 0 && len(in) > d.cfg.MaxRequestLine+1 || i > d.cfg.MaxRequestLine+1 {
			return d.fail(ctx, errURITooLong)
		}
		if len(in) > d.cfg.MaxHeaderBytes {
			return d.fail(ctx, errHeadTooLarge)
		}
		d.scanned = len(in)
		return 0, nil
	}
	d.scanned = 0
	if i := bytes.IndexByte(in[:n], '\n'); i > d.cfg.MaxRequestLine+1 {
		return d.fail(ctx, errURITooLong)
	}
	if n > d.cfg.MaxHeaderBytes {
		return d.fail(ctx, errHeadTooLarge)
	}
	req := AcquireRequest()
	if err := parseHead(req, in[:n], &d.cfg); err != nil {
		req.Release()
		return d.fail(ctx, err)
	}
	switch {
	case req.Chunked:
		d.state = stateChunkSize
	case req.ContentLength > 0:
		d.state, d.remaining = stateBody, req.ContentLength
	}
	d.sc.requested(ctx, req)
	ctx.FireRead(req)
	return n, nil
}

// headEnd returns the length of the request head at the start of in,
// through the empty line that ends it, or -1 while that line has not
// arrived; the search starts at from. Head lines end in CRLF or, as RFC
// 9112 2.2 lets a recipient accept, a bare LF.
func headEnd(in []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(in[i:], '\n')
		if j < 0 {
			return -1
		}
		k := i + j + 1 // just after this line's LF
		switch {
		case k < len(in) && in[k] == '\n':
			return k + 1
		case k+1 < len(in) && in[k] == '\r' && in[k+1] == '\n':
			return k + 2
		}
		i = k
	}
}

// appendHead appends head to dst with every bare LF turned into CRLF, so
// the parser sees one line ending; a bare CR stays (and is refused).
func appendHead(dst, head []byte) []byte {
	for {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			return append(dst, head...)
		}
		if i > 0 && head[i-1] == '\r' {
			dst = append(dst, head[:i+1]...)
		} else {
			dst = append(append(dst, head[:i]...), '\r', '\n')
		}
		head = head[i+1:]
	}
}

// checkCRLF rejects a CR not followed by LF and an LF not preceded by CR.
func checkCRLF(b []byte) *StatusError {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			break
		}
		if i+1 >= len(b) || b[i+1] != '\n' || bytes.IndexByte(b[:i], '\n') >= 0 {
			return errBareCR
		}
		b = b[i+2:]
	}
	if bytes.IndexByte(b, '\n') >= 0 {
		return errBareCR
	}
	return nil
}

func parseField(line []byte) (Field, *StatusError) {
	if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		return Field{}, errObsFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return Field{}, errHeaderName
	}
	name := line[:colon]
	if c := name[len(name)-1]; c == ' ' || c == '\t' {
		return Field{}, errSpaceBeforeColon
	}
	if !isToken(name) {
		return Field{}, errHeaderName
	}
	value := trimOWS(line[colon+1:])
	if !validValue(value) {
		return Field{}, errHeaderValue
	}
	return Field{Name: name, Value: value}, nil
}

// parseHead fills req from head (request line, fields, final CRLFCRLF),
// copying it into req's own buffer.
func parseHead(req *Request, head []byte, cfg *Config) *StatusError {
	req.buf = appendHead(req.buf[:0], head)
	b := req.buf[:len(req.buf)-2] // keep each line's CRLF, drop the empty line
	if err := checkCRLF(b); err != nil {
		return err
	}
	i := bytes.Index(b, []byte("\r\n"))
	if err := parseRequestLine(req, b[:i]); err != nil {
		return err
	}
	b = b[i+2:]
	var cl int64 = -1
	var te, hosts int
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		f, err := parseField(b[:i])
		if err != nil {
			return err
		}
		b = b[i+2:]
		if len(req.fields) >= cfg.MaxHeaders {
			return errTooManyHeaders
		}
		req.fields = append(req.fields, f)
		switch {
		case equalFold(f.Name, "Content-Length"):
			v, err := parseContentLength(f.Value)
			if err != nil {
				return err
			}
			if cl >= 0 && v != cl {
				return errCLMismatch
			}
			cl = v
		case equalFold(f.Name, "Transfer-Encoding"):
			te++
		case equalFold(f.Name, "Host"):
			hosts++
		}
	}
	if te > 0 {
		if cl >= 0 {
			return errCLAndTE
		}
		if req.Minor == 0 {
			return errTEInvalid // HTTP/1.0 has no transfer codings
		}
		if err := checkTransferEncoding(req); err != nil {
			return err
		}
		req.Chunked, req.ContentLength = true, -1
	} else if cl > 0 {
		req.ContentLength = cl
	}
	if req.Minor == 1 {
		switch {
		case hosts == 0:
			return errNoHost
		case hosts > 1:
			return errManyHosts
		}
		req.KeepAlive = !req.HasToken("Connection", "close")
	} else {
		if hosts > 1 {
			return errManyHosts
		}
		req.KeepAlive = req.HasToken("Connection", "keep-alive")
	}
	return nil
}

// checkTransferEncoding accepts exactly one coding, chunked.
func checkTransferEncoding(req *Request) *StatusError {
	seen := 0
	for _, f := range req.fields {
		if !equalFold(f.Name, "Transfer-Encoding") {
			continue
		}
		v := f.Value
		for { // every element, an empty one too ("chunked," or ", chunked")
			j := bytes.IndexByte(v, ',')
			if j < 0 {
				j = len(v)
			}
			tok := trimOWS(v[:j])
			switch {
			case len(tok) == 0:
				return errTEInvalid
			case equalFold(tok, "chunked"):
				seen++
			case isToken(tok):
				return errTECoding
			default:
				return errTEInvalid
			}
			if j == len(v) {
				break
			}
			v = v[j+1:]
		}
	}
	if seen != 1 {
		return errTEInvalid
	}
	return nil
}

func parseContentLength(v []byte) (int64, *StatusError) {
	var out int64 = -1
	for len(v) > 0 {
		j := bytes.IndexByte(v, ',')
		if j < 0 {
			j = len(v)
		}
		tok := trimOWS(v[:j])
		if len(tok) == 0 || len(tok) > 18 {
			return 0, errContentLength
		}
		var n int64
		for _, c := range tok {
			if c < '0' || c > '9' {
				return 0, errContentLength
			}
			n = n*10 + int64(c-'0')
		}
		if out >= 0 && n != out {
			return 0, errCLMismatch
		}
		out = n
		if j == len(v) {
			break
		}
		v = v[j+1:]
	}
	if out < 0 {
		return 0, errContentLength
	}
	return out, nil
}

func parseRequestLine(req *Request, line []byte) *StatusError {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errRequestLine
	}
	method := line[:sp]
	if !isToken(method) {
		return errMethod
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return errRequestLine
	}
	target, version := rest[:sp], rest[sp+1:]
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return errTarget
		}
	}
	if len(version) != 8 || string(version[:5]) != "HTTP/" || version[6] != '.' ||
		version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9' {
		return errVersion
	}
	req.Major, req.Minor = int(version[5]-'0'), int(version[7]-'0')
	if req.Major != 1 || req.Minor > 1 {
		return errVersionSupported
	}
	req.method = internMethod(method)
	req.target = target
	switch {
	case target[0] == '/':
		req.path = target
	case len(target) == 1 && target[0] == '*':
		if req.method != "OPTIONS" {
			return errTarget
		}
		req.path = target
	case req.method == "CONNECT":
		req.path = nil // authority-form
	default:
		// absolute-form: scheme "://" authority [path]
		k := bytes.Index(target, []byte("://"))
		if k <= 0 {
			return errTarget
		}
		p := bytes.IndexByte(target[k+3:], '/')
		if p < 0 {
			req.path = []byte("/")
		} else {
			req.path = target[k+3+p:]
		}
	}
	if q := bytes.IndexByte(req.path, '?'); q >= 0 {
		req.path, req.query = req.path[:q], req.path[q+1:]
	}
	return nil
}
