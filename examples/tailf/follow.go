package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// follow sends every line appended to path to emit until ctx ends. It
// starts at the end of the file, survives truncation (starts again from
// the top) and rotation (the name is renamed or removed and created
// again: it switches to the new file), and waits with inotify, never
// polling. It runs on its own goroutine, one per connection.
func follow(ctx context.Context, path string, emit func(line string)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	// Watch the directory: rotation replaces the file itself.
	if err := w.Add(filepath.Dir(path)); err != nil {
		return err
	}
	var f *os.File
	var off int64
	var partial []byte
	open := func(fromEnd bool) {
		if f != nil {
			f.Close()
			f = nil
		}
		nf, err := os.Open(path)
		if err != nil {
			return
		}
		f, off, partial = nf, 0, nil
		if fromEnd {
			if st, err := f.Stat(); err == nil {
				off = st.Size()
			}
		}
	}
	read := func() {
		if f == nil {
			return
		}
		st, err := f.Stat()
		if err != nil {
			return
		}
		if st.Size() < off { // truncated
			off, partial = 0, nil
		}
		if st.Size() == off {
			return
		}
		r := bufio.NewReader(io.NewSectionReader(f, off, st.Size()-off))
		for {
			chunk, err := r.ReadBytes('\n')
			off += int64(len(chunk))
			if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
				emit(string(bytes.TrimRight(append(partial, chunk...), "\r\n")))
				partial = nil
			} else {
				partial = append(partial, chunk...)
			}
			if err != nil {
				return
			}
		}
	}
	open(true)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("tailf: watcher closed")
			}
			if filepath.Clean(ev.Name) != filepath.Clean(path) {
				continue
			}
			switch {
			case ev.Has(fsnotify.Create):
				read()      // what the old file still had
				open(false) // the new file from its first byte
				read()
			case ev.Has(fsnotify.Write):
				if f == nil {
					open(false)
				}
				read()
			case ev.Has(fsnotify.Remove), ev.Has(fsnotify.Rename):
				read()
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("tailf: watcher closed")
			}
			return err
		}
	}
}
