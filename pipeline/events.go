package pipeline

// ShutdownEvent is the user event a server fires through every pipeline
// when it begins a graceful shutdown, so that protocols can say goodbye
// (a WebSocket close 1001, an HTTP "Connection: close") before the server
// closes what is left.
type ShutdownEvent struct{}
