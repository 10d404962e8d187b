package http1

import (
	"bytes"

	"github.com/gnetty/gnetty/pipeline"
)

// bodyReader is the message-body half of both decoders, the server's
// (requests) and the client's (responses): Content-Length bodies, chunked
// ones with trailers, and (responses only) bodies that end with the
// connection. It fires *Content pieces, the last with Last set, and
// returns a *StatusError for framing it cannot trust; the decoder that
// embeds it decides what failing means.
type bodyReader struct {
	limits    *Config
	state     int
	done      int // the state after a body: stateHead, or the client's next
	remaining int64
	content   Content
}

// body decodes in the current body state.
func (d *bodyReader) body(ctx *pipeline.Context, in []byte) (int, *StatusError) {
	switch d.state {
	case stateBody: // a Content-Length body: its last piece ends the message
		return d.bodyPiece(ctx, in, true, d.done), nil
	case stateChunkSize:
		return d.chunkSize(in)
	case stateChunkData: // a chunk: the zero-size chunk ends the message
		return d.bodyPiece(ctx, in, false, stateChunkCRLF), nil
	case stateChunkCRLF:
		if len(in) < 2 {
			if len(in) == 1 && in[0] != '\r' {
				return 0, errChunkCRLF
			}
			return 0, nil
		}
		if in[0] != '\r' || in[1] != '\n' {
			return 0, errChunkCRLF
		}
		d.state = stateChunkSize
		return 2, nil
	case stateUntilClose: // ends with the connection (HandleInactive fires the last piece)
		d.fireContent(ctx, in, false, nil)
		return len(in), nil
	default:
		return d.trailer(ctx, in)
	}
}

// bodyPiece fires what in holds of the d.remaining body bytes due, and
// moves to next once they have all come; lastEnds says whether the last
// of them ends the request's body.
func (d *bodyReader) bodyPiece(ctx *pipeline.Context, in []byte, lastEnds bool, next int) int {
	n := min(int64(len(in)), d.remaining)
	d.remaining -= n
	last := lastEnds && d.remaining == 0
	if d.remaining == 0 {
		d.state = next // before the piece goes out: a handler may end it all
	}
	d.fireContent(ctx, in[:n], last, nil)
	return int(n)
}

func (d *decoder) fireContent(ctx *pipeline.Context, data []byte, last bool, trailer []Field) {
	d.content = Content{Data: data, Last: last, Trailer: trailer}
	ctx.FireRead(&d.content)
}

func (d *bodyReader) fireContent(ctx *pipeline.Context, data []byte, last bool, trailer []Field) {
	d.content = Content{Data: data, Last: last, Trailer: trailer}
	ctx.FireRead(&d.content)
}

func (d *bodyReader) chunkSize(in []byte) (int, *StatusError) {
	i := bytes.IndexByte(in, '\n')
	if i < 0 {
		if len(in) > 4096 {
			return 0, errChunkSize
		}
		return 0, nil
	}
	if i == 0 || in[i-1] != '\r' {
		return 0, errChunkSize
	}
	line := in[:i-1]
	var size int64
	digits := 0
	for digits < len(line) {
		c := line[digits]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			goto ext
		}
		if digits >= 15 {
			return 0, errChunkTooLarge
		}
		size = size<<4 | int64(v)
		digits++
	}
ext:
	if digits == 0 {
		return 0, errChunkSize
	}
	if rest := line[digits:]; len(rest) > 0 {
		// chunk-ext: BWS ";" name [= value] ...; no controls allowed.
		rest = trimOWS(rest)
		if len(rest) == 0 || rest[0] != ';' || !validValue(rest) { // "5 " has no extension after its whitespace
			return 0, errChunkSize
		}
	}
	if size == 0 {
		d.state = stateTrailer
	} else {
		d.state, d.remaining = stateChunkData, size
	}
	return i + 1, nil
}

func (d *bodyReader) trailer(ctx *pipeline.Context, in []byte) (int, *StatusError) {
	if len(in) < 2 {
		if len(in) == 1 && in[0] != '\r' {
			// a trailer field; wait for more
			return 0, nil
		}
		return 0, nil
	}
	if in[0] == '\r' && in[1] == '\n' {
		d.state = d.done
		d.fireContent(ctx, nil, true, nil)
		return 2, nil
	}
	end := bytes.Index(in, crlf2)
	if end < 0 {
		if len(in) > d.limits.MaxHeaderBytes {
			return 0, errHeadTooLarge
		}
		return 0, nil
	}
	n := end + 4
	if n > d.limits.MaxHeaderBytes {
		return 0, errHeadTooLarge
	}
	var fields []Field
	block := in[:end+2]
	if err := checkCRLF(block); err != nil {
		return 0, errTrailer
	}
	for len(block) > 0 {
		i := bytes.Index(block, []byte("\r\n"))
		f, err := parseField(block[:i])
		if err != nil {
			return 0, errTrailer
		}
		fields = append(fields, f)
		if len(fields) > d.limits.MaxHeaders {
			return 0, errTooManyHeaders
		}
		block = block[i+2:]
	}
	d.state = d.done
	d.fireContent(ctx, nil, true, fields)
	return n, nil
}
