// Package crossnode measures delivery across gnetty nodes that share
// rooms through Redis (layer.Redis): one node alone (layer.Local), then
// two and three nodes on one Redis, then on a three-primary Redis Cluster
// (sharded pub/sub). Members of rooms of 100 are spread over the nodes,
// one publisher per room posts timestamped messages at a fixed offered
// rate, and the load process reports deliveries per second, the latency
// from post to delivery (all, and to members on another node than the
// publisher's), and the CPU of every node and of Redis.
//
//	cd benchmarks && go test -run '^$' -bench . -benchtime 1x ./crossnode
//
// The nodes and Redis run on CPU 0 (this machine has two cores), each
// node GOMAXPROCS=1, the load on CPU 1.
package crossnode
