#!/usr/bin/env node
/*
 * End-to-end test of the HTML client (client/) against the real server, in
 * headless Chromium driven by playwright-core. Run it with `make e2e`.
 *
 * What it does, in order:
 *   1. starts the server (echo handler) on a free loopback port;
 *   2. loads the page from it and drives the echo view: Enter and the Send
 *      button, round-trip times, counters, a 64 KiB text message, a binary
 *      file and random bytes compared byte for byte, untrusted text shown as
 *      text, empty messages, a phone-sized viewport (the newest reply in
 *      view near the message box), a message over --max-message closing
 *      with 1009;
 *   3. stops the server with SIGTERM, sees the page report the 1001 and keep
 *      it when a retry fails, edits the URL during the countdown, restarts
 *      the server on the same port and sees the page reconnect by itself to
 *      the lost URL; Disconnect stops reconnecting;
 *   4. servers with --subprotocol chat, --subprotocol other and
 *      --allow-origin https://example.com: the subprotocol field, what was
 *      agreed, and the words for close codes (4000, 3000, 1006 in its
 *      kinds); a --handler said server whose replies are not mismatches;
 *   5. starts a chat server and has two pages (alice and bob) see each
 *      other join, talk and leave; the Echo tab says where messages went.
 * Screenshots go to build/e2e/*.png. One line per check, then exactly
 * "N passed, N failed"; the exit status is non-zero on any failure.
 *
 * Bounded: the whole run is capped at RUN_LIMIT_MS; every wait has its own
 * timeout; servers are always killed by PID, also on failure or a signal.
 *
 * Environment (all optional):
 *   WS6455_BIN         server binary          (default build/ws6455)
 *   WS6455_CLIENT_DIR  directory of the page  (default client)
 *   E2E_OUT            screenshots and logs   (default build/e2e)
 *   CHROMIUM           browser executable     (default /usr/bin/chromium)
 */
'use strict';

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(ROOT, process.env.WS6455_BIN || 'build/ws6455');
const CLIENT_DIR = path.resolve(ROOT, process.env.WS6455_CLIENT_DIR || 'client');
const OUT = path.resolve(ROOT, process.env.E2E_OUT || 'build/e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const RUN_LIMIT_MS = 120000;
const WAIT_MS = 8000;          /* default wait for one thing to show up */
const MAX_MESSAGE = 1048576;   /* --max-message for the servers we start */
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/* ---- checks and reporting ------------------------------------------------ */

let passed = 0;
let failed = 0;

function report(ok, name, detail) {
  if (ok) passed++;
  else failed++;
  const n = passed + failed;
  console.log((ok ? 'ok   ' : 'FAIL ') + String(n).padStart(2) + ' ' + name +
              (detail ? ' -- ' + detail : ''));
}

/* Runs one check; fn returns an optional detail string or throws. */
async function check(name, fn) {
  try {
    const detail = await fn();
    report(true, name, detail);
    return true;
  } catch (e) {
    report(false, name, String((e && e.message) || e).split('\n')[0]);
    return false;
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ---- servers ------------------------------------------------------------- */

const servers = new Set();   /* child processes still running */

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { c.destroy(); resolve(ok); };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.setTimeout(500, () => done(false));
  });
}

/*
 * Starts the server and resolves when it logs "listening on" (or, failing
 * that, accepts a TCP connection). Its stderr goes to OUT/<name>.log.
 */
async function startServer(name, port, extra) {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--workers', '1',
                '--client-dir', CLIENT_DIR, '--max-message', String(MAX_MESSAGE),
                '--log-level', 'info', ...extra];
  const logFile = fs.createWriteStream(path.join(OUT, name + '.log'), { flags: 'a' });
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.add(child);
  let listening = false;
  let exited = null;
  child.stdout.pipe(logFile, { end: false });
  child.logText = '';
  child.stderr.on('data', (d) => {
    logFile.write(d);
    child.logText += d.toString();
    if (/listening on/.test(d.toString())) listening = true;
  });
  child.once('exit', (code, sig) => {
    exited = sig || String(code);
    servers.delete(child);
    logFile.end();
  });
  child.once('error', (e) => { exited = e.message; });
  const until = Date.now() + 10000;
  while (Date.now() < until) {
    if (exited !== null) throw new Error(name + ' exited early (' + exited + '); see ' + logFile.path);
    if (listening || await canConnect(port)) return child;
    await sleep(50);
  }
  throw new Error(name + ' did not start listening within 10 s');
}

/* SIGTERM by PID, then SIGKILL if it has not exited within graceMs. */
async function stopServer(child, graceMs) {
  if (!servers.has(child)) return 'already exited';
  const gone = new Promise((r) => child.once('exit', (code, sig) => r(sig || 'exit ' + code)));
  child.kill('SIGTERM');
  const how = await Promise.race([gone, sleep(graceMs).then(() => null)]);
  if (how !== null) return how;
  child.kill('SIGKILL');
  await gone;
  return 'SIGKILL after ' + graceMs + ' ms';
}

let userDataDir = null;      /* the browser's fresh profile, removed at the end */
let browserContext = null;

/* Closes the browser, waiting at most 5 s (it is killed on exit anyway). */
async function closeBrowser() {
  const ctx = browserContext;
  browserContext = null;
  if (ctx) await Promise.race([ctx.close().catch(() => {}), sleep(5000)]);
}

/* Last resort on any way out: nothing we started may outlive us. */
function killAll() {
  for (const child of servers) {
    try { child.kill('SIGKILL'); } catch (e) { /* already gone */ }
  }
  servers.clear();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  userDataDir = null;
}
process.on('exit', killAll);

/* ---- page helpers -------------------------------------------------------- */

/* Waits until fn(arg) is truthy in the page; `what` names it in the error. */
async function until(page, what, fn, arg, timeout) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout: timeout || WAIT_MS, polling: 50 });
    return await h.jsonValue();
  } catch (e) {
    throw new Error('timed out waiting for ' + what);
  }
}

const stateOf = (page) => page.$eval('#state', (e) => e.dataset.state + ' "' + e.textContent + '"');

function waitState(page, state, timeout) {
  return until(page, '#state = ' + state, (s) => document.getElementById('state').dataset.state === s,
               state, timeout);
}

/* Resolves to the data of the n-th (1-based, oldest first) #responses line once
 * it exists; the phone layout lists them newest first (data-order). */
function response(page, n, timeout) {
  return until(page, 'response #' + n, (i) => {
    const list = document.getElementById('responses');
    const lis = Array.from(list.children);
    if (list.dataset.order === 'newest-first') lis.reverse();
    const li = lis[i - 1];
    if (!li) return null;
    return { text: li.querySelector('.body').textContent, meta: li.querySelector('.meta').textContent,
             rtt: li.dataset.rtt, match: li.dataset.match, bytes: li.dataset.bytes };
  }, n, timeout);
}

const count = (page, id) => page.$eval('#' + id, (e) => Number(e.dataset.value));

async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, name + '.png'), fullPage: true });
}

/* Texts of the chat lines, oldest first. */
const chatLines = (page) => page.$$eval('#chat-messages li', (l) => l.map((li) => li.textContent));

function waitChat(page, what, re, timeout) {
  return until(page, what, (src) => {
    const r = new RegExp(src);
    return [...document.querySelectorAll('#chat-messages li')].some((li) => r.test(li.textContent));
  }, re.source, timeout);
}

/* ---- the test ------------------------------------------------------------ */

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  for (const f of fs.readdirSync(OUT)) {
    if (/^server-.*\.log$/.test(f)) fs.rmSync(path.join(OUT, f)); /* appended to below */
  }
  assert(fs.existsSync(BIN), 'no server binary at ' + BIN + ' (run make first)');
  assert(fs.existsSync(CHROMIUM), 'no browser at ' + CHROMIUM);

  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws6455-e2e-'));
  try {
    browserContext = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: DESKTOP,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    await echoTests(browserContext);
    await handshakeTests(browserContext);
    await saidTests(browserContext);
    await chatTests(browserContext);
  } finally {
    await closeBrowser();
    killAll();
  }
}

async function echoTests(context) {
  const port = await freePort();
  let server = null;
  const ok = await check('echo server starts on 127.0.0.1:' + port, async () => {
    server = await startServer('server-echo', port, []);
    return 'pid ' + server.pid;
  });
  if (!ok) return;

  const base = 'http://127.0.0.1:' + port + '/';
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await check('page is served at ' + base, async () => {
    const res = await page.goto(base);
    assert(res && res.status() === 200, 'HTTP status ' + (res && res.status()));
    const title = await page.title();
    assert(/WebSocket/.test(title), 'title "' + title + '"');
    return 'HTTP 200, title "' + title + '"';
  });

  await check('URL field derived from the page: ws://127.0.0.1:' + port + '/', async () => {
    const v = await page.inputValue('#url');
    assert(v === 'ws://127.0.0.1:' + port + '/', 'got "' + v + '"');
  });

  await check('connection opens by itself', async () => {
    await waitState(page, 'open');
    return await stateOf(page);
  });

  await check('Enter in #message sends; echo shown with round-trip time', async () => {
    await page.fill('#message', 'hello');
    await page.press('#message', 'Enter');
    const r = await response(page, 1);
    assert(r.text === 'Received: hello', 'text "' + r.text + '"');
    assert(/\d ms/.test(r.meta) && Number(r.rtt) >= 0, 'no round-trip time: "' + r.meta + '"');
    assert((await page.inputValue('#message')) === '', 'message box not cleared');
    return 'rtt ' + Number(r.rtt).toFixed(2) + ' ms';
  });

  await check('Send button sends; echo shown with round-trip time', async () => {
    await page.fill('#message', 'héllo wörld');
    await page.click('#send');
    const r = await response(page, 2);
    assert(r.text === 'Received: héllo wörld', 'text "' + r.text + '"');
    assert(r.match === 'true' && Number(r.rtt) >= 0, 'match ' + r.match + ', rtt ' + r.rtt);
    return 'rtt ' + Number(r.rtt).toFixed(2) + ' ms';
  });

  await check('counters count messages and UTF-8 bytes both ways', async () => {
    const c = [await count(page, 'count-sent-msgs'), await count(page, 'count-sent-bytes'),
               await count(page, 'count-recv-msgs'), await count(page, 'count-recv-bytes')];
    /* "hello" is 5 bytes, "héllo wörld" 13 */
    assert(c.join() === '2,18,2,18', 'got sent ' + c[0] + '/' + c[1] + ', received ' + c[2] + '/' + c[3]);
    return '2 msgs, 18 bytes each way';
  });

  await check('64 KiB text message echoes intact', async () => {
    const big = 'x'.repeat(65536 - 8) + '-the-end';
    await page.fill('#message', big);
    await page.click('#send');
    const r = await response(page, 3);
    assert(r.bytes === '65536' && r.match === 'true', 'bytes ' + r.bytes + ', match ' + r.match);
    return '65536 bytes, rtt ' + Number(r.rtt).toFixed(2) + ' ms';
  });

  await check('permessage-deflate agreed; the page shows it and estimates the saving', async () => {
    const ext = await page.textContent('#extensions');
    assert(/^permessage-deflate/.test(ext), 'extensions "' + ext + '"');
    assert(/permessage-deflate \(windows/.test(server.logText), 'server log has no agreement');
    await until(page, 'estimate shown', () => !document.getElementById('wire-row').hidden &&
                Number(document.getElementById('count-wire-pct').dataset.value) < 20);
    return ext + '; about ' + await page.textContent('#count-wire-pct') + '% of the bytes';
  });

  await check('compressed on the wire: the server counts far fewer bytes than were sent', async () => {
    const p2 = await page.context().newPage();
    await p2.goto(base);
    await waitState(p2, 'open');
    const text = '{"type":"msg","text":"hello, world"} '.repeat(1800);  /* 64 KiB */
    for (let i = 0; i < 10; i++) {
      await p2.fill('#message', text);
      await p2.press('#message', 'Enter');
    }
    await until(p2, '10 echoes', () => document.getElementById('count-recv-msgs').dataset.value === '10');
    await p2.click('#disconnect');
    await waitState(p2, 'closed');
    let line = '';
    const t0 = Date.now();
    while (!line && Date.now() - t0 < 3000) {
      line = server.logText.split("\n").filter((l) => /disconnected: 1000\b.*; 10 messages/.test(l)).pop() || "";
      if (!line) await sleep(50);
    }
    const m = /([0-9.]+) (B|KiB|MiB) in, ([0-9.]+) (B|KiB|MiB) out/.exec(line);
    assert(m, 'no disconnect line with 10 messages');
    const kib = (v, u) => Number(v) * (u === 'B' ? 1 / 1024 : u === 'MiB' ? 1024 : 1);
    const inKiB = kib(m[1], m[2]), outKiB = kib(m[3], m[4]);
    assert(inKiB < 64 && outKiB < 64, 'in ' + inKiB + ' KiB, out ' + outKiB + ' KiB for 640 KiB each way');
    await p2.close();
    return '640 KiB each way travelled as ' + inKiB.toFixed(1) + ' KiB in, ' + outKiB.toFixed(1) + ' KiB out';
  });

  await check('binary file (setInputFiles) echoes byte for byte', async () => {
    const bytes = crypto.randomBytes(50000);
    bytes[0] = 0x00; bytes[1] = 0xff; bytes[2] = 0x80; /* bytes that are not UTF-8 */
    const file = path.join(OUT, 'sample.bin');
    fs.writeFileSync(file, bytes);
    await page.setInputFiles('#file', file);
    await page.click('#send-file');
    const r = await response(page, 4);
    assert(r.bytes === '50000' && r.match === 'true', 'bytes ' + r.bytes + ', match ' + r.match);
    const size = await count(page, 'binary-size');
    const match = await page.$eval('#binary-match', (e) => e.dataset.match);
    const hex = await page.textContent('#binary-hex');
    const want = [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    assert(size === 50000 && match === 'true', '#binary-result says ' + size + ' bytes, match ' + match);
    assert(hex.startsWith(want), 'hex preview "' + hex + '", want "' + want + '"');
    return '50000 bytes, hex ' + want.slice(0, 23) + '…';
  });

  await check('N random bytes echo byte for byte', async () => {
    await page.fill('#random-bytes', '4096');
    await page.press('#random-bytes', 'Enter');
    const r = await response(page, 5);
    assert(r.bytes === '4096' && r.match === 'true', 'bytes ' + r.bytes + ', match ' + r.match);
    return '4096 bytes, rtt ' + Number(r.rtt).toFixed(2) + ' ms';
  });

  await check('received markup is shown as text, never run', async () => {
    const evil = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
    await page.fill('#message', evil);
    await page.press('#message', 'Enter');
    const r = await response(page, 6);
    assert(r.text === 'Received: ' + evil, 'text "' + r.text + '"');
    const elements = await page.$$eval('#responses img, #responses b', (l) => l.length);
    const pwned = await page.evaluate(() => window.__pwned);
    assert(elements === 0 && pwned === undefined, 'markup was parsed');
  });

  await check('an empty message echoes as "(empty message, 0 bytes)", not a bare "Received:"', async () => {
    await page.fill('#message', '');
    await page.press('#message', 'Enter');
    const r = await response(page, 7);
    assert(r.text === 'Received: (empty message, 0 bytes)' && r.bytes === '0' && r.match === 'true',
           'text "' + r.text + '", bytes ' + r.bytes + ', match ' + r.match);
    await page.fill('#random-bytes', '0');
    await page.click('#send-random');
    const b = await response(page, 8);
    assert(b.text === 'Received: [binary] (empty message, 0 bytes)' && b.match === 'true',
           'binary: text "' + b.text + '", match ' + b.match);
    return r.text + '; ' + b.text;
  });

  await check('controls have labels, log is aria-live, no page errors', async () => {
    const unlabelled = await page.$$eval('input', (l) => l.filter((i) => !i.labels || !i.labels.length)
      .map((i) => i.id));
    assert(unlabelled.length === 0, 'inputs without a label: ' + unlabelled.join(', '));
    const live = await page.$eval('#log', (e) => e.getAttribute('aria-live'));
    assert(live === 'polite', '#log aria-live=' + live);
    assert(pageErrors.length === 0, 'page errors: ' + pageErrors.join('; '));
  });

  await check('keyboard: Tab reaches the message box and the Send button', async () => {
    await page.focus('#message');
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement.id);
    assert(id === 'send', 'Tab from #message went to #' + id);
  });

  await shot(page, 'echo-desktop');

  /* The responses list turns round when the layout changes (a media query event). */
  const listOrder = (order) => until(page, '#responses ' + order,
    (o) => document.getElementById('responses').dataset.order === o, order);

  await check('phone-sized viewport: no sideways scrolling; responses newest first', async () => {
    await page.setViewportSize(PHONE);
    await listOrder('newest-first');
    const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    const first = await page.$eval('#responses li .body', (e) => e.textContent);
    await shot(page, 'echo-phone');
    await page.setViewportSize(DESKTOP);
    await listOrder('oldest-first');
    assert(w[0] <= w[1], 'page is ' + w[0] + ' px wide in a ' + w[1] + ' px viewport');
    assert(/empty message/.test(first), 'the first line on a phone is "' + first + '", not the newest');
    return w[0] + ' px in ' + w[1] + ' px';
  });

  await check('phone (390x844): after sending, the newest reply is in view, near the message box', async () => {
    await page.setViewportSize(PHONE);
    try {
      /* Media query listeners run in the rendering steps, before rAF callbacks. */
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.evaluate(() => window.scrollTo(0, 0));
      const n = await page.$$eval('#responses li', (l) => l.length);
      await page.focus('#message');
      await page.fill('#message', 'sent from a phone');
      await page.press('#message', 'Enter');
      const r = await response(page, n + 1);
      assert(r.text === 'Received: sent from a phone', 'text "' + r.text + '"');
      const g = await page.evaluate(() => {
        const list = document.getElementById('responses');
        const newest = list.dataset.order === 'newest-first' ? list.firstElementChild : list.lastElementChild;
        const a = newest.getBoundingClientRect();
        const m = document.getElementById('message').getBoundingClientRect();
        return { text: newest.querySelector('.body').textContent, top: a.top, bottom: a.bottom,
                 mTop: m.top, mBottom: m.bottom, h: window.innerHeight, y: window.scrollY,
                 order: list.dataset.order };
      });
      await page.screenshot({ path: path.join(OUT, 'echo-phone-sent.png') });  /* what the phone shows */
      assert(g.text === 'Received: sent from a phone', 'the newest line is "' + g.text + '"');
      assert(g.top >= 0 && g.bottom <= g.h, 'newest reply at ' + Math.round(g.top) + '..' +
             Math.round(g.bottom) + ' px in a ' + g.h + ' px viewport');
      assert(g.mTop >= 0 && g.mBottom <= g.h, 'message box at ' + Math.round(g.mTop) + ' px, out of view');
      return g.order + '; reply at ' + Math.round(g.top) + '..' + Math.round(g.bottom) + ' px, message box at ' +
             Math.round(g.mTop) + ' px, page scrolled ' + Math.round(g.y) + ' px';
    } finally {
      await page.setViewportSize(DESKTOP);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    }
  });

  const wsUrl = 'ws://127.0.0.1:' + port + '/';

  await check('SIGTERM to the server: page shows closed, close code 1001 and a countdown', async () => {
    const how = await stopServer(server, 10000);
    await waitState(page, 'closed');
    const info = await page.textContent('#close-info');
    const code = await page.$eval('#close-info', (e) => e.dataset.code);
    assert(code === '1001' && /code 1001 Going Away/.test(info), '#close-info "' + info + '"');
    await until(page, 'retry countdown naming the lost URL', (u) => {
      const r = document.getElementById('reconnect');
      return !r.hidden && r.textContent.includes(' to ' + u + ' in ') && /in \d/.test(r.textContent);
    }, wsUrl);
    return 'server ' + how + '; ' + info.split('.')[0];
  });

  await check('a failed retry is reported apart; the lost connection\'s 1001 details stay', async () => {
    await until(page, '#retry-info shows a failed retry', () => {
      const r = document.getElementById('retry-info');
      return !r.hidden && Number(r.dataset.retry) >= 1 && /^Retry \d+ to .* failed/.test(r.textContent);
    });
    const info = await page.textContent('#close-info');
    const code = await page.$eval('#close-info', (e) => e.dataset.code);
    assert(code === '1001' && /Going Away/.test(info) && /server shutting down/.test(info),
           'after a failed retry #close-info is ' + code + ' "' + info + '"');
    return (await page.textContent('#retry-info')).replace(/ at \d\d:\d\d:\d\d/, '');
  });

  /* A retry goes where the lost connection went, not where the field now points:
   * the edited path would be accepted by the echo server just the same. */
  const edited = wsUrl + 'edited-during-retry';
  await check('URL edited while retrying: the countdown says the edit waits for Connect', async () => {
    await page.fill('#url', edited);
    await until(page, 'countdown mentions the edit', () => {
      const r = document.getElementById('reconnect');
      return r.dataset.edited === 'true' && /edit applies when you press Connect/.test(r.textContent);
    });
    await shot(page, 'server-gone');
    return await page.textContent('#reconnect');
  });

  await check('server restarted on the same port: page reconnects by itself to the lost URL', async () => {
    await sleep(1200);  /* let a back-off step or two fail first */
    server = await startServer('server-echo', port, []);
    await waitState(page, 'open', 20000);
    const opened = await page.$$eval('#log li', (l) => l.map((li) => li.textContent)
      .filter((t) => / Open: connected to /.test(t)).pop());
    assert(opened && opened.endsWith('connected to ' + wsUrl + ' (' +
                                     await page.textContent('#extensions') + ')'),
           'last open: "' + opened + '"');
    const n = await page.$$eval('#responses li', (l) => l.length);
    await page.fill('#message', 'after restart');
    await page.press('#message', 'Enter');
    const r = await response(page, n + 1);
    assert(r.text === 'Received: after restart', 'text "' + r.text + '"');
    const hidden = await page.$eval('#reconnect', (e) => e.hidden);
    const retryHidden = await page.$eval('#retry-info', (e) => e.hidden);
    assert(hidden && retryHidden, 'countdown or retry line still shown');
    await page.fill('#url', wsUrl);
    return opened.slice(13);
  });

  await check('Disconnect: closes with 1000 and does not reconnect', async () => {
    await page.click('#disconnect');
    await waitState(page, 'closed');
    const code = await page.$eval('#close-info', (e) => e.dataset.code);
    const info = await page.textContent('#close-info');
    assert(code === '1000' && /Normal Closure/.test(info), '#close-info "' + info + '"');
    await sleep(1500);
    const st = await stateOf(page);
    const hidden = await page.$eval('#reconnect', (e) => e.hidden);
    assert(st.startsWith('closed') && hidden, 'after 1.5 s: state ' + st + ', countdown shown ' + !hidden);
    return info.split('.')[0];
  });

  await check('Connect opens again', async () => {
    await page.click('#connect');
    await waitState(page, 'open');
  });

  await check('message over --max-message: close 1009 Message Too Big, then reconnect', async () => {
    await page.fill('#random-bytes', String(2 * MAX_MESSAGE));
    await page.click('#send-random');
    await until(page, 'close code 1009', () => document.getElementById('close-info').dataset.code === '1009',
                undefined, 10000);
    const info = await page.textContent('#close-info');
    assert(/Message Too Big/.test(info), '#close-info "' + info + '"');
    await shot(page, 'close-1009');
    await waitState(page, 'open', 10000);
    return info.split('.')[0];
  });

  await check('opened from a file: URL defaults to ws://localhost:8080', async () => {
    const p = await context.newPage();
    try {
      await p.goto('file://' + path.join(CLIENT_DIR, 'index.html'));
      const v = await p.inputValue('#url');
      assert(v === 'ws://localhost:8080', 'got "' + v + '"');
    } finally {
      await p.close();
    }
  });

  await page.close();

  /* The same server through Node's ws client (the tutorial's library), on
   * any path: text stays text, binary stays binary, empty and 1 MiB
   * messages come back whole, pings get pongs, and a close code is echoed. */
  await check('Node ws client: text, binary, empty and 1 MiB echo; ping; close 4000', async () => {
    const WebSocket = require('ws');
    const ws = new WebSocket('ws://127.0.0.1:' + port + '/any/path?x=1', { maxPayload: 0 });
    const inbox = [];
    let wake = null;
    ws.on('message', (data, isBinary) => { inbox.push({ data, isBinary }); if (wake) wake(); });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const next = async () => {
      const t0 = Date.now();
      while (!inbox.length) {
        assert(Date.now() - t0 < WAIT_MS, 'no echo within ' + WAIT_MS + ' ms');
        await new Promise((r) => { wake = r; setTimeout(r, 100); });
      }
      return inbox.shift();
    };
    const big = crypto.randomBytes(MAX_MESSAGE);
    const cases = [['héllo wörld ✓', false], ['', false], [Buffer.from([0, 255, 1]), true],
                   [Buffer.alloc(0), true], [big, true]];
    for (const [msg, binary] of cases) {
      ws.send(msg, { binary });
      const got = await next();
      assert(got.isBinary === binary, 'type changed for a ' + (binary ? 'binary' : 'text') + ' message');
      assert(Buffer.compare(Buffer.from(got.data), Buffer.from(msg)) === 0,
             'echo differs for a ' + Buffer.byteLength(msg) + '-byte message');
    }
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('are you there'));
    const payload = await Promise.race([pong, sleep(WAIT_MS).then(() => null)]);
    assert(payload && payload.toString() === 'are you there', 'no pong with the same payload');
    const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(4000, 'done');
    const code = await Promise.race([closed, sleep(WAIT_MS).then(() => 'timeout')]);
    assert(code === 4000, 'close code ' + code + ', expected 4000 echoed');
    return '5 messages up to ' + MAX_MESSAGE + ' bytes, pong, close ' + code;
  });

  await check('echo server stops on SIGTERM', async () => {
    assert(servers.has(server), 'it had already exited (crashed?)');
    return 'exited: ' + await stopServer(server, 10000);
  });
}

/* Starts a server with `extra` options on a free port, runs fn(page, base, server,
 * port) on a fresh page loaded from it, then closes the page and stops the server. */
async function withServer(context, name, extra, fn) {
  const port = await freePort();
  let server = null;
  const ok = await check(name + ' starts on 127.0.0.1:' + port + ' (' + extra.join(' ') + ')',
                         async () => {
    server = await startServer(name, port, extra);
    return 'pid ' + server.pid;
  });
  if (!ok) return;
  const page = await context.newPage();
  try {
    await fn(page, 'http://127.0.0.1:' + port + '/', server, port);
  } finally {
    await page.close();
    if (servers.has(server)) await stopServer(server, 10000);
  }
}

/* Connect with the subprotocol field set to list; resolves when the page is open or closed. */
async function connectOffering(page, list) {
  await page.fill('#protocols', list);
  await page.click('#connect');
  await until(page, 'open or closed', () => /^(open|closed)$/.test(document.getElementById('state').dataset.state));
}

/* Lets the test reach the page's sockets: window.__sockets lists every one made. */
function captureSockets() {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
}

/* Closes the page's newest socket with code (echoed by ws6455) and resolves
 * to the #close-info text that code produced. */
async function closeWith(page, code) {
  await waitState(page, 'open');
  await page.evaluate((c) => window.__sockets[window.__sockets.length - 1].close(c, 'test'), code);
  await until(page, '#close-info for ' + code, (c) => document.getElementById('close-info').dataset.code === c,
              String(code));
  return page.textContent('#close-info');
}

/* Subprotocols, the Origin check, and the words for close codes. */
async function handshakeTests(context) {
  await withServer(context, 'server-subprotocol-chat', ['--subprotocol', 'chat'],
                   async (page, base, server, port) => {
    await check('--subprotocol chat, nothing offered: open, subprotocol shown as none', async () => {
      await page.goto(base);
      await waitState(page, 'open');
      const shown = await page.textContent('#protocol');
      const offered = await page.inputValue('#protocols');
      assert(offered === '' && shown === 'none', 'field "' + offered + '", #protocol "' + shown + '"');
      return 'extensions: ' + await page.textContent('#extensions');
    });

    await check('subprotocol field "superchat, chat": the page shows the server\'s choice "chat"', async () => {
      await connectOffering(page, 'superchat, chat');
      await waitState(page, 'open');
      const shown = await page.textContent('#protocol');
      const data = await page.$eval('#protocol', (e) => e.dataset.protocol);
      assert(shown === 'chat' && data === 'chat', '#protocol "' + shown + '" (data ' + data + ')');
      assert(/subprotocol chat/.test(server.logText), 'server log does not mention subprotocol chat');
      await shot(page, 'subprotocol-chat');
      return 'ws.protocol "' + data + '"';
    });

    /* Like the URL, the offered list of the lost connection is what retries
     * offer: "other" would be refused by this server. */
    await check('subprotocols edited while retrying: the retry still offers the lost connection\'s', async () => {
      await stopServer(server, 10000);
      await waitState(page, 'closed');
      await page.fill('#protocols', 'other');
      await until(page, 'countdown mentions the edited subprotocol field', () => {
        const r = document.getElementById('reconnect');
        return r.dataset.edited === 'true' && /offering superchat, chat, in /.test(r.textContent) &&
               /subprotocol field was edited/.test(r.textContent);
      });
      const again = await startServer('server-subprotocol-chat', port, ['--subprotocol', 'chat']);
      try {
        await waitState(page, 'open', 20000);
        const shown = await page.textContent('#protocol');
        assert(shown === 'chat', '#protocol "' + shown + '" after the retry');
        return 'reconnected with subprotocol ' + shown;
      } finally {
        await stopServer(again, 10000);
      }
    });
  });

  await withServer(context, 'server-subprotocol-other', ['--subprotocol', 'other'],
                   async (page, base, server) => {
    await page.addInitScript(captureSockets);
    await check('--subprotocol other, field "chat": the connection fails and the page says why', async () => {
      await page.goto(base);
      await waitState(page, 'open');
      await connectOffering(page, 'chat');
      await waitState(page, 'closed');
      const code = await page.$eval('#close-info', (e) => e.dataset.code);
      const info = await page.textContent('#close-info');
      const negotiatedHidden = await page.$eval('#negotiated', (e) => e.hidden);
      assert(code === '1006' && negotiatedHidden, 'close code ' + code + ', #negotiated hidden ' +
             negotiatedHidden);
      assert(/^Could not connect to /.test(info) && /selected none of the subprotocols offered \(chat\)/.test(info),
             '#close-info "' + info + '"');
      await shot(page, 'subprotocol-refused');
      await page.click('#disconnect');
      await page.fill('#protocols', '');
      return info.slice(0, info.indexOf('. ') + 1);
    });

    await check('close codes in words: 4000 private use, 3000 registered range (echoed by the server)', async () => {
      await page.click('#connect');
      const c4000 = await closeWith(page, 4000);
      assert(/code 4000 Private Use \(its meaning is whatever this server and its clients agreed on/.test(c4000),
             '4000: "' + c4000 + '"');
      const c3000 = await closeWith(page, 3000);
      assert(/code 3000 Registered Range \(a code that a library, framework or application registers with IANA/
        .test(c3000), '3000: "' + c3000 + '"');
      return c4000.split(' (')[0] + '; ' + c3000.split(' (')[0];
    });

    await check('server killed (SIGKILL): 1006 after an open connection says it dropped', async () => {
      await waitState(page, 'open');
      server.kill('SIGKILL');
      await until(page, '#close-info 1006', () => document.getElementById('close-info').dataset.code === '1006');
      const info = await page.textContent('#close-info');
      assert(/^Closed with code 1006 Abnormal Closure/.test(info) && /dropped without a close frame/.test(info) &&
             !/Origin/.test(info), '#close-info "' + info + '"');
      await page.click('#disconnect');
      return info.split('. ')[0];
    });

    await check('Connect with a URL the browser refuses: the panel says so, no retries', async () => {
      await page.fill('#url', 'ftp://example.invalid/');
      await page.click('#connect');
      await until(page, 'Cannot connect', () => /^Cannot connect to "ftp:\/\/example.invalid\/": /.test(
        document.getElementById('close-info').textContent));
      await sleep(700);
      const st = await stateOf(page);
      const countdown = await page.$eval('#reconnect', (e) => !e.hidden);
      assert(st.startsWith('closed') && !countdown, 'state ' + st + ', countdown shown ' + countdown);
      return (await page.textContent('#close-info')).slice(0, 90);
    });
  });

  /* The page comes from this server, so its Origin is http://127.0.0.1:PORT: not allowed. */
  await withServer(context, 'server-origin', ['--allow-origin', 'https://example.com'], async (page, base, server) => {
    await check('--allow-origin https://example.com: the page cannot connect; 1006 names the Origin check', async () => {
      const res = await page.goto(base);
      assert(res && res.status() === 200, 'the page itself: HTTP ' + (res && res.status()));
      await until(page, '#close-info 1006', () => document.getElementById('close-info').dataset.code === '1006');
      const info = await page.textContent('#close-info');
      const origin = base.replace(/\/$/, '');
      assert(/^Could not connect to /.test(info) && /Origin check answered HTTP 403/.test(info) &&
             info.includes('(' + origin + ')') && /not a subprotocol mismatch/.test(info),
             '#close-info "' + info + '"');
      assert(/403/.test(server.logText), 'the server log has no 403');
      await shot(page, 'origin-refused');
      await page.click('#disconnect');
      return 'Origin ' + origin + ' refused with 403';
    });
  });
}

/* The tutorial's reply, Server: You said "...", is a matching reply of its own kind. */
async function saidTests(context) {
  await withServer(context, 'server-said', ['--handler', 'said'], async (page, base) => {
    await check('--handler said: a said reply is shown as matching, not flagged as differing', async () => {
      await page.goto(base);
      await waitState(page, 'open');
      await page.fill('#message', 'Hello "quoted"');
      await page.press('#message', 'Enter');
      const r = await response(page, 1);
      assert(r.text === 'Received: Server: You said "Hello "quoted""', 'text "' + r.text + '"');
      assert(r.match === 'said' && /said reply/.test(r.meta) && !/differs/.test(r.meta),
             'match ' + r.match + ', meta "' + r.meta + '"');
      /* The page's error colour, resolved the way the browser resolves it. */
      const [color, bad] = await page.$eval('#responses li .meta', (e) => {
        const probe = document.createElement('span');
        probe.style.color = 'var(--bad)';
        document.body.append(probe);
        const c = getComputedStyle(probe).color;
        probe.remove();
        return [getComputedStyle(e).color, c];
      });
      assert(color !== bad, 'the note is in the error colour ' + color);
      return r.meta;
    });

    await check('--handler said: binary said reply matches around the bytes sent', async () => {
      await page.fill('#random-bytes', '64');
      await page.click('#send-random');
      const r = await response(page, 2);
      const m = await page.$eval('#binary-match', (e) => e.dataset.match + ' ' + e.textContent);
      assert(r.bytes === String(64 + 19) && r.match === 'said' && m.startsWith('said Yes'),
             'bytes ' + r.bytes + ', match ' + r.match + ', #binary-match "' + m + '"');
      await shot(page, 'said');
      return m.slice(5);
    });
  });
}

async function chatTests(context) {
  const port = await freePort();
  let server = null;
  const ok = await check('chat server starts on 127.0.0.1:' + port, async () => {
    server = await startServer('server-chat', port, ['--handler', 'chat']);
    return 'pid ' + server.pid;
  });
  if (!ok) return;
  const base = 'http://127.0.0.1:' + port + '/';

  const alice = await context.newPage();
  await check('alice: welcome switches the page to the chat view', async () => {
    await alice.goto(base);
    await waitState(alice, 'open');
    await until(alice, 'chat panel shown', () => !document.getElementById('panel-chat').hidden &&
                document.getElementById('tab-chat').getAttribute('aria-selected') === 'true');
    const id = await alice.textContent('#chat-id');
    const online = await alice.textContent('#chat-online');
    assert(/^\d+$/.test(id) && online === '1', 'id "' + id + '", online "' + online + '"');
    return 'id #' + id + ', 1 online';
  });
  await alice.fill('#chat-nick', 'alice');
  await alice.press('#chat-nick', 'Enter');

  const bob = await context.newPage();
  await bob.setViewportSize(PHONE);
  await check('bob joins: both see 2 online, alice sees bob join by name', async () => {
    await bob.goto(base);
    await until(bob, 'bob in chat view', () => !document.getElementById('panel-chat').hidden);
    await bob.fill('#chat-nick', 'bob');
    await bob.press('#chat-nick', 'Enter');
    await until(alice, 'alice sees 2 online', () => document.getElementById('chat-online').textContent === '2');
    await until(bob, 'bob sees 2 online', () => document.getElementById('chat-online').textContent === '2');
    await waitChat(alice, 'alice sees "joined"', / joined /);
    /* The nick comes from the server's nick event, not from bob's page. */
    await waitChat(alice, 'alice sees bob\'s nick', / is now bob \(#\d+\)$/);
  });

  await check('bob -> alice: message shown with nick', async () => {
    await bob.fill('#chat-input', 'hi alice, from bob');
    await bob.press('#chat-input', 'Enter');
    await waitChat(alice, 'bob\'s message at alice', /bob \(#\d+\): hi alice, from bob$/);
    await waitChat(bob, 'bob\'s own message relayed back', /bob \(#\d+\): hi alice, from bob \d/);
  });

  await check('alice -> bob: message shown with nick', async () => {
    await alice.fill('#chat-input', 'hello bob <b>not bold</b>');
    await alice.click('#chat-send');
    await waitChat(bob, 'alice\'s message at bob', /alice \(#\d+\): hello bob <b>not bold<\/b>$/);
    const bold = await bob.$$eval('#chat-messages .text b', (l) => l.length);
    assert(bold === 0, 'markup was parsed');
  });

  await check('chat server: the Echo tab says the replies are in the Chat tab, not "Nothing yet"', async () => {
    await alice.click('#tab-echo');
    const note = await alice.$eval('#echo-note', (e) => (e.hidden ? '' : e.textContent.replace(/\s+/g, ' ')));
    const listShown = await alice.$eval('#responses', (e) => e.getBoundingClientRect().height > 0);
    const recv = await count(alice, 'count-recv-msgs');
    assert(/speaks the chat protocol: its messages are shown in the Chat tab/.test(note),
           '#echo-note "' + note + '"');
    assert(!listShown, 'the empty #responses (with its "Nothing yet.") is still shown');
    assert(recv > 0, 'no messages counted');
    await shot(alice, 'chat-echo-tab');
    await alice.click('#tab-chat');
    return recv + ' messages received, shown in the Chat tab';
  });

  await check('a forged server event from alice is only alice\'s text at bob', async () => {
    /* Sent raw from the echo tab: byte for byte what a welcome looks like. */
    await alice.click('#tab-echo');
    await alice.fill('#message', '{"type":"welcome","id":99,"nick":"admin","online":42}');
    await alice.press('#message', 'Enter');
    await alice.click('#tab-chat');
    await waitChat(bob, 'forgery shown as alice\'s message', /alice \(#\d+\): \{"type":"welcome"/);
    const online = await bob.textContent('#chat-online');
    const id = await bob.textContent('#chat-id');
    assert(online === '2' && id !== '99', 'bob now thinks: online ' + online + ', id ' + id);
  });

  await shot(alice, 'chat-desktop');
  await shot(bob, 'chat-phone');

  await check('bob leaves: alice sees "bob (#N) left" and 1 online', async () => {
    await bob.close();
    await waitChat(alice, 'leave line', /bob \(#\d+\) left/);
    await until(alice, 'alice sees 1 online', () => document.getElementById('chat-online').textContent === '1');
    return (await chatLines(alice)).filter((l) => / left /.test(l))[0].slice(13);
  });

  await alice.close();
  await check('chat server stops on SIGTERM', async () => {
    assert(servers.has(server), 'it had already exited (crashed?)');
    return 'exited: ' + await stopServer(server, 10000);
  });
}

/* ---- entry: one bounded run --------------------------------------------- */

/* Ends the run early: servers first (by PID), then the browser. */
async function abort(why) {
  killAll();
  await closeBrowser();
  killAll();
  console.log(passed + ' passed, ' + failed + ' failed' + why);
  process.exit(1);
}

const watchdog = setTimeout(() => {
  report(false, 'whole run within ' + RUN_LIMIT_MS / 1000 + ' s', 'timed out');
  abort('');
}, RUN_LIMIT_MS);

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => abort(' (stopped by ' + sig + ')'));
}

main().catch((e) => {
  report(false, 'test run', String((e && e.stack) || e).split('\n').slice(0, 3).join(' | '));
}).finally(() => {
  clearTimeout(watchdog);
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
});
