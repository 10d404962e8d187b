// Package echo benchmarks an end-to-end TCP line echo over loopback: a
// gnetty server (line framer -> string codec -> echo handler, the chain of
// examples/echo) against a raw gnet server that writes back the bytes it
// reads (the floor), driven by the same client in the same run.
//
//	go test -run '^$' -bench . -benchmem -count 10 ./benchmarks/echo | tee new.txt
//	benchstat new.txt
//
// Both servers run one event loop. The clients are plain net.Conn
// goroutines in the same process, so on a 2-core machine the server gets
// about one core and the clients the other.
package echo
