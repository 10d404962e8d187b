// Package redisstore keeps sessions in Redis, so a login on one node is
// valid on every node sharing the Redis: each session is one key holding
// its JSON data, expiring with the session.
//
// It blocks on the network: session.Manager calls it off the event loops.
package redisstore
