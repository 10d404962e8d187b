// The official Node socket.io server with the same events as
// examples/socketio, so that tests/interop/sio_scenario.mjs is checked
// against the reference implementation too. Prints {"port": N} once it
// listens on 127.0.0.1.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, {
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
  maxHttpBufferSize: 1e6,
});
let numUsers = 0;
io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    socket.emit('echo', ...args);
    if (ack) ack(...args);
  });
  socket.on('join', (room, ack) => { socket.join(room); ack?.('ok'); });
  socket.on('say', (m, ack) => {
    socket.to(m.room).emit('said', { room: m.room, msg: m.msg, from: socket.id });
    ack?.('ok');
  });
  socket.on('size', (room, ack) => ack?.(io.of('/').adapter.rooms.get(room)?.size ?? 0));
  socket.on('ask', async (...args) => {
    const ack = args.pop();
    try {
      const answer = await socket.timeout(5000).emitWithAck('question', ...args);
      ack(answer);
    } catch (e) { ack('error: ' + e.message); }
  });
  let added = false;
  socket.on('new message', (data) => socket.broadcast.emit('new message', { username: socket.username, message: data }));
  socket.on('add user', (username) => {
    if (added) return;
    socket.username = username; ++numUsers; added = true;
    socket.emit('login', { numUsers });
    socket.broadcast.emit('user joined', { username: socket.username, numUsers });
  });
  socket.on('typing', () => socket.broadcast.emit('typing', { username: socket.username }));
  socket.on('stop typing', () => socket.broadcast.emit('stop typing', { username: socket.username }));
  socket.on('disconnect', () => {
    if (added) { --numUsers; socket.broadcast.emit('user left', { username: socket.username, numUsers }); }
  });
});
io.of('/private').use((socket, next) => {
  if (socket.handshake.auth?.token === 'secret') return next();
  const err = new Error('not authorized');
  err.data = { hint: 'auth.token' };
  next(err);
}).on('connection', (socket) => {
  socket.emit('welcome', 'private');
  socket.on('echo', (...args) => { const ack = args.pop(); ack(...args); });
});
http.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: http.address().port })));
process.on('SIGTERM', () => { io.close(); process.exit(0); });
