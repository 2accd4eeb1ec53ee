#!/usr/bin/env python3
"""Write the seed corpora in test/fuzz/corpus/<target>/.

The seeds are small, valid or nearly valid inputs that get each fuzzer
past the first bytes quickly: the RFC 6455 §1.3 handshake, the §5.7 example
frames, some UTF-8 text, a few client streams. Each target reads its first
byte(s) as parameters (see the target's comment), so every seed starts with
them. Run from the repository root:  python3 test/fuzz/make_corpus.py
The output is deterministic; the files are checked in.
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# Cut-pattern byte (fuzz_common.h): low 3 bits pick the largest piece.
WHOLE, BYTEWISE, SMALL, MEDIUM, LARGE = 0x07, 0x00, 0x13, 0x25, 0x06


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def mask(payload, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload, fin=True, key=None):
    """A frame as RFC 6455 §5.2 lays it out; masked when key is given."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    m = 0x80 if key is not None else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if key is None:
        return head + payload
    return head + bytes(key) + mask(payload, key)


KEY = b"\x37\xfa\x21\x3d"


def http_seeds():
    rfc = (b"GET /chat HTTP/1.1\r\n"
           b"Host: server.example.com\r\n"
           b"Upgrade: websocket\r\n"
           b"Connection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\n"
           b"Sec-WebSocket-Protocol: chat, superchat\r\n"
           b"Sec-WebSocket-Version: 13\r\n"
           b"\r\n")
    full = 0xff  # the default 8192-byte head limit
    write("http", "rfc6455_handshake", bytes([WHOLE, full]) + rfc)
    write("http", "rfc6455_handshake_bytewise", bytes([BYTEWISE, full]) + rfc)
    write("http", "handshake_then_frame",
          bytes([SMALL, full]) + rfc + frame(1, b"Hello", key=KEY))
    write("http", "plain_get", bytes([MEDIUM, full]) +
          b"GET / HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\n\r\n")
    write("http", "head_bare_lf", bytes([SMALL, full]) +
          b"HEAD /index.html HTTP/1.0\nHost: x\n\n")
    write("http", "post_with_body", bytes([WHOLE, full]) +
          b"POST /chat HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    write("http", "lists_and_proxy", bytes([MEDIUM, full]) +
          b"GET /chat?room=1 HTTP/1.1\r\nHost: a\r\n"
          b"Connection: keep-alive, Upgrade\r\nUpgrade: foo/1, WebSocket\r\n"
          b"X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\n"
          b"Sec-WebSocket-Key:   AQIDBAUGBwgJCgsMDQ4PEA==  \r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
    write("http", "version_8", bytes([WHOLE, full]) +
          b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    write("http", "http2_version", bytes([WHOLE, full]) + b"GET / HTTP/2.0\r\n\r\n")
    write("http", "obs_fold", bytes([WHOLE, full]) +
          b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n")
    write("http", "small_limit", bytes([BYTEWISE, 0x01]) + rfc)


def frame_seeds():
    # RFC 6455 §5.7, byte for byte.
    write("frame", "rfc_unmasked_hello", bytes([WHOLE]) + bytes.fromhex("810548656c6c6f"))
    write("frame", "rfc_masked_hello",
          bytes([BYTEWISE]) + bytes.fromhex("818537fa213d7f9f4d5158"))
    write("frame", "rfc_fragmented",
          bytes([SMALL]) + bytes.fromhex("010348656c") + bytes.fromhex("80026c6f"))
    write("frame", "rfc_ping_pong", bytes([MEDIUM]) + bytes.fromhex("890548656c6c6f") +
          bytes.fromhex("8a8537fa213d7f9f4d5158"))
    write("frame", "rfc_binary_256",
          bytes([MEDIUM]) + bytes.fromhex("827e0100") + bytes(range(256)))
    write("frame", "rfc_binary_64k_head",
          bytes([SMALL]) + bytes.fromhex("827f0000000000010000") + b"\x00" * 64)
    write("frame", "masked_sequence", bytes([SMALL]) +
          frame(1, b"Hel", fin=False, key=KEY) + frame(9, b"", key=KEY) +
          frame(0, b"lo", key=KEY) + frame(8, b"\x03\xe8bye", key=KEY))
    write("frame", "masked_126", bytes([MEDIUM]) + frame(2, bytes(200), key=KEY))
    # Long enough that a cut leaves a long chunk at an odd key offset.
    write("frame", "masked_long", bytes([LARGE]) + frame(2, bytes(range(256)) * 6, key=KEY))
    write("frame", "nonminimal_64", bytes([BYTEWISE]) + bytes.fromhex("82ff000000000000007e") + KEY)
    write("frame", "reserved_bits", bytes([WHOLE]) + bytes.fromhex("c18537fa213d"))


def utf8_seeds():
    samples = {
        "ascii": b"Hello, world! " * 4,
        "greek": "κόσμε".encode(),
        "mixed": "a é € 😀 ok 中文 ".encode() * 3,
        "max_scalar": "\U0010ffff\ud7ff\ue000\uffff".encode("utf-8", "surrogatepass"),
        "overlong_slash": b"ab\xc0\xafcd",
        "overlong_3": b"\xe0\x80\xaf",
        "surrogate": b"x\xed\xa0\x80y",
        "too_big": b"\xf4\x90\x80\x80",
        "truncated": b"ok\xe2\x82",
        "lone_continuation": b"\x80\xbf",
        "f5_ff": b"\xf5\xff",
    }
    cuts = [WHOLE, BYTEWISE, SMALL, MEDIUM]
    for i, (name, data) in enumerate(sorted(samples.items())):
        write("utf8", name, bytes([cuts[i % len(cuts)]]) + data)


def proto_seeds():
    # Header: max_message index (0..15, see fuzz_proto.c), max_fragments
    # (0..7), cut pattern. Index 15 = 16 MiB, 12 = 1000, 8 = 125.
    big, k1000, k125 = 15, 12, 8
    write("proto", "rfc_masked_hello",
          bytes([big, 0, WHOLE]) + bytes.fromhex("818537fa213d7f9f4d5158"))
    write("proto", "fragments_and_ping", bytes([big, 0, SMALL]) +
          frame(1, b"Hel", fin=False, key=KEY) + frame(9, b"ping", key=KEY) +
          frame(0, b"l", fin=False, key=KEY) + frame(10, b"", key=KEY) +
          frame(0, b"o", key=KEY))
    write("proto", "text_utf8_split", bytes([big, 3, BYTEWISE]) +
          frame(1, "caf\u00e9 ".encode()[:4], fin=False, key=KEY) +
          frame(0, "caf\u00e9 ".encode()[4:], key=b"\x01\x02\x03\x04"))
    write("proto", "close_normal", bytes([big, 0, MEDIUM]) +
          frame(2, bytes(130), key=KEY) + frame(8, b"\x03\xe8bye", key=KEY) +
          frame(1, b"after", key=KEY))
    write("proto", "long_binary", bytes([big, 0, LARGE]) +
          frame(2, bytes(range(256)) * 6, key=KEY) + frame(1, b"x" * 1000, key=KEY))
    write("proto", "close_bad_code", bytes([big, 0, WHOLE]) + frame(8, b"\x03\xed", key=KEY))
    write("proto", "close_one_byte", bytes([big, 0, WHOLE]) + frame(8, b"\x03", key=KEY))
    write("proto", "bad_utf8", bytes([big, 0, SMALL]) + frame(1, b"ab\xc0\xafcd", key=KEY))
    write("proto", "too_big", bytes([k125, 0, WHOLE]) + frame(2, bytes(126), key=KEY))
    write("proto", "too_many_fragments", bytes([k1000, 2, SMALL]) +
          frame(2, b"a", fin=False, key=KEY) + frame(0, b"b", fin=False, key=KEY) +
          frame(0, b"c", key=KEY))
    write("proto", "continuation_first", bytes([big, 0, WHOLE]) + frame(0, b"x", key=KEY))
    write("proto", "unmasked", bytes([big, 0, WHOLE]) + frame(1, b"Hello"))


def deflate_seeds():
    """fuzz_deflate: level, window|reset|expand, cut byte, output-size
    byte, plan seed, then the data (see the target's comment)."""
    text = (b"The licenses for most software and other practical works are "
            b"designed to take away your freedom to share and change the works. ")
    json = b"".join(b'{"id":%d,"user":"alice","text":"see you at %d","ts":%d}\n'
                    % (i, i % 24, 1700000000 + 37 * i) for i in range(40))
    rnd = bytes((i * 2654435761 >> 13) & 0xff for i in range(1500))
    runs = b"a" * 300 + b"b" * 5 + b"\x00" * 700 + b"ab" * 200
    seeds = [
        ("hello_fast", bytes([1, 0x07, WHOLE, 6, 0]) + b"Hello"),
        ("hello_stored", bytes([0, 0x07, BYTEWISE, 0, 1]) + b"Hello"),
        ("text_default", bytes([6, 0x07, MEDIUM, 3, 2]) + text * 4),
        ("text_best_w8", bytes([9, 0x00, SMALL, 1, 3]) + text * 4),
        ("json_takeover", bytes([1, 0x07, LARGE, 5, 4]) + json),
        ("json_reset", bytes([6, 0x0f, SMALL, 2, 5]) + json),
        ("random", bytes([6, 0x05, MEDIUM, 4, 6]) + rnd),
        ("runs_w9", bytes([4, 0x01, WHOLE, 0, 7]) + runs),
        ("expand_text_w8", bytes([1, 0x80, LARGE, 6, 8]) + text),
        ("expand_json_w15", bytes([6, 0xf7, MEDIUM, 7, 9]) + json[:500]),
        ("expand_random", bytes([3, 0x4a, LARGE, 3, 10]) + rnd[:700]),
        ("empty", bytes([6, 0x07, WHOLE, 0, 11])),
    ]
    for name, data in seeds:
        write("deflate", name, data)


if __name__ == "__main__":
    http_seeds()
    frame_seeds()
    utf8_seeds()
    proto_seeds()
    deflate_seeds()
