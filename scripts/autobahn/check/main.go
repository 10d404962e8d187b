// Command check reads an Autobahn TestSuite fuzzingclient report
// (reports/servers/index.json) and prints how many cases ended how; it
// exits 1 when any case FAILED, or, with -strict, when any is anything but
// OK or INFORMATIONAL (NON-STRICT, UNIMPLEMENTED).
//
//	go run ./scripts/autobahn/check [-strict] reports/servers/index.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type result struct {
	Behavior      string `json:"behavior"`
	BehaviorClose string `json:"behaviorClose"`
	Duration      int    `json:"duration"`
}

func main() {
	strict := flag.Bool("strict", false, "fail on NON-STRICT and UNIMPLEMENTED cases too")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: check [-strict] reports/servers/index.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var report map[string]map[string]result // agent -> case -> result
	if err := json.Unmarshal(b, &report); err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(2)
	}
	bad := 0
	for agent, cases := range report {
		counts := map[string]int{}
		var notOK []string
		for id, r := range cases {
			worst := r.Behavior
			if r.BehaviorClose != "OK" && r.BehaviorClose != "INFORMATIONAL" && worst == "OK" {
				worst = r.BehaviorClose
			}
			counts[worst]++
			switch worst {
			case "OK", "INFORMATIONAL":
			case "FAILED":
				bad++
				notOK = append(notOK, id+" "+worst)
			default:
				if *strict {
					bad++
				}
				notOK = append(notOK, id+" "+worst)
			}
		}
		var kinds []string
		for k, n := range counts {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		sort.Slice(notOK, func(i, j int) bool { return caseLess(notOK[i], notOK[j]) })
		fmt.Printf("%s: %d cases: %s\n", agent, len(cases), strings.Join(kinds, ", "))
		for _, c := range notOK {
			fmt.Println("  " + c)
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}

// caseLess orders case IDs such as 6.4.3 and 12.1.10 numerically.
func caseLess(a, b string) bool {
	pa, pb := strings.Split(strings.Fields(a)[0], "."), strings.Split(strings.Fields(b)[0], ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscan(pa[i], &x)
		fmt.Sscan(pb[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
