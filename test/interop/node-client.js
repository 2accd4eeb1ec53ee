// node-client.js -- Node's `ws` client against build/ws6455, with and
// without permessage-deflate. Run by test/interop/run.py (`make interop`),
// which starts the servers; this file only talks to them.
//
// Usage: node node-client.js PORT MODE    MODE: shared | dedicated | off
//
// Prints one line per check, "ok   NAME" or "FAIL NAME: why", and exits 0
// (run.py counts the lines; a crash or a hang is a failure there too).
//
// What `ws` offers by default is what most Node programs send:
// "permessage-deflate; client_max_window_bits". The bytes on the wire are
// counted from the client's socket (socket.bytesRead), so a check can tell
// that the server really compressed, not only that it said it would.
'use strict';

const crypto = require('crypto');
const WebSocket = require('ws');

const port = Number(process.argv[2]);
const mode = process.argv[3];
const url = `ws://127.0.0.1:${port}/`;
const STEP_MS = 10000;

function say(ok, name, why) {
  console.log(ok ? `ok   ${name}` : `FAIL ${name}: ${why}`);
}

// Open a connection; resolves { ws, ext } with the response's
// Sec-WebSocket-Extensions value ('' when none).
function open(options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    let ext = '';
    const t = setTimeout(() => { ws.terminate(); reject(new Error('open timed out')); }, STEP_MS);
    ws.on('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] || ''; });
    ws.on('open', () => { clearTimeout(t); resolve({ ws, ext }); });
    ws.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

// Send data (a string, a Buffer, or an array of pieces sent as fragments
// of one message) and wait for the echo; resolves { data, isBinary, wire },
// wire being the bytes read from the socket meanwhile.
function echo(ws, data, binary) {
  return new Promise((resolve, reject) => {
    const before = ws._socket.bytesRead;
    const t = setTimeout(() => reject(new Error('no echo within 10 s')), STEP_MS);
    ws.once('message', (msg, isBinary) => {
      clearTimeout(t);
      resolve({ data: msg, isBinary, wire: ws._socket.bytesRead - before });
    });
    if (Array.isArray(data)) {
      data.forEach((piece, i) => ws.send(piece, { binary, fin: i === data.length - 1, compress: true }));
    } else {
      ws.send(data, { binary });
    }
  });
}

function close(ws) {
  return new Promise((resolve) => {
    const t = setTimeout(() => { ws.terminate(); resolve(-1); }, STEP_MS);
    ws.once('close', (code) => { clearTimeout(t); resolve(code); });
    ws.close(1000);
  });
}

// Chat-like JSON text, compressible, exactly n bytes.
function jsonText(n, seed) {
  const words = ['hello', 'meeting', 'at', 'noon', 'ok', 'see', 'you', 'there', 'thanks'];
  let s = '';
  let x = seed >>> 0;
  while (s.length < n) {
    x = (x * 1664525 + 1013904223) >>> 0;
    s += `{"id":${x % 1000},"user":"u${x % 7}","text":"${words[x % 9]} ${words[(x >> 8) % 9]}"}\n`;
  }
  return s.slice(0, n);
}

async function main() {
  const sizes = [0, 1, 63, 64, 65, 1000, 65535, 65536, 300000, 4 << 20];

  // 1. The default offer, and echoes of every size, text and binary.
  {
    const { ws, ext } = await open({});
    const want = { shared: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      dedicated: 'permessage-deflate', off: '' }[mode];
    say(ext.startsWith(want) && (mode !== 'off' || ext === ''), `default offer answered "${ext}"`,
      `want it to start with "${want}"`);
    for (const n of sizes) {
      const text = jsonText(n, n);
      let r = await echo(ws, text, false);
      say(!r.isBinary && r.data.toString() === text, `text echo of ${n} bytes (${r.wire} on the wire)`,
        `got ${r.data.length} bytes, binary=${r.isBinary}`);
      const bin = crypto.randomBytes(n);
      r = await echo(ws, bin, true);
      say(r.isBinary && Buffer.compare(r.data, bin) === 0, `random binary echo of ${n} bytes`,
        `got ${r.data.length} bytes, binary=${r.isBinary}`);
    }
    // Compressible text must travel compressed when compression was agreed,
    // and plain otherwise.
    const big = jsonText(1 << 20, 7);
    const r = await echo(ws, big, false);
    if (mode === 'off') {
      say(r.wire >= big.length, `1 MiB of JSON travels plain (${r.wire} bytes read)`, 'fewer bytes than sent');
    } else {
      say(r.data.toString() === big && r.wire < big.length / 5,
        `1 MiB of JSON comes back compressed: ${r.wire} bytes read`, 'not compressed enough');
    }
    // Random bytes do not shrink: in the shared mode they must come back
    // no larger than plain (the server sends them uncompressed).
    if (mode === 'shared') {
      const rnd = crypto.randomBytes(50000);
      const e = await echo(ws, rnd, true);
      say(Buffer.compare(e.data, rnd) === 0 && e.wire <= 50000 + 14,
        `50,000 random bytes come back in ${e.wire} bytes (no larger than plain)`, 'larger than plain');
    }
    const code = await close(ws);
    say(code === 1000, 'clean close 1000', `close code ${code}`);
  }

  if (mode === 'off') return;

  // 2. A message in fragments, compressed by the client.
  {
    const { ws } = await open({});
    const pieces = [jsonText(30000, 1), jsonText(30000, 2), jsonText(5, 3)];
    const r = await echo(ws, pieces, false);
    say(r.data.toString() === pieces.join(''), 'compressed message in three fragments echoed',
      `got ${r.data.length} bytes`);
    await close(ws);
  }

  // 3. Small windows: the client asks for a 2^10 window from the server and
  // keeps 2^9 for itself. zlib in the client refuses any distance beyond
  // 1 KiB, so a long repetitive echo proves the server kept to it.
  {
    const { ws, ext } = await open({ perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: 9 } });
    say(/server_max_window_bits=10/.test(ext) && /client_max_window_bits=9/.test(ext),
      `window bits agreed: "${ext}"`, 'server_max_window_bits=10 and client_max_window_bits=9 expected');
    const text = jsonText(200000, 11) + jsonText(200000, 11);
    const r = await echo(ws, text, false);
    say(r.data.toString() === text, `200 KiB through 1 KiB windows (${r.wire} bytes read)`, 'echo differs');
    await close(ws);
  }

  // 4. Context takeover, where the server keeps it (dedicated): the same
  // message again costs a fraction of the first time.
  {
    const { ws, ext } = await open({});
    const msg = jsonText(8000, 99);
    const first = await echo(ws, msg, false);
    let later = 0;
    for (let i = 0; i < 10; i++) later += (await echo(ws, msg, false)).wire;
    later /= 10;
    if (mode === 'dedicated') {
      say(!/server_no_context_takeover/.test(ext) && later < first.wire / 4,
        `context kept: first echo ${first.wire} bytes, the same again ${later.toFixed(0)}`,
        'no gain from context takeover');
    } else {
      say(Math.abs(later - first.wire) <= 2,
        `no context kept: first echo ${first.wire} bytes, the same again ${later.toFixed(0)}`,
        'sizes differ');
    }
    await close(ws);
  }

  // 5. A client that declines compression gets none.
  {
    const { ws, ext } = await open({ perMessageDeflate: false });
    const r = await echo(ws, 'plain', false);
    say(ext === '' && r.data.toString() === 'plain', 'no offer, no extension', `answered "${ext}"`);
    await close(ws);
  }
}

main().then(() => process.exit(0), (e) => { say(false, 'node client', e.message); process.exit(1); });
