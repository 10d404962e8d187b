// Package httpbench compares hello-world HTTP/1.1 requests per second over
// loopback: gnetty (codec -> aggregator -> router), net/http and
// fasthttp, in the same run, with the same load tool (wrk).
//
// Each server runs in a child process pinned to CPU 0 with GOMAXPROCS=1;
// wrk runs pinned to CPU 1 with keep-alive connections. Each benchmark op
// is one wrk run of -wrk.duration, so run it with -benchtime 1x:
//
//	cd benchmarks && go test -run '^$' -bench HelloWorld -benchtime 1x -count 5 ./httpbench
//
// wrk comes from Debian's wrk package; taskset from util-linux.
package httpbench
