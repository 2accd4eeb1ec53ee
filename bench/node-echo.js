// node-echo.js -- the baseline for `make bench`.
//
// This is the Node `ws` server of the tutorial the project grew from
// (shared/seed/websocket-tutorial.ko.md), with its console logging removed
// and its "Server: You said ..." reply reduced to a plain echo, so that it
// answers exactly what build/ws6455 answers with --handler echo: the same
// bytes, as a text message if the client sent text and as a binary message
// if it sent binary.
//
// Logging per message is dropped on purpose: console.log on every message
// would measure the terminal, not the WebSocket stack.
//
// Usage: [NODE_DEFLATE=1] node bench/node-echo.js [PORT] [HOST]
//        (defaults 8080, 127.0.0.1)
'use strict';

const WebSocket = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 8080);
const host = process.argv[3] || '127.0.0.1';

// ws 8.x defaults: no permessage-deflate on the server, maxPayload 100 MiB.
// The 1 MiB benchmark cell fits; the limit is left as the tutorial left it.
//
// NODE_DEFLATE=1 (the benchmark's deflate section) turns permessage-deflate
// on with the settings build/ws6455 uses by default, so that both servers do
// the same work: zlib level 1 and no compression below 64 bytes (ws's own
// defaults are level 6 and 1024 bytes). Context takeover is whatever the
// client asks for; wsbench --deflate asks for none, either way.
const options = { port, host };
if (process.env.NODE_DEFLATE === '1') {
  options.perMessageDeflate = { zlibDeflateOptions: { level: 1 }, threshold: 64 };
}
const server = new WebSocket.Server(options);

server.on('connection', (socket) => {
  socket.on('message', (message, isBinary) => {
    socket.send(message, { binary: isBinary });
  });
  // Without a handler an 'error' event (e.g. ECONNRESET) would be thrown
  // and take the whole server down; the tutorial's server would crash here.
  socket.on('error', () => {});
});

server.on('listening', () => {
  console.error(`node-echo: listening on ${host}:${port} (ws ${require('ws/package.json').version}` +
    `${options.perMessageDeflate ? ', permessage-deflate' : ''})`);
});

// Stop cleanly on SIGTERM/SIGINT so the benchmark script's trap is quick.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
