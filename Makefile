# make test: what CI runs (.ci/run calls exactly this). The race-enabled
# test run comes last so that its summary closes the output.
.PHONY: test check alloc fuzz-smoke bench-smoke bench fuzz

test: check alloc fuzz-smoke bench-smoke
	go test -race ./...

# alloc: the zero-allocation proofs (alloc_test.go files), which the race
# detector's build leaves out, so the run above cannot check them.
alloc:
	go test -count=1 -run 'AllocatesNothing' ./pipeline/... ./codec/... ./preset/websocket/...

# fuzz-smoke: every fuzz target for 5,000 inputs; fuzz: a minute each,
# keeping what the fuzzer found as corpus files.
fuzz-smoke:
	bash scripts/fuzz 5000x

fuzz:
	bash scripts/fuzz 60s keep

# check: no compiled file tracked, gofmt clean, go vet clean.
check:
	bash .ci/no-binaries
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	cd benchmarks && go vet ./...

# bench-smoke: every benchmark once, quiet unless one fails.
bench-smoke:
	bash scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./...
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./echo
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./httpbench -wrk.duration 1s
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./wsbench -ws.duration 300ms -ws.conns 50 -ws.idle 300 -hb.conns 200 -hb.duration 5s -hb.ping 1s
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./wsclient -wc.duration 300ms -wc.conns 50 -wc.idle 300
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./siobench -sio.duration 300ms -sio.conns 10 -sio.members 50
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench 'FanOut/offered=100k' -benchtime 1x ./fanout -fan.duration 300ms -fan.rooms 2 -fan.scale 0.01
	cd benchmarks && bash ../scripts/quiet go test -run '^$$' -bench . -benchtime 1x ./crossnode -cn.duration 300ms -cn.rooms 2 -cn.offered 2000

bench:
	go test -run '^$$' -bench . -benchmem ./...
	cd benchmarks && go test -run '^$$' -bench . -benchmem ./echo
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x -count 5 ./httpbench
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./wsbench
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./wsclient
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./siobench
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./fanout
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./crossnode
