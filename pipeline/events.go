package pipeline

// ShutdownEvent is the user event a server fires through every pipeline
// when it begins a graceful shutdown, so that protocols can say goodbye
// (a WebSocket close 1001, an HTTP "Connection: close") before the server
// closes what is left.
//
// A ShutdownEvent that reaches the tail closes the channel gracefully
// (pending output is flushed first). A handler that has a goodbye to say
// takes the event, does not pass it on, and closes the channel when done.
type ShutdownEvent struct{}
