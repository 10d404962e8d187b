package static

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gnetty/gnetty/codec/http1"
	"github.com/gnetty/gnetty/handler/http/router"
	"github.com/gnetty/gnetty/pipeline"
)

// Config configures a file handler.
type Config struct {
	// FS is the file tree to serve. Required.
	FS fs.FS
	// Param is the router parameter holding the file path; default "path".
	Param string
	// Index is served for a directory; default "index.html".
	Index string
	// MaxAge, when set, adds "Cache-Control: public, max-age=N".
	MaxAge time.Duration
	// MaxFileSize refuses larger files with 404 (they are read whole);
	// default 32 MiB.
	MaxFileSize int64
	// Readers bounds the goroutines reading files at once; default 16.
	Readers int
}

type entry struct {
	size  int64
	mod   time.Time
	etag  string
	ctype string
	data  []byte
}

type files struct {
	cfg   Config
	sem   chan struct{}
	mu    sync.Mutex
	cache map[string]*entry // by clean path; revalidated by size and time
}

// New returns the route handler. It panics if cfg.FS is nil (a
// programming error caught at start-up).
func New(cfg Config) router.HandlerFunc {
	if cfg.FS == nil {
		panic("static: nil FS")
	}
	if cfg.Param == "" {
		cfg.Param = "path"
	}
	if cfg.Index == "" {
		cfg.Index = "index.html"
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = 32 << 20
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 16
	}
	f := &files{cfg: cfg, sem: make(chan struct{}, cfg.Readers), cache: map[string]*entry{}}
	return f.serve
}

// cleanPath maps a request path to an fs.FS name, or reports it unsafe.
func cleanPath(p string) (string, bool) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", false
		}
	}
	c := path.Clean("/" + p)[1:]
	if c == "" {
		c = "."
	}
	return c, fs.ValidPath(c)
}

func (f *files) serve(ctx *pipeline.Context, req *http1.Request) {
	name, ok := cleanPath(req.Param(f.cfg.Param))
	if !ok {
		router.Error(ctx, req, http.StatusNotFound, "not found")
		return
	}
	ch := ctx.Channel()
	go func() {
		f.sem <- struct{}{}
		defer func() { <-f.sem }()
		e, err := f.load(name)
		if err != nil {
			status := http.StatusNotFound
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errTooLarge) && !errors.Is(err, errIsDir) {
				status = http.StatusInternalServerError
			}
			router.Error(ctx, req, status, strings.ToLower(http.StatusText(status))) // writes through the channel: safe here
			return
		}
		ch.WriteAndFlush(f.respond(req, e))
	}()
}

var (
	errTooLarge = errors.New("static: file too large")
	errIsDir    = errors.New("static: directory without index")
)

func (f *files) load(name string) (*entry, error) {
	st, err := fs.Stat(f.cfg.FS, name)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		name = path.Join(name, f.cfg.Index)
		if st, err = fs.Stat(f.cfg.FS, name); err != nil {
			return nil, errIsDir
		}
		if st.IsDir() {
			return nil, errIsDir
		}
	}
	if st.Size() > f.cfg.MaxFileSize {
		return nil, errTooLarge
	}
	f.mu.Lock()
	e := f.cache[name]
	f.mu.Unlock()
	if e != nil && e.size == st.Size() && e.mod.Equal(st.ModTime()) {
		return e, nil
	}
	file, err := f.cfg.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, f.cfg.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > f.cfg.MaxFileSize {
		return nil, errTooLarge
	}
	sum := sha256.Sum256(data)
	e = &entry{size: st.Size(), mod: st.ModTime(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`, data: data}
	e.ctype = mime.TypeByExtension(path.Ext(name))
	if e.ctype == "" {
		e.ctype = http.DetectContentType(data)
	}
	f.mu.Lock()
	f.cache[name] = e
	f.mu.Unlock()
	return e, nil
}

func (f *files) respond(req *http1.Request, e *entry) *http1.Response {
	resp := http1.NewResponse(req)
	resp.Header.Set("ETag", e.etag)
	if !e.mod.IsZero() {
		resp.Header.Set("Last-Modified", e.mod.UTC().Format(http.TimeFormat))
	}
	if f.cfg.MaxAge > 0 {
		resp.Header.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(f.cfg.MaxAge.Seconds())))
	}
	if notModified(req, e) {
		resp.Status = http.StatusNotModified
		req.Release()
		return resp
	}
	resp.Header.Set("Content-Type", e.ctype)
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	resp.Body = append(resp.Body, e.data...)
	req.Release()
	return resp
}

func notModified(req *http1.Request, e *entry) bool {
	if inm := req.Header("If-None-Match"); inm != nil {
		for _, tag := range strings.Split(string(inm), ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == e.etag {
				return true
			}
		}
		return false
	}
	if ims := req.Header("If-Modified-Since"); ims != nil && !e.mod.IsZero() {
		t, err := http.ParseTime(string(ims))
		return err == nil && !e.mod.Truncate(time.Second).After(t)
	}
	return false
}
