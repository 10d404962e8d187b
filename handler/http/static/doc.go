// Package static serves files from any fs.FS (so go:embed assets work)
// behind a router wildcard route:
//
//	r.Handle("GET", "/static/{path...}", static.New(static.Config{FS: assets}))
//
// It sets Content-Type by extension (sniffing the content when the
// extension is unknown), a strong ETag computed from the content and
// Last-Modified when the file system knows the time, answers 304 to
// matching If-None-Match or If-Modified-Since, serves HEAD without a body,
// serves the index file for a directory, and never leaves the file system
// root: "..", backslashes and NUL bytes are refused with 404.
//
// # Concurrency
//
// Files are read off the event loop, on at most Config.Readers goroutines
// at a time, and the answer is written through the channel (the codec
// keeps pipelined answers in order). A handler value may serve every
// channel.
package static
