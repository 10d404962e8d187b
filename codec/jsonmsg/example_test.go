package jsonmsg_test

import (
	"fmt"

	"github.com/gnetty/gnetty/codec/jsonmsg"
)

// Peek finds the event name without decoding the message or allocating;
// Decode then reads the whole message into a struct.
func ExamplePeek() {
	msg := []byte(`{"msg":"hi","type":"user","room":"lobby"}`)
	typ, err := jsonmsg.Peek(msg, "type")
	fmt.Println(string(typ), err)
	var m struct {
		Msg  string `json:"msg"`
		Room string `json:"room"`
	}
	err = jsonmsg.Decode(msg, &m)
	fmt.Println(m.Room, m.Msg, err)
	// Output:
	// user <nil>
	// lobby hi <nil>
}

// SplitArray cuts an array into its raw elements, sub-slices of the input.
func ExampleSplitArray() {
	elems, err := jsonmsg.SplitArray([]byte(`["event", {"a": [1, 2]}, 3]`), nil)
	for _, e := range elems {
		fmt.Println(string(e))
	}
	fmt.Println(err)
	// Output:
	// "event"
	// {"a": [1, 2]}
	// 3
	// <nil>
}
