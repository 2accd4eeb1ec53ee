// faulty-echo.js -- echo servers that misbehave on purpose, to prove that
// wsbench notices. Used by bench/check-wsbench.sh (`make bench-check`).
//
// Usage: node bench/faulty-echo.js MODE PORT
//
// Modes that a correct client must accept (wsbench must exit 0):
//   ok         plain echo through `ws`
//   fragment   every echo split into three frames (RFC 6455 §5.4)
//   ping       a Ping every 2 ms on every connection, echoes as usual (§5.5.2)
//   dribble    a hand-written echo that sends everything, the 101 response
//              included, one byte per write(), so wsbench's parsers see
//              every possible split of the stream
// Any mode of `ws` above may be prefixed with deflate- (deflate-ok,
// deflate-fragment, deflate-corrupt, ...): the server then agrees to
// permessage-deflate (RFC 7692) and compresses every echo, for wsbench
// --deflate.
// Modes that wsbench must report as errors (exit 1):
//   corrupt    the 50th echo of each connection has one byte flipped
//   truncate   the 50th echo of each connection lacks its last byte
//   swap       echoes 50 and 51 of each connection are sent in swapped order
//   type       text echoed as binary
//   drop       stops echoing after 50 messages per connection
//   close      closes (Close 1001) after 50 messages per connection
//   accept     handshake with a wrong Sec-WebSocket-Accept
//   status     answers the upgrade with 200 instead of 101
//   extension  101 that names an extension the client never offered
//   masked     after the handshake, sends a masked frame (§5.1)
//   rsv        after the handshake, sends a frame with RSV1 set (§5.2)
//   longlen    after the handshake, sends a 5-byte frame with a 16-bit length (§5.2)
'use strict';

const crypto = require('crypto');
const net = require('net');
const WebSocket = require('ws');

const deflate = process.argv[2].startsWith('deflate-');
const mode = deflate ? process.argv[2].slice(8) : process.argv[2];
const port = Number(process.argv[3] || 8080);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const NTH = 50;

const RAW = new Set(['accept', 'status', 'extension', 'masked', 'rsv', 'longlen', 'dribble']);

function wsServer() {
  const options = { port, host: '127.0.0.1' };
  if (deflate) options.perMessageDeflate = { threshold: 0 };
  const server = new WebSocket.Server(options);
  server.on('connection', (socket) => {
    let n = 0;
    let held = null;
    socket.on('error', () => {});
    if (mode === 'ping') {
      const t = setInterval(() => socket.ping('p'), 2);
      socket.on('close', () => clearInterval(t));
    }
    socket.on('message', (data, isBinary) => {
      n++;
      if (mode === 'fragment' && data.length >= 3) {
        const a = Math.floor(data.length / 3);
        socket.send(data.subarray(0, a), { binary: isBinary, fin: false });
        socket.send(data.subarray(a, 2 * a), { binary: isBinary, fin: false });
        socket.send(data.subarray(2 * a), { binary: isBinary, fin: true });
        return;
      }
      if (n === NTH) {
        if (mode === 'corrupt') {
          const copy = Buffer.from(data);
          copy[copy.length >> 1] ^= 0x01;
          socket.send(copy, { binary: isBinary });
          return;
        }
        if (mode === 'truncate') {
          socket.send(data.subarray(0, data.length - 1), { binary: isBinary });
          return;
        }
        if (mode === 'swap') {
          held = { data: Buffer.from(data), isBinary };
          return;
        }
        if (mode === 'close') {
          socket.close(1001, 'going away');
          return;
        }
      }
      if (mode === 'drop' && n >= NTH) return;
      socket.send(data, { binary: mode === 'type' ? true : isBinary });
      if (held) {
        socket.send(held.data, { binary: held.isBinary });
        held = null;
      }
    });
  });
}

// Server frame header (unmasked) for a payload of len bytes.
function header(opcode, len) {
  if (len < 126) return Buffer.from([0x80 | opcode, len]);
  if (len < 65536) return Buffer.from([0x80 | opcode, 126, len >> 8, len & 255]);
  const h = Buffer.alloc(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

// Echo the client frames in buf (masked, unfragmented); returns what is
// left over (an incomplete frame).
function echoFrames(sock, buf, send) {
  for (;;) {
    if (buf.length < 2) return buf;
    const opcode = buf[0] & 15;
    let len = buf[1] & 127;
    let off = 2;
    if (len === 126) { if (buf.length < 4) return buf; len = buf.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (buf.length < 10) return buf; len = Number(buf.readBigUInt64BE(2)); off = 10; }
    if (buf.length < off + 4 + len) return buf;
    const mask = buf.subarray(off, off + 4);
    const data = Buffer.from(buf.subarray(off + 4, off + 4 + len));
    for (let i = 0; i < len; i++) data[i] ^= mask[i & 3];
    buf = buf.subarray(off + 4 + len);
    send(Buffer.concat([header(opcode, len), data]));
    if (opcode === 8) { sock.end(); return Buffer.alloc(0); }
  }
}

// A hand-rolled server for faults that `ws` refuses to commit.
function rawServer() {
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    let frames = Buffer.alloc(0);
    sock.setNoDelay(true);
    // dribble: queue everything and write it one byte per write() call.
    const queue = [];
    let pumping = false;
    const send = (b) => {
      if (mode !== 'dribble') { sock.write(b); return; }
      for (const byte of b) queue.push(byte);
      if (pumping) return;
      pumping = true;
      const pump = () => {
        if (queue.length === 0) { pumping = false; if (queue.ended) sock.end(); return; }
        sock.write(Buffer.from([queue.shift()]), () => setImmediate(pump));
      };
      pump();
    };
    sock.on('error', () => {});
    sock.on('data', (chunk) => {
      if (buf === null) {
        if (mode === 'dribble') {
          frames = echoFrames({ end: () => { queue.ended = true; } },
            Buffer.concat([frames, chunk]), send);
        }
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /sec-websocket-key:\s*(\S+)/i.exec(buf.subarray(0, end).toString());
      buf = null;
      let accept = crypto.createHash('sha1').update((m ? m[1] : '') + GUID).digest('base64');
      if (mode === 'accept') accept = 'x' + accept.slice(1);
      let head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n`;
      if (mode === 'status') head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n';
      if (mode === 'extension') head += 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
      send(Buffer.from(head + '\r\n'));
      if (mode === 'masked') sock.write(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61 ^ 1]));
      if (mode === 'rsv') sock.write(Buffer.from([0xc1, 0x01, 0x61]));
      if (mode === 'longlen') sock.write(Buffer.from([0x81, 126, 0, 5, 104, 101, 108, 108, 111]));
    });
  });
  server.listen(port, '127.0.0.1');
}

if (RAW.has(mode)) rawServer();
else wsServer();

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
