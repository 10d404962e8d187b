# make test: what CI runs (.ci/run calls exactly this).
.PHONY: test bench fuzz

test:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go test -race ./...
	go test -run '^$$' -bench . -benchtime 1x ./... > /dev/null

bench:
	go test -run '^$$' -bench . -benchmem ./...

fuzz:
	cd codec/frame && for f in FuzzLineDecoder FuzzLengthFieldDecoder FuzzPrependerRoundTrip; do \
		go test -run '^$$' -fuzz "^$$f$$" -fuzztime 30s . || exit 1; done
