# make test: what CI runs (.ci/run calls exactly this). The race-enabled
# test run comes last so that its summary closes the output.
.PHONY: test check bench-smoke bench fuzz

test: check bench-smoke
	go test -race ./...

# check: no compiled file tracked, gofmt clean, go vet clean.
check:
	bash .ci/no-binaries
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	cd benchmarks && go vet ./...

bench-smoke:
	go test -run '^$$' -bench . -benchtime 1x ./... > /dev/null
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./echo > /dev/null
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./httpbench -wrk.duration 1s > /dev/null
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./wsbench -ws.duration 300ms -ws.conns 50 -ws.idle 300 -hb.conns 200 -hb.duration 5s -hb.ping 1s > /dev/null
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./siobench -sio.duration 300ms -sio.conns 10 -sio.members 50 > /dev/null
	cd benchmarks && go test -run '^$$' -bench 'FanOut/offered=100k' -benchtime 1x ./fanout -fan.duration 300ms -fan.rooms 2 -fan.scale 0.01 > /dev/null

bench:
	go test -run '^$$' -bench . -benchmem ./...
	cd benchmarks && go test -run '^$$' -bench . -benchmem ./echo
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x -count 5 ./httpbench
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./wsbench
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./siobench
	cd benchmarks && go test -run '^$$' -bench . -benchtime 1x ./fanout

fuzz:
	cd codec/frame && for f in FuzzLineDecoder FuzzLengthFieldDecoder FuzzPrependerRoundTrip; do \
		go test -run '^$$' -fuzz "^$$f$$" -fuzztime 30s . || exit 1; done
	cd codec/http1 && go test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime 60s .
