// Package ack delivers messages that must not be lost: each carries an ID
// (inside the message, chosen by the application), stays pending on its
// channel until the peer acknowledges it, and is sent again, with the same
// ID and bytes, when no acknowledgement comes in time, a bounded number of
// times; then the Tracker gives up and fires GaveUp. Acknowledgements are
// single (Ack) or cumulative (AckUpTo: everything up to an ID), per group
// (a chat room), and pending state is freed on ack and on close.
//
// The IDs are the application's: a chat numbers each room's messages in
// its store (preset/chat), so the numbering survives restarts and is
// shared by every node, which no in-memory counter here could do.
//
// # Concurrency
//
// A Tracker is a pipeline handler, one per channel; Send, Ack, AckUpTo and
// Pending run on the channel's loop (from another goroutine, wrap them in
// Channel.Execute). Retry timers run on the loop.
package ack
