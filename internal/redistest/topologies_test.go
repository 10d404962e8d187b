package redistest_test

import (
	"testing"

	"github.com/gnetty/gnetty/internal/redistest"
)

// The helpers start real topologies and fail them over: a sentinel set
// promotes its replica, a cluster's replica takes its primary's slots.
func TestSentinelFailsOver(t *testing.T) {
	st := redistest.StartSentinel(t, 1)
	old := st.Primary.Addr
	if now := st.KillPrimary(); now == old || now != st.Replicas[0].Addr {
		t.Fatalf("primary %s after the failover; the replica is %s, the old primary %s", now, st.Replicas[0].Addr, old)
	}
}

func TestClusterFailsOver(t *testing.T) {
	c := redistest.StartCluster(t, 3, 1)
	if len(c.Nodes) != 6 {
		t.Fatalf("%d nodes", len(c.Nodes))
	}
	p := c.PrimaryOf("{p1}x")
	c.Kill(p)
	if now := c.PrimaryOf("{p1}x"); now == p {
		t.Fatalf("%s still serves the slot after its death", now.Addr)
	}
}
