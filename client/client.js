/*
 * ws6455 test client: the tutorial's echo page, grown up.
 *
 * One WebSocket at a time, shown in two views:
 *   - Echo: send text or binary, see each echo with its round-trip time and
 *     whether it came back byte for byte.
 *   - Chat: the chat handler's wire protocol (docs/client.md has the table).
 *     Every event is JSON written by the server, with the member's id and
 *     nick as the server knows them:
 *       server -> client  {"type":"welcome"|"join"|"leave","id":N,"nick":"..","online":K}
 *                         {"type":"nick","id":N,"nick":"..","old":".."}
 *                         {"type":"msg","id":N,"nick":"..","text":".."}
 *                         {"type":"binary","id":N,"nick":"..","bytes":B} + the bytes
 *                         {"type":"error","text":".."}
 *       client -> server  plain text (a message), "/nick NAME", binary
 *
 * Everything received is untrusted: it reaches the page only through
 * textContent, never innerHTML, so a message cannot inject markup or script.
 * Every list is capped (MAX_LINES) so a chatty server cannot grow the page
 * without bound.
 */
'use strict';

(function () {
  /* ---- tunables ---------------------------------------------------------- */

  const RECONNECT_MIN_MS = 500;    /* first retry after the server goes away */
  const RECONNECT_MAX_MS = 10000;  /* back-off doubles up to this ceiling */
  const MAX_LINES = 500;           /* kept per list (responses, log, chat) */
  const PREVIEW_CHARS = 120;       /* a longer text is shown truncated */
  const HEX_BYTES = 16;            /* bytes shown in a binary hex preview */
  const MAX_RANDOM = 16 * 1024 * 1024; /* the server's default max message */
  const MAX_NICK = 24;
  const EMPTY_TEXT = '(empty message, 0 bytes)';  /* how a message with no data is shown */

  /* The tutorial's server (ws6455 --handler said) answers a message M with
   * 'Server: You said "M"' instead of M itself. */
  const SAID_PRE = 'Server: You said "';
  const SAID_POST = '"';

  /*
   * Close codes, in words: RFC 6455 §7.4.1 defines 1000-1011 and 1015, the
   * IANA registry (§11.7) adds 1012-1014. 1005, 1006 and 1015 are never sent
   * in a close frame: the browser reports them when there was no code, no
   * close frame at all, or a failed TLS handshake. 1006 gets its own words
   * (explain1006) because what it means depends on whether the connection
   * ever opened. Where ws6455 sends a code, the text says when.
   */
  const CLOSE_CODES = {
    1000: ['Normal Closure', 'the connection did what it was opened for and was closed on purpose, e.g. by Disconnect'],
    1001: ['Going Away', 'the endpoint is going away: a server shutting down (ws6455 sends this on SIGTERM, and when its pings go unanswered) or a browser leaving the page'],
    1002: ['Protocol Error', 'an endpoint received a frame that breaks RFC 6455'],
    1003: ['Unsupported Data', 'an endpoint received a kind of data it does not accept, e.g. binary where it expects only text'],
    1004: ['Reserved', 'RFC 6455 reserves this code without a meaning; no endpoint should send it'],
    1005: ['No Status Received', 'the close frame carried no status code; this code is never sent, the browser reports it'],
    1006: ['Abnormal Closure', 'the connection ended without a close frame'],
    1007: ['Invalid Frame Payload Data', 'a message\'s data did not fit its type, e.g. a text message that is not valid UTF-8'],
    1008: ['Policy Violation', 'the endpoint\'s policy was broken; the generic code when no other fits (ws6455 sends it to a chat member too slow to keep up, and for a message that stops making progress)'],
    1009: ['Message Too Big', 'a message was larger than the endpoint accepts (ws6455: --max-message)'],
    1010: ['Mandatory Extension', 'the client required an extension that the server did not agree to; only a client sends this'],
    1011: ['Internal Error', 'the server met an unexpected condition, e.g. it ran out of memory'],
    1012: ['Service Restart', 'the server is restarting; connecting again shortly should work (IANA registry, not in RFC 6455)'],
    1013: ['Try Again Later', 'the server is overloaded or out of resources for now (ws6455: its memory budget is full); try again later (IANA registry, not in RFC 6455)'],
    1014: ['Bad Gateway', 'a gateway or proxy got an invalid response from the server behind it (IANA registry, not in RFC 6455)'],
    1015: ['TLS Handshake', 'the TLS handshake failed, e.g. the server\'s certificate could not be verified; this code is never sent, the browser reports it'],
  };

  const STATE_TEXT = {
    connecting: 'Connecting…',
    open: 'Open',
    closing: 'Closing…',
    closed: 'Closed',
  };

  /* ---- elements (ids are a stable interface: see docs/client.md) -------- */

  const $ = (id) => document.getElementById(id);
  const el = {
    state: $('state'), connForm: $('conn-form'), url: $('url'), protocols: $('protocols'),
    connect: $('connect'), disconnect: $('disconnect'),
    reconnect: $('reconnect'), closeInfo: $('close-info'), retryInfo: $('retry-info'),
    tabEcho: $('tab-echo'), tabChat: $('tab-chat'),
    panelEcho: $('panel-echo'), panelChat: $('panel-chat'),
    sendForm: $('send-form'), message: $('message'), send: $('send'),
    file: $('file'), sendFile: $('send-file'),
    randomForm: $('random-form'), randomBytes: $('random-bytes'), sendRandom: $('send-random'),
    binaryResult: $('binary-result'), binarySize: $('binary-size'), binaryRtt: $('binary-rtt'),
    binaryMatch: $('binary-match'), binaryHex: $('binary-hex'),
    responses: $('responses'), clear: $('clear'),
    sentMsgs: $('count-sent-msgs'), sentBytes: $('count-sent-bytes'),
    recvMsgs: $('count-recv-msgs'), recvBytes: $('count-recv-bytes'),
    log: $('log'),
    chatOnline: $('chat-online'), chatId: $('chat-id'), chatIdWrap: $('chat-id-wrap'),
    chatNote: $('chat-note'), chatNick: $('chat-nick'), chatMessages: $('chat-messages'),
    chatForm: $('chat-form'), chatInput: $('chat-input'), chatSend: $('chat-send'),
    echoNote: $('echo-note'),
    negotiated: $('negotiated'), protocol: $('protocol'), extensions: $('extensions'),
    wireRow: $('wire-row'),
    wirePct: $('count-wire-pct'),
  };

  /* ---- state ------------------------------------------------------------- */

  let ws = null;            /* the current socket, or null */
  let userClosed = false;   /* true after Disconnect: do not reconnect */
  let attempt = 0;          /* reconnects since the last successful open or Connect */
  /*
   * What Connect (or the page load) asked for: { url, protocols }.
   * Automatic retries reuse it, so a retry reaches the server whose
   * connection was lost, offering the same subprotocols, even when the
   * fields have been edited since; an edit takes effect only when the user
   * presses Connect.
   */
  let target = null;
  let reconnectTimer = 0;
  let countdownTimer = 0;
  let reconnectAt = 0;

  /*
   * Echoes come back in the order we sent them (TCP and the server keep
   * order), so the oldest unanswered send is the one each echo answers.
   * Entries: { at: ms, text?: string, bytes?: Uint8Array }.
   */
  let pending = [];

  const counts = { sentMsgs: 0, sentBytes: 0, recvMsgs: 0, recvBytes: 0 };

  const chat = {
    active: false,        /* the server welcomed us: it speaks the chat protocol */
    myId: null,
    nicks: new Map(),     /* id -> nick, as the server's events name them */
    sentAt: [],           /* send times of our own msgs, FIFO, for round trips */
    announced: null,      /* the nick we last asked for */
    binaryFrom: null,     /* id of the member whose binary message comes next */
  };

  /* The phone layout (style.css uses the same width): the responses list
   * shows the newest reply first, right under the message box. */
  const narrow = window.matchMedia('(max-width: 600px)');

  const encoder = new TextEncoder();
  let compressing = false;           /* permessage-deflate was agreed */
  const wire = { raw: 0, sent: 0 };  /* bytes sent, and their compressed estimate */

  /* ---- small helpers ----------------------------------------------------- */

  function utf8Length(s) {
    return encoder.encode(s).length;
  }

  function fmtInt(n) {
    return n.toLocaleString('en-US');
  }

  function fmtMs(ms) {
    return ms < 10 ? ms.toFixed(2) + ' ms' : ms.toFixed(1) + ' ms';
  }

  function clock() {
    const d = new Date();
    const p = (n, w) => String(n).padStart(w, '0');
    return p(d.getHours(), 2) + ':' + p(d.getMinutes(), 2) + ':' +
           p(d.getSeconds(), 2) + '.' + p(d.getMilliseconds(), 3);
  }

  function hexPreview(u8) {
    const parts = [];
    for (let i = 0; i < u8.length && i < HEX_BYTES; i++)
      parts.push(u8[i].toString(16).padStart(2, '0'));
    if (u8.length > HEX_BYTES) parts.push('…');
    return parts.join(' ');
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++)
      if (a[i] !== b[i]) return false;
    return true;
  }

  /*
   * How a reply answers what was sent: 'true' (the same, an echo), 'said'
   * (the said handler's 'Server: You said "..."' around exactly what was
   * sent, for text and for binary alike) or 'false'.
   */
  function replyKind(sent, data) {
    if (!sent) return 'false';
    if (typeof data === 'string') {
      if (sent.text === undefined) return 'false';
      if (data === sent.text) return 'true';
      return data === SAID_PRE + sent.text + SAID_POST ? 'said' : 'false';
    }
    if (sent.bytes === undefined) return 'false';
    if (sameBytes(sent.bytes, data)) return 'true';
    const pre = encoder.encode(SAID_PRE);
    const post = encoder.encode(SAID_POST);
    const n = sent.bytes.length;
    return data.length === pre.length + n + post.length &&
           sameBytes(data.subarray(0, pre.length), pre) &&
           sameBytes(data.subarray(pre.length, pre.length + n), sent.bytes) &&
           sameBytes(data.subarray(pre.length + n), post) ? 'said' : 'false';
  }

  function preview(s) {
    if (s.length <= PREVIEW_CHARS) return s;
    return s.slice(0, PREVIEW_CHARS) + '… (+' + fmtInt(s.length - PREVIEW_CHARS) + ' more chars)';
  }

  /* Makes an element with text (never markup) and an optional class. */
  function make(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  /*
   * Appends li to list, drops the oldest lines beyond MAX_LINES, and keeps the
   * list scrolled to the end unless the reader has scrolled up to read.
   */
  function append(list, li) {
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(li);
    while (list.children.length > MAX_LINES) list.firstElementChild.remove();
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  /*
   * The responses list runs oldest first, except in the phone layout, where
   * it runs newest first so that the newest reply sits right under the
   * message box. Switching layouts (rotating a phone) turns the list round;
   * data-order says which way it runs, and an <ol reversed> tells assistive
   * technology the same.
   */
  function orderResponses() {
    const want = narrow.matches ? 'newest-first' : 'oldest-first';
    const list = el.responses;
    if (list.dataset.order === want) return;
    if (list.dataset.order) list.replaceChildren(...Array.from(list.children).reverse());
    list.dataset.order = want;
    list.reversed = want === 'newest-first';
    list.scrollTop = want === 'newest-first' ? 0 : list.scrollHeight;
  }

  function addResponse(li) {
    const list = el.responses;
    if (list.dataset.order !== 'newest-first') {
      append(list, li);
      return;
    }
    /* Mirror of append(): stay at the top unless the reader scrolled down. */
    const atTop = list.scrollTop < 40;
    list.prepend(li);
    while (list.children.length > MAX_LINES) list.lastElementChild.remove();
    if (atTop) list.scrollTop = 0;
  }

  function log(text, level) {
    const li = make('li', undefined, 'log-' + (level || 'info'));
    li.append(make('time', clock()), ' ', make('span', text));
    append(el.log, li);
  }

  function isOpen() {
    return ws !== null && ws.readyState === WebSocket.OPEN;
  }

  /* ---- counters ---------------------------------------------------------- */

  function renderCounts() {
    const set = (node, n) => { node.textContent = fmtInt(n); node.dataset.value = String(n); };
    set(el.sentMsgs, counts.sentMsgs);
    set(el.sentBytes, counts.sentBytes);
    set(el.recvMsgs, counts.recvMsgs);
    set(el.recvBytes, counts.recvBytes);
  }

  function countSent(bytes) {
    counts.sentMsgs += 1;
    counts.sentBytes += bytes;
    renderCounts();
  }

  /* ---- compression (RFC 7692 permessage-deflate) ------------------------- */

  /* What the server agreed to, as the browser reports it: the subprotocol
   * (ws.protocol, '' when none) and the extensions (ws.extensions, e.g.
   * "permessage-deflate; server_no_context_takeover; ..."). */
  function showNegotiated(sock) {
    const ext = sock.extensions || '';
    const proto = sock.protocol || '';
    el.protocol.textContent = proto || 'none';
    el.protocol.dataset.protocol = proto;
    el.extensions.textContent = ext || 'none';
    el.negotiated.hidden = false;
    el.negotiated.dataset.extensions = ext;
    compressing = /^permessage-deflate/.test(ext);
    el.wireRow.hidden = !(compressing && canEstimate);
  }

  /* The page cannot see the bytes on the wire, but it can compress what it
   * sends the same way (raw DEFLATE, CompressionStream) and show about how
   * much smaller the messages travel. An estimate: the browser's and the
   * server's compressors choose their own blocks. */
  const canEstimate = typeof CompressionStream === 'function' && (() => {
    try { new CompressionStream('deflate-raw'); return true; } catch (e) { return false; }
  })();

  async function deflatedSize(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'));
    return (await new Response(stream).arrayBuffer()).byteLength;
  }

  function estimateWire(bytes) {
    if (!compressing || !canEstimate) return;
    const raw = bytes.length;
    deflatedSize(bytes).then((z) => {
      /* A sender keeps whichever is smaller: compressed or as it is. */
      wire.raw += raw;
      wire.sent += Math.min(z, raw);
      const pct = wire.raw ? (100 * wire.sent) / wire.raw : 100;
      el.wirePct.textContent = pct < 1 ? pct.toFixed(2) : String(Math.round(pct));
      el.wirePct.dataset.value = String(pct);
    }, () => {});
  }

  function countReceived(bytes) {
    counts.recvMsgs += 1;
    counts.recvBytes += bytes;
    renderCounts();
  }

  /* ---- connection state -------------------------------------------------- */

  /* The one place the visible state and the enabled buttons change. */
  function setState(s) {
    el.state.dataset.state = s;
    el.state.textContent = STATE_TEXT[s];
    document.body.dataset.state = s;
    const open = s === 'open';
    el.send.disabled = !open;
    el.sendFile.disabled = !open;
    el.sendRandom.disabled = !open;
    el.chatSend.disabled = !(open && chat.active);
    el.disconnect.disabled = !(s === 'connecting' || s === 'open' || reconnectTimer !== 0);
  }

  /* Page at http(s)://host:port/... -> ws(s)://host:port/; from disk -> localhost:8080. */
  function defaultUrl() {
    const loc = window.location;
    if (loc.protocol === 'https:') return 'wss://' + loc.host + '/';
    if (loc.protocol === 'http:') return 'ws://' + loc.host + '/';
    return 'ws://localhost:8080';
  }

  /* "chat, superchat" -> ['chat', 'superchat']; the browser checks the names. */
  function protocolList(s) {
    return s.split(',').map((p) => p.trim()).filter((p) => p !== '');
  }

  /* Connect (or the page load): the fields say where; retries start afresh. */
  function connect() {
    target = { url: el.url.value.trim(), protocols: protocolList(el.protocols.value) };
    attempt = 0;
    el.negotiated.hidden = true;
    el.retryInfo.hidden = true;
    el.retryInfo.textContent = '';
    openSocket(target, 0);
  }

  /* Opens a socket to t; retry is the retry's number, 0 for Connect. */
  function openSocket(t, retry) {
    cancelReconnect();
    if (ws !== null) {
      /* Replace the old socket; its late events are ignored (see below). */
      const old = ws;
      ws = null;
      old.close(1000, 'reconnecting');
    }
    let sock;
    try {
      sock = new WebSocket(t.url, t.protocols);
    } catch (e) {
      /* SyntaxError: not a ws:// or wss:// URL, it has a #fragment, or a
       * subprotocol is not a token or is offered twice. */
      showCannotConnect(t, e);
      setState('closed');
      return;
    }
    sock.binaryType = 'arraybuffer';
    ws = sock;
    userClosed = false;
    pending = [];
    resetChat();
    setState('connecting');
    log((retry ? 'Retry ' + retry + ': connecting to ' : 'Connecting to ') + sock.url +
        (t.protocols.length ? ', offering subprotocols ' + t.protocols.join(', ') : ''));
    let opened = false;

    /*
     * Each handler first checks that its socket is still the current one:
     * after Connect replaces a socket, the old one may still fire close or
     * message events, and they must not touch the new connection's state.
     */
    sock.onopen = () => {
      if (sock !== ws) return;
      opened = true;
      attempt = 0;
      el.closeInfo.hidden = true;
      el.retryInfo.hidden = true;
      setState('open');
      showNegotiated(sock);
      log('Open: connected to ' + sock.url +
          (sock.protocol ? ', subprotocol ' + sock.protocol : '') +
          (sock.extensions ? ' (' + sock.extensions + ')' : ''), 'ok');
    };
    sock.onmessage = (ev) => {
      if (sock !== ws) return;
      receive(ev.data);
    };
    sock.onerror = () => {
      if (sock !== ws) return;
      /* Browsers deliberately hide the cause; the close event that follows
       * carries the code (usually 1006). */
      log('Error on the connection (details follow with the close code)', 'error');
    };
    sock.onclose = (ev) => {
      if (sock !== ws) return;
      ws = null;
      pending = [];
      /* A retry that never opened leaves the lost connection's details
       * where they are and reports itself on its own line. */
      if (retry && !opened) showRetryFailed(ev, retry, sock.url);
      else showClose(ev, { url: sock.url, opened: opened, protocols: t.protocols, stopped: userClosed });
      if (!userClosed) scheduleReconnect();
      setState('closed');
    };
  }

  function disconnect() {
    userClosed = true;
    cancelReconnect();
    if (ws !== null && ws.readyState <= WebSocket.OPEN) {
      /* RFC 6455 §7.4.1: 1000 is a normal closure; the reason is UTF-8 ≤ 123 bytes. */
      ws.close(1000, 'user clicked Disconnect');
      setState('closing');
      log('Closing (user clicked Disconnect)');
    } else {
      setState('closed');
    }
  }

  /* [name, meaning] for any code, by RFC 6455 §7.4.2's ranges where no code matches. */
  function describeClose(code) {
    if (CLOSE_CODES[code]) return CLOSE_CODES[code];
    if (code < 1000) return ['Not Used', 'RFC 6455 uses no codes below 1000'];
    if (code <= 2999) {
      return ['Reserved', 'kept for RFC 6455, its revisions and its extensions; no meaning is assigned to it yet'];
    }
    if (code <= 3999) {
      return ['Registered Range', 'a code that a library, framework or application registers with IANA; ' +
              'RFC 6455 does not define it: see the IANA WebSocket close code registry or the server\'s documentation'];
    }
    if (code <= 4999) {
      return ['Private Use', 'its meaning is whatever this server and its clients agreed on; ' +
              'RFC 6455 does not define it and such codes are never registered'];
    }
    return ['Invalid', 'outside the range of close codes (0-4999)'];
  }

  /*
   * 1006: no close frame. A browser never tells a page why a WebSocket
   * failed (so that pages cannot probe the network), so all the page can
   * do is list what usually causes it, narrowed by what it does know:
   * whether the connection ever opened and which subprotocols it offered.
   * Returns { lead, causes, after }.
   */
  function explain1006(c) {
    if (c.opened) {
      return {
        lead: 'The connection dropped without a close frame, and the browser does not tell the page why. Usual causes:',
        causes: [
          'the server process ended or was killed',
          'the network or a proxy cut the connection',
          'the browser failed the connection because the server broke the protocol (its developer console says so then)',
        ],
        after: '',
      };
    }
    const causes = [
      'the server is not reachable (not running, wrong host or port, or blocked)',
      'the server refused the handshake, e.g. its Origin check answered HTTP 403 because this page\'s Origin (' +
        window.location.origin + ') is not allowed (ws6455: --allow-origin)',
    ];
    if (c.protocols.length) {
      causes.push('the server selected none of the subprotocols offered (' + c.protocols.join(', ') +
                  '), and a browser fails such a connection (ws6455: --subprotocol)');
    }
    causes.push('TLS failed (wss: URLs)', 'the network dropped');
    return {
      lead: 'No WebSocket connection was made, and the browser does not tell the page why. Usual causes:',
      causes: causes,
      after: (c.protocols.length ? '' : 'No subprotocols were offered, so it is not a subprotocol mismatch. ') +
             'The server\'s log or the browser\'s developer console tells which.',
    };
  }

  /* How the lost connection (or Connect's attempt) ended; c says what the page knows. */
  function showClose(ev, c) {
    const [name, meaning] = describeClose(ev.code);
    let head;
    let more = null;
    if (!c.opened && c.stopped) {
      head = 'Connecting to ' + c.url + ' was stopped by Disconnect before it opened (code ' +
             ev.code + ' ' + name + ').';
    } else if (!c.opened && ev.code === 1006) {
      head = 'Could not connect to ' + c.url + ': code 1006 ' + name + '.';
      more = explain1006(c);
    } else {
      const reason = ev.reason ? '"' + ev.reason + '"' : 'none given';
      head = 'Closed with code ' + ev.code + ' ' + name + ' (' + meaning + '). Reason: ' +
             reason + '. ' + (ev.wasClean ? 'Clean close.' : 'Not a clean close.');
      if (ev.code === 1006) more = explain1006(c);
    }
    el.closeInfo.replaceChildren(make('span', head));
    let text = head;
    if (more) {
      const ul = make('ul');
      for (const cause of more.causes) ul.append(make('li', cause));
      el.closeInfo.append(' ', make('span', more.lead), ul);
      if (more.after) el.closeInfo.append(make('span', more.after));
      text += ' ' + more.lead + ' ' + more.causes.join('; ') + '.' + (more.after ? ' ' + more.after : '');
    }
    el.closeInfo.dataset.code = String(ev.code);
    el.closeInfo.hidden = false;
    log(text, ev.code === 1000 ? 'info' : 'error');
  }

  /* Connect could not even start: the browser refused the URL or the subprotocols. */
  function showCannotConnect(t, e) {
    const text = 'Cannot connect to "' + t.url + '"' +
                 (t.protocols.length ? ' offering ' + t.protocols.join(', ') : '') + ': ' + e.message;
    el.closeInfo.textContent = text;
    el.closeInfo.dataset.code = '';
    el.closeInfo.hidden = false;
    log(text, 'error');
  }

  function showRetryFailed(ev, retry, url) {
    const [name] = describeClose(ev.code);
    const why = userClosed ? 'stopped by Disconnect before it opened'
              : ev.code === 1006 ? 'no connection was made; the browser does not say why'
              : 'closed before it opened';
    const text = 'Retry ' + retry + ' to ' + url + ' failed at ' + clock().slice(0, 8) +
                 ': code ' + ev.code + ' ' + name + ' (' + why + ').';
    el.retryInfo.textContent = text;
    el.retryInfo.dataset.code = String(ev.code);
    el.retryInfo.dataset.retry = String(retry);
    el.retryInfo.hidden = false;
    log(text, 'error');
  }

  /* ---- reconnect with exponential back-off ------------------------------ */

  function scheduleReconnect() {
    const delay = Math.min(RECONNECT_MIN_MS * 2 ** attempt, RECONNECT_MAX_MS);
    attempt += 1;
    const retry = attempt;
    reconnectAt = performance.now() + delay;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = 0;
      openSocket(target, retry);
    }, delay);
    countdownTimer = setInterval(showCountdown, 100);
    showCountdown();
    log('Not connected; retry ' + attempt + ' to ' + target.url + ' in ' +
        (delay / 1000).toFixed(1) + ' s');
  }

  /* Says where the next retry goes, and that an edited field waits for Connect. */
  function showCountdown() {
    const left = Math.max(0, reconnectAt - performance.now());
    const offer = target.protocols.length ? ', offering ' + target.protocols.join(', ') + ',' : '';
    let text = 'Retry ' + attempt + ' to ' + target.url + offer + ' in ' +
               (left / 1000).toFixed(1) + ' s. Press Disconnect to stop.';
    const urlEdited = el.url.value.trim() !== target.url;
    const protoEdited = protocolList(el.protocols.value).join() !== target.protocols.join();
    const edited = urlEdited || protoEdited;
    if (edited) {
      text += ' The ' + (urlEdited && protoEdited ? 'URL and subprotocol fields were'
                         : urlEdited ? 'URL field was' : 'subprotocol field was') +
              ' edited: the edit applies when you press Connect.';
    }
    el.reconnect.textContent = text;
    el.reconnect.dataset.url = target.url;
    el.reconnect.dataset.edited = String(edited);
    el.reconnect.hidden = false;
  }

  function cancelReconnect() {
    if (reconnectTimer) clearTimeout(reconnectTimer);
    if (countdownTimer) clearInterval(countdownTimer);
    reconnectTimer = 0;
    countdownTimer = 0;
    el.reconnect.hidden = true;
    el.reconnect.textContent = '';
  }

  /* ---- sending ----------------------------------------------------------- */

  function sendText(text) {
    if (!isOpen()) return false;
    ws.send(text);
    estimateWire(encoder.encode(text));
    /* In chat mode replies are relays mixed with others' messages, so there
     * is no one-to-one echo to match. */
    if (!chat.active) pending.push({ at: performance.now(), text: text });
    countSent(utf8Length(text));
    return true;
  }

  function sendBytes(bytes, what) {
    if (!isOpen()) return;
    ws.send(bytes);
    estimateWire(bytes);
    if (!chat.active) pending.push({ at: performance.now(), bytes: bytes });
    countSent(bytes.length);
    log('Sent ' + what + ': ' + fmtInt(bytes.length) + ' bytes');
  }

  function randomBytes(n) {
    const out = new Uint8Array(n);
    /* getRandomValues fills at most 65536 bytes per call. */
    for (let off = 0; off < n; off += 65536)
      crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
    return out;
  }

  /* ---- receiving --------------------------------------------------------- */

  function receive(data) {
    const isText = typeof data === 'string';
    countReceived(isText ? utf8Length(data) : data.byteLength);

    /* A welcome turns this connection into a chat, unless it is merely the
     * echo of a welcome-looking text we sent ourselves. */
    if (!chat.active && isText && !(pending.length && pending[0].text === data)) {
      const m = parseJson(data);
      if (m && m.type === 'welcome') {
        chat.active = true;
        pending = [];
        setState('open');
        showEchoMode();
      }
    }
    if (chat.active) chatReceive(data);
    else echoReceive(data);
  }

  function echoReceive(data) {
    const sent = pending.shift();
    const rtt = sent ? performance.now() - sent.at : null;
    const li = make('li');
    const meta = [];
    if (rtt !== null) meta.push(fmtMs(rtt));

    if (typeof data === 'string') {
      const kind = replyKind(sent, data);
      li.className = data === '' ? 'in text empty' : 'in text';
      li.dataset.bytes = String(utf8Length(data));
      /* An empty message is a message too: say so rather than show nothing. */
      li.append(make('span', 'Received: ' + (data === '' ? EMPTY_TEXT : preview(data)), 'body'));
      if (data.length > PREVIEW_CHARS) meta.push(fmtInt(data.length) + ' chars');
      if (kind === 'said') meta.push('said reply: Server: You said "…" around what was sent');
      else if (sent && kind !== 'true') meta.push('differs from what was sent');
      li.dataset.match = kind;
    } else {
      const u8 = new Uint8Array(data);
      const kind = replyKind(sent, u8);
      li.className = u8.length ? 'in binary' : 'in binary empty';
      li.dataset.bytes = String(u8.length);
      li.dataset.match = kind;
      li.append(make('span', u8.length ? 'Received: [binary, ' + fmtInt(u8.length) + ' bytes] ' +
                     hexPreview(u8) : 'Received: [binary] ' + EMPTY_TEXT, 'body'));
      meta.push(kind === 'true' ? 'matches' : kind === 'said' ? 'said reply around the bytes sent' : 'differs');
      showBinaryResult(u8, rtt, kind, !!sent);
    }
    if (!sent) meta.push('unsolicited');
    if (rtt !== null) li.dataset.rtt = rtt.toFixed(3);
    li.append(' ', make('span', meta.join(' · '), 'meta'));
    addResponse(li);
    if (narrow.matches && sent && document.activeElement === el.message) revealReply(li);
  }

  /*
   * On a phone, after a send from the message box (focus still there), the
   * reply may be below the fold, or under the on-screen keyboard. Scroll the
   * page just enough to show it, a little clear of the edge, but never so
   * far that the message box leaves the top: the two stay in view together.
   * The visual viewport is the part the keyboard leaves visible.
   */
  function revealReply(li) {
    const vv = window.visualViewport;
    const viewTop = vv ? vv.offsetTop : 0;
    const viewBottom = vv ? vv.offsetTop + vv.height : window.innerHeight;
    const margin = 16;
    const r = li.getBoundingClientRect();
    const m = el.message.getBoundingClientRect();
    const need = r.bottom + margin - viewBottom;
    const room = m.top - margin - viewTop;
    if (need > 0) window.scrollBy(0, Math.min(need, Math.max(room, 0)));
  }

  function showBinaryResult(u8, rtt, kind, hadSend) {
    el.binarySize.textContent = fmtInt(u8.length) + ' bytes';
    el.binarySize.dataset.value = String(u8.length);
    el.binaryRtt.textContent = rtt === null ? '—' : fmtMs(rtt);
    el.binaryMatch.textContent = kind === 'true' ? 'Yes, byte for byte'
      : kind === 'said' ? 'Yes, as a said reply: Server: You said "…" around the bytes sent'
      : hadSend ? 'No, the echo differs' : 'Nothing was sent to compare';
    el.binaryMatch.dataset.match = kind;
    el.binaryMatch.className = kind === 'false' ? 'bad' : 'good';
    el.binaryHex.textContent = u8.length ? hexPreview(u8) : '(empty)';
    el.binaryResult.hidden = false;
  }

  /* ---- chat -------------------------------------------------------------- */

  function parseJson(s) {
    if (s.length === 0 || s[0] !== '{') return null;
    try {
      const m = JSON.parse(s);
      return m !== null && typeof m === 'object' && typeof m.type === 'string' ? m : null;
    } catch (e) {
      return null;
    }
  }

  /* Ids and counts come from the network: accept only plain non-negative integers. */
  function num(v) {
    return Number.isSafeInteger(v) && v >= 0 ? v : null;
  }

  function nickOf(v) {
    return typeof v === 'string' && v.length > 0 ? v.slice(0, MAX_NICK) : '?';
  }

  function who(id) {
    const nick = chat.nicks.get(id);
    return nick !== undefined ? nick + ' (#' + id + ')' : '#' + id;
  }

  /* The Echo tab says plainly when the server is a chat room, not an echo. */
  function showEchoMode() {
    el.echoNote.hidden = !chat.active;
    el.responses.dataset.mode = chat.active ? 'chat' : 'echo';
  }

  function resetChat() {
    chat.active = false;
    showEchoMode();
    chat.myId = null;
    chat.nicks.clear();
    chat.sentAt = [];
    chat.announced = null;
    chat.binaryFrom = null;
    el.chatIdWrap.hidden = true;
    el.chatNote.hidden = false;
  }

  function setOnline(v) {
    const n = num(v);
    if (n !== null) el.chatOnline.textContent = String(n);
  }

  function chatLine(parts, cls) {
    const li = make('li', undefined, cls);
    li.append(make('time', clock()), ' ');
    for (const p of parts) li.append(p);
    append(el.chatMessages, li);
    return li;
  }

  /* The nick the field asks for, if it is one the server accepts
   * (1-24 of A-Z a-z 0-9 _ - .); '' otherwise. */
  function wantedNick() {
    const v = el.chatNick.value.trim();
    return /^[A-Za-z0-9_.-]{1,24}$/.test(v) ? v : '';
  }

  /* Ask the server for the nick in the field ("/nick NAME"); the server
   * answers everyone with a nick event, which is what changes the name. */
  function sendNick() {
    const nick = wantedNick();
    if (!chat.active || chat.myId === null) return;
    if (!nick) {
      if (el.chatNick.value.trim()) log('A nick is 1 to 24 of A-Z a-z 0-9 _ - .', 'error');
      return;
    }
    if (nick === chat.nicks.get(chat.myId) || nick === chat.announced) return;
    if (sendText('/nick ' + nick)) chat.announced = nick;
  }

  function chatReceive(data) {
    if (typeof data !== 'string') {
      const u8 = new Uint8Array(data);
      const from = chat.binaryFrom;
      chat.binaryFrom = null;
      const parts = [];
      if (from !== null) parts.push(make('b', who(from), 'nick'), ': ');
      parts.push(make('span', '[binary, ' + fmtInt(u8.length) + ' bytes] ' + hexPreview(u8)));
      chatLine(parts, from !== null ? 'msg binary' : 'raw');
      return;
    }
    const m = parseJson(data);
    const id = m ? num(m.id) : null;
    if (m === null || (id === null && m.type !== 'error')) {
      /* Not the room's protocol: show it as is. */
      chatLine([make('span', preview(data))], 'raw');
      return;
    }
    /* Every event names the member by the server's id and nick. */
    if (id !== null && typeof m.nick === 'string') chat.nicks.set(id, nickOf(m.nick));
    switch (m.type) {
      case 'welcome':
        chat.myId = id;
        setOnline(m.online);
        el.chatId.textContent = String(id);
        el.chatIdWrap.hidden = false;
        el.chatNote.hidden = true;
        chatLine([make('span', 'Welcome! You are ' + who(id) + '; ' + el.chatOnline.textContent +
                       ' online.')], 'event');
        selectTab('chat', false);
        log('Chat server welcomed us as #' + id, 'ok');
        if (wantedNick()) sendNick();
        else el.chatNick.value = nickOf(m.nick);
        break;
      case 'join':
        setOnline(m.online);
        chatLine([make('span', who(id) + ' joined · ' + el.chatOnline.textContent + ' online')],
                 'event join');
        break;
      case 'leave':
        setOnline(m.online);
        chatLine([make('span', who(id) + ' left · ' + el.chatOnline.textContent + ' online')],
                 'event leave');
        chat.nicks.delete(id);
        break;
      case 'nick': {
        const old = nickOf(m.old);
        const text = id === chat.myId ? 'You are now known as ' + who(id)
                                      : old + ' is now ' + who(id);
        if (id === chat.myId) el.chatNick.value = nickOf(m.nick);
        chatLine([make('span', text)], 'event nick');
        break;
      }
      case 'msg': {
        const text = typeof m.text === 'string' ? m.text : String(m.text);
        const mine = id === chat.myId;
        const parts = [make('b', who(id), 'nick'), ': ',
                       make('span', text === '' ? EMPTY_TEXT : preview(text), text === '' ? 'text empty' : 'text')];
        if (mine && chat.sentAt.length) {
          parts.push(' ', make('span', fmtMs(performance.now() - chat.sentAt.shift()), 'meta'));
        }
        const li = chatLine(parts, mine ? 'msg mine' : 'msg');
        li.dataset.id = String(id);
        break;
      }
      case 'binary':
        /* The binary message that follows is this member's. */
        chat.binaryFrom = id;
        break;
      case 'error':
        chatLine([make('span', typeof m.text === 'string' ? m.text : 'error')], 'event error');
        chat.announced = null;
        break;
      default:
        chatLine([make('span', preview(data))], 'raw');
    }
  }

  /* ---- tabs (WAI-ARIA tabs pattern: arrows move, Tab leaves) ------------ */

  function selectTab(name, focus) {
    const chatOn = name === 'chat';
    el.tabEcho.setAttribute('aria-selected', String(!chatOn));
    el.tabChat.setAttribute('aria-selected', String(chatOn));
    el.tabEcho.tabIndex = chatOn ? -1 : 0;
    el.tabChat.tabIndex = chatOn ? 0 : -1;
    el.panelEcho.hidden = chatOn;
    el.panelChat.hidden = !chatOn;
    if (focus) (chatOn ? el.tabChat : el.tabEcho).focus();
  }

  function onTabKey(ev) {
    const keys = { ArrowLeft: 'echo', ArrowRight: 'chat', Home: 'echo', End: 'chat' };
    if (!(ev.key in keys)) return;
    ev.preventDefault();
    selectTab(keys[ev.key], true);
  }

  /* ---- wiring ------------------------------------------------------------ */

  el.connForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    connect();
  });
  el.disconnect.addEventListener('click', disconnect);

  /* A form's submit event is what makes Enter in the text box send. */
  el.sendForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (sendText(el.message.value)) el.message.value = '';
    el.message.focus();
  });

  el.sendFile.addEventListener('click', async () => {
    const f = el.file.files && el.file.files[0];
    if (!f) {
      log('Choose a file first', 'error');
      el.file.focus();
      return;
    }
    const bytes = new Uint8Array(await f.arrayBuffer());
    sendBytes(bytes, 'file "' + f.name + '"');
  });

  el.randomForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Number(el.randomBytes.value);
    if (!Number.isInteger(n) || n < 0 || n > MAX_RANDOM) {
      log('Random bytes: enter a whole number from 0 to ' + fmtInt(MAX_RANDOM), 'error');
      el.randomBytes.focus();
      return;
    }
    sendBytes(randomBytes(n), 'random bytes');
  });

  el.clear.addEventListener('click', () => {
    el.responses.replaceChildren();
    el.log.replaceChildren();
    el.binaryResult.hidden = true;
    counts.sentMsgs = counts.sentBytes = counts.recvMsgs = counts.recvBytes = 0;
    wire.raw = wire.sent = 0;
    el.wirePct.textContent = '100';
    renderCounts();
  });

  el.tabEcho.addEventListener('click', () => selectTab('echo', false));
  el.tabChat.addEventListener('click', () => selectTab('chat', false));
  el.tabEcho.addEventListener('keydown', onTabKey);
  el.tabChat.addEventListener('keydown', onTabKey);

  /* Ask for the nick on Enter, and when the field loses focus after an
   * edit (change); sendNick skips the nick we already have. */
  el.chatNick.addEventListener('change', sendNick);
  el.chatNick.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') sendNick();
  });

  /* A message is plain text: the server wraps it in an event that carries
   * our id and nick (a text starting "/nick " would change the nick, so
   * such a text is sent with a leading space). */
  el.chatForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let text = el.chatInput.value;
    if (!text || !chat.active || chat.myId === null) return;
    if (text.startsWith('/nick ')) text = ' ' + text;
    if (sendText(text)) {
      chat.sentAt.push(performance.now());
      el.chatInput.value = '';
    }
    el.chatInput.focus();
  });

  /* ---- start ------------------------------------------------------------- */

  narrow.addEventListener('change', orderResponses);
  orderResponses();

  el.url.value = defaultUrl();
  renderCounts();
  setState('closed');
  connect();
})();
