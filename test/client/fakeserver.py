"""fakeserver.py -- a WebSocket server that misbehaves on purpose, to test
the client side of RFC 6455 (examples/minimal-client.c, docs/client-side.md).

One FakeServer serves one connection on 127.0.0.1, on a port the kernel
chooses, in a thread, in one of these modes:

  good          a correct answer (its header names and values in unusual
                but allowed case, Connection as a token list), a ping
                before anything else, then every text message echoed in
                two fragments with a ping between them (§5.4, §5.5.2),
                and the close handshake, TCP closed by the server (§7.1.1)
  bad-accept    101 with the Sec-WebSocket-Accept of another key (§4.1)
  status-200    HTTP/1.1 200 OK instead of 101
  no-upgrade    101 without Upgrade
  no-connection 101 without Connection
  extension     101 naming permessage-deflate, which was not asked for
  subprotocol   101 naming a subprotocol, which was not asked for
  masked        a correct 101, then a masked text frame (§5.1)
  close-first   a correct 101, then a close frame 1001 "going away"
  close-1005    a correct 101, then a close frame with code 1005, which
                §7.4.1 says must never be sent
  custom        the answer head given as head= (lines joined by " | ", the
                placeholder ACCEPT standing for the right accept value and
                RAWACCEPT for the one computed, wrongly, from the key's 16
                decoded bytes), then as good

It checks what the client sends: the request (§4.1: GET, Host, Upgrade,
Connection, a key of 16 random bytes in base64, version 13) and every
frame (masked, a fresh key each time, §5.3). What it saw is in
.notes (facts, e.g. "pong ok") and .errors (what the client did wrong).
Every wait is bounded by a socket timeout, and the thread ends by itself.
Python standard library only.
"""

import base64
import hashlib
import os
import socket
import struct
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MODES = ("good", "bad-accept", "status-200", "no-upgrade", "no-connection", "extension",
         "subprotocol", "masked", "close-first", "close-1005", "custom")


def accept_value(key):
    """RFC 6455 §4.2.2: base64(SHA-1(key + GUID)), the key as text."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


class Closed(Exception):
    pass


class FakeServer:
    def __init__(self, mode, timeout=5.0, head=None):
        assert mode in MODES, mode
        assert (mode == "custom") == (head is not None)
        self.mode = mode
        self.head = head
        self.notes = []
        self.errors = []
        self.masks = []
        self.close_code = None  # the code of the client's close frame
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.lsock.settimeout(timeout)
        self.timeout = timeout
        self.port = self.lsock.getsockname()[1]
        self.buf = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(self.timeout * 4)
        self.lsock.close()
        if self.thread.is_alive():
            self.errors.append("the fake server did not finish")

    # -- bytes ------------------------------------------------------------
    def _recv(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self, b0, payload, mask=None):
        n = len(payload)
        head = bytes([b0])
        mbit = 0x80 if mask else 0
        if n < 126:
            head += bytes([mbit | n])
        elif n < 65536:
            head += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mbit | 127]) + struct.pack("!Q", n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            head += mask
        return head + payload

    def _read_frame(self):
        """One frame from the client, which must be masked (§5.1, §5.3)."""
        b0, b1 = self._recv(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._recv(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._recv(8))[0]
        if not b1 & 0x80:
            self.errors.append("an unmasked frame from the client (§5.1)")
            return b0, self._recv(n)
        key = self._recv(4)
        self.masks.append(key)
        data = self._recv(n)
        return b0, bytes(b ^ key[i % 4] for i, b in enumerate(data))

    # -- the connection -----------------------------------------------------
    def _request(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed()
            self.buf += chunk
            if len(self.buf) > 8192:
                self.errors.append("a request head over 8 KiB")
                raise Closed()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if not lines[0].startswith(b"GET / HTTP/1.1"):
            self.errors.append("request line %r" % lines[0])
        for name, want in ((b"upgrade", b"websocket"), (b"sec-websocket-version", b"13")):
            if fields.get(name, b"").lower() != want:
                self.errors.append("%s: %r" % (name.decode(), fields.get(name)))
        tokens = [t.strip().lower() for t in fields.get(b"connection", b"").split(b",")]
        if b"upgrade" not in tokens:
            self.errors.append("Connection: %r" % fields.get(b"connection"))
        if not fields.get(b"host", b"").startswith(b"127.0.0.1:"):
            self.errors.append("Host: %r" % fields.get(b"host"))
        key = fields.get(b"sec-websocket-key", b"")
        try:
            raw = base64.b64decode(key, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 16:
            self.errors.append("Sec-WebSocket-Key is not base64 of 16 bytes: %r" % key)
        self.notes.append("key " + key.decode("ascii", "replace"))
        return key

    def _answer(self, key):
        accept = accept_value(key)
        m = self.mode
        if m == "custom":
            raw = base64.b64encode(hashlib.sha1(base64.b64decode(key) + GUID).digest())
            head = self.head.replace("RAWACCEPT", raw.decode()).replace("ACCEPT", accept.decode())
            self.sock.sendall(head.replace(" | ", "\r\n").encode() + b"\r\n\r\n")
            return True
        if m == "status-200":
            body = b"not a WebSocket server\n"
            self.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            return False
        if m == "bad-accept":
            accept = accept_value(base64.b64encode(os.urandom(16)))
        lines = [b"HTTP/1.1 101 Switching Protocols"]
        if m != "no-upgrade":
            lines.append(b"UPGRADE: WebSocket" if m == "good" else b"Upgrade: websocket")
        if m != "no-connection":
            lines.append(b"connection: keep-alive, upgrade" if m == "good" else
                         b"Connection: Upgrade")
        lines.append(b"Sec-WebSocket-Accept: " + accept)
        if m == "extension":
            lines.append(b"Sec-WebSocket-Extensions: permessage-deflate")
        if m == "subprotocol":
            lines.append(b"Sec-WebSocket-Protocol: chat")
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        return m in ("good", "masked", "close-first", "close-1005")

    def _expect_close(self):
        """Frames until the client's close (others are noted)."""
        while True:
            b0, data = self._read_frame()
            op = b0 & 0x0F
            if op == 0x8:
                self.close_code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                return data
            # Pongs, and messages the client sent before it read ours.
            self.notes.append("frame 0x%02x before the close" % b0)

    def _good(self):
        # §5.5.2: a ping before anything else; the pong must carry its payload.
        ping = b"are you there?"
        self.sock.sendall(self._frame(0x89, ping))
        while True:
            b0, data = self._read_frame()
            op = b0 & 0x0F
            if op == 0xA:
                self.notes.append("pong ok" if data == ping else "pong with %r" % data)
                continue
            if op == 0x8:
                self.close_code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                # §5.5.1: echo the code; §7.1.1: the server closes TCP first.
                self.sock.sendall(self._frame(0x88, data[:2]))
                return
            if b0 != 0x81:
                self.errors.append("first byte 0x%02x: the client sends text in one frame" % b0)
            # The echo in two fragments, a ping between them (§5.4, §5.5).
            half = len(data) // 2
            while half > 0 and (data[half] & 0xC0) == 0x80:
                half -= 1  # a whole character in each, not needed, but kind
            self.sock.sendall(self._frame(0x01, data[:half]) + self._frame(0x89, b"mid") +
                              self._frame(0x80, data[half:]))

    def _run(self):
        try:
            self.sock, _ = self.lsock.accept()
        except OSError:
            self.errors.append("no client came")
            return
        self.sock.settimeout(self.timeout)
        try:
            key = self._request()
            if not self._answer(key):
                # The client must not go on: nothing more, then its FIN.
                try:
                    extra = self.sock.recv(1)
                    if extra:
                        self.errors.append("the client sent bytes after a failed handshake")
                except socket.timeout:
                    self.errors.append("the client did not close after a failed handshake")
                return
            if self.mode in ("good", "custom"):
                self._good()
            elif self.mode == "masked":
                self.sock.sendall(self._frame(0x81, b"Hello", mask=b"\x37\xfa\x21\x3d"))
                self._expect_close()
            elif self.mode == "close-first":
                self.sock.sendall(self._frame(0x88, b"\x03\xe9going away"))
                self._expect_close()
            elif self.mode == "close-1005":
                self.sock.sendall(self._frame(0x88, b"\x03\xed"))
                self._expect_close()
            if len(set(self.masks)) != len(self.masks):
                self.errors.append("a masking key was used twice (§5.3: a new one per frame)")
            self.notes.append("%d frames, %d masking keys" %
                              (len(self.masks), len(set(self.masks))))
        except Closed:
            self.errors.append("the client closed early")
        except socket.timeout:
            self.errors.append("timed out waiting for the client")
        except OSError as e:
            self.errors.append("socket error: %s" % e)
        finally:
            self.sock.close()
