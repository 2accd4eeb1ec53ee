#!/usr/bin/env python3
"""minimal-session.py -- the session of docs/minimal.md, played against a
WebSocket echo server on 127.0.0.1: build/examples/minimal-echo, or
build/ws6455, which sends the same frames except that its close frames
carry a reason after the code, and its 426 a body. Standard library only.

    build/examples/minimal-echo 9001 &
    python3 examples/minimal-session.py 9001

Each step prints what the server sent back: the handshake's response as
text, frames as hex bytes, b'' for the server's FIN (end of file).
"""
import socket
import sys
import time

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
# RFC 6455 §1.3: the example request, and §5.7: the example masking key.
REQUEST = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n")
KEY = bytes.fromhex("37fa213d")


def frame(opcode, payload, fin=True, length=None):
    """A client frame (§5.2), masked with KEY (§5.3). length, if given, is
    the length the header announces, whatever payload holds."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


def connect(request=REQUEST):
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(2)
    s.sendall(request)
    return s


def reply(s):
    time.sleep(0.2)  # long enough for every reply to arrive on loopback
    return s.recv(65536)


print("1. the handshake")
s = connect()
print(reply(s).decode())
print('2. the masked "Hello" of §5.7')
s.sendall(bytes.fromhex("818537fa213d7f9f4d5158"))
print(reply(s).hex(" "))
print("3. 256 bytes of binary")
s.sendall(frame(0x2, bytes(range(256))))
r = reply(s)
print(r[:6].hex(" "), "...", len(r), "bytes")
print('4. "Hel", a ping "hi", "lo"')
s.sendall(frame(0x1, b"Hel", fin=False) + frame(0x9, b"hi") + frame(0x0, b"lo"))
print(reply(s).hex(" "))
print("5. close 1000")
s.sendall(frame(0x8, (1000).to_bytes(2, "big")))
print(reply(s).hex(" "), s.recv(100))
print('6. text that announces 1000 bytes, and sends "ab" and FF')
s = connect()
reply(s)
s.sendall(frame(0x1, b"ab\xff", length=1000))
print(reply(s).hex(" "), s.recv(100))
print("7. an unmasked frame")
s = connect()
reply(s)
s.sendall(bytes.fromhex("810548656c6c6f"))
print(reply(s).hex(" "), s.recv(100))
print("8. version 8")
s = connect(REQUEST.replace(b"Version: 13", b"Version: 8"))
print(reply(s).decode())
