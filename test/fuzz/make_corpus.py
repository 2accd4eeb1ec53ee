#!/usr/bin/env python3
"""Write the seed corpora in test/fuzz/corpus/<target>/.

The seeds are small, valid or nearly valid inputs that get each fuzzer
past the first bytes quickly: the RFC 6455 §1.3 handshake, the §5.7 example
frames, some UTF-8 text, a few client streams, DEFLATE streams made by
zlib and by hand (the RFC 7692 §7.2.3 examples among them; fixed seeds,
so the same zlib gives the same bytes). Each target reads its first
byte(s) as parameters (see the target's comment), so every seed starts with
them. Run from the repository root:  python3 test/fuzz/make_corpus.py
The output is deterministic; the files are checked in.
"""
import os
import random
import struct
import zlib

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


def deflate_raw(data, level=6, wbits=15, strategy=zlib.Z_DEFAULT_STRATEGY, flushes=(),
                finish=True):
    """Raw DEFLATE (RFC 1951) by zlib, with a sync flush at each offset."""
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits, 8, strategy)
    out, at = b"", 0
    for f in flushes:
        out += c.compress(data[at:f]) + c.flush(zlib.Z_SYNC_FLUSH)
        at = f
    out += c.compress(data[at:])
    return out + (c.flush() if finish else c.flush(zlib.Z_SYNC_FLUSH))


def chat(rng, n):
    """n JSON chat messages, as a permessage-deflate peer would send."""
    words = ["hello", "how", "are", "you", "the", "meeting", "is", "at", "noon",
             "ok", "see", "you", "there", "thanks", "ship", "it"]
    msgs = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(2, 12)))
        msgs.append(('{"type":"message","id":%d,"user":"%s","text":"%s"}'
                     % (1000 + i, rng.choice(["alice", "bob", "carol"]), text)).encode())
    return msgs


def inflate_seeds():
    # Header (fuzz_inflate.c): input cut, output cut, window/keep byte
    # (low 3 bits: window 2^(8+n); bit 3: keep history across streams).
    w15, w9, w8 = 7, 1, 0
    keep = 8
    rng = random.Random(1951)
    tail = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.2: appended by the receiver

    def put(name, cuts, window, stream):
        write("inflate", name, bytes([cuts[0], cuts[1], window]) + stream)

    # RFC 7692 §7.2.3 examples.
    put("rfc_hello", (WHOLE, WHOLE), w15, bytes.fromhex("f248cdc9c90700") + tail)
    put("rfc_hello_bytewise", (BYTEWISE, BYTEWISE), w15, bytes.fromhex("f248cdc9c90700") + tail)
    put("rfc_takeover", (SMALL, SMALL), w15,
        bytes.fromhex("f248cdc9c90700") + tail + bytes.fromhex("f200110000") + tail)
    put("rfc_stored", (SMALL, WHOLE), w15, bytes.fromhex("000500faff48656c6c6f00") + tail)
    put("rfc_bfinal", (BYTEWISE, SMALL), w15, bytes.fromhex("f348cdc9c9070000") + tail)
    put("rfc_two_blocks", (MEDIUM, SMALL), w15,
        bytes.fromhex("f248050000" "00ffff" "cac9c90700") + tail)

    text = b" ".join(rng.choice([b"the", b"quick", b"brown", b"fox", b"jumps", b"over",
                                 b"lazy", b"dog", b"deflate", b"window", b"of", b"a"])
                     for _ in range(1500))
    for level in (1, 6, 9):
        put("text_level%d" % level, (MEDIUM, LARGE), w15, deflate_raw(text[:6000], level))
    strategies = {"filtered": zlib.Z_FILTERED, "huffman": zlib.Z_HUFFMAN_ONLY,
                  "rle": zlib.Z_RLE, "fixed": zlib.Z_FIXED}
    for name, st in sorted(strategies.items()):
        put("text_" + name, (LARGE, MEDIUM), w15, deflate_raw(text[:3000], 6, 15, st))

    # Chat messages with sync flushes, as one stream (context takeover),
    # cut into the payloads a receiver sees plus the appended tails.
    msgs = chat(rng, 20)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = b""
    for m in msgs:
        payload = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        stream += payload[:-4] + tail
    put("chat_takeover", (SMALL, MEDIUM), w15, stream)

    # Small windows: a 2^9 stream decoded with windows 2^9 and 2^8.
    put("window9", (MEDIUM, SMALL), w9, deflate_raw(text[:4000], 6, 9))
    put("window9_as_8", (LARGE, LARGE), w8, deflate_raw(text[:4000], 9, 9))

    # Stored blocks: an empty final one; two with a fixed block between.
    put("stored_empty", (WHOLE, WHOLE), w15, bytes.fromhex("010000ffff"))
    put("stored_mixed", (BYTEWISE, MEDIUM), w15,
        bytes.fromhex("0003 00fcff 616263").replace(b" ", b"") +
        deflate_raw(b"abcabcabc", 6, 15, zlib.Z_FIXED, finish=False) +
        bytes.fromhex("010200fdff7879"))

    # Codes up to 15 bits: a skewed alphabet, Huffman only.
    skew = bytearray()
    for i in range(15):
        skew += bytes([i * 17 % 256]) * (1 << (12 - i) if i < 13 else 1)
    rng.shuffle(skew)
    put("long_codes", (MEDIUM, LARGE), w15, deflate_raw(bytes(skew), 9, 15, zlib.Z_HUFFMAN_ONLY))

    # A bomb: 3 MiB of zeros, more than the target's output limit.
    put("bomb", (WHOLE, WHOLE), w15, deflate_raw(bytes(3 << 20), 9))

    # Two streams back to back; the second refers back into the first
    # (with the keep bit) or cannot (without).
    first = deflate_raw(b"permessage-deflate context takeover", 6)
    c = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=b"permessage-deflate context takeover")
    second = c.compress(b"context takeover again") + c.flush()
    put("two_streams_keep", (SMALL, SMALL), w15 | keep, first + second)
    put("two_streams_forget", (SMALL, SMALL), w15, first + second)

    # Invalid: reserved BTYPE, NLEN not ~LEN, a distance before the start,
    # HLIT = 30 (287 codes).
    put("bad_btype", (WHOLE, WHOLE), w15, bytes.fromhex("07"))
    put("bad_nlen", (BYTEWISE, WHOLE), w15, bytes.fromhex("010500fbff") + b"hello")
    put("bad_distance", (WHOLE, SMALL), w15, bytes.fromhex("0302000000"))
    put("bad_hlit", (BYTEWISE, BYTEWISE), w15, bytes.fromhex("f5ff") + bytes(8))


def proto_deflate_seeds():
    """Records for fuzz_proto_deflate.c: b0, length (2 bytes, little
    endian), payload; after the header bytes (output size and no-context
    flag, cut pattern)."""
    def rec(b0, payload):
        return bytes([b0]) + struct.pack("<H", len(payload)) + payload

    def msg(data, c):
        z = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        assert z.endswith(b"\x00\x00\xff\xff")
        return z[:-4] or b"\x00"

    hello = bytes.fromhex("f248cdc9c90700")
    write("proto_deflate", "rfc_hello", bytes([0x0f, WHOLE]) + rec(0xc1, hello))
    write("proto_deflate", "rfc_fragments", bytes([0x0a, SMALL]) +
          rec(0x41, hello[:3]) + rec(0x89, b"p") + rec(0x80, hello[3:]))
    write("proto_deflate", "rfc_takeover", bytes([0x07, MEDIUM]) +
          rec(0xc1, hello) + rec(0xc1, bytes.fromhex("f200110000")))
    write("proto_deflate", "bfinal", bytes([0x0f, BYTEWISE]) +
          rec(0xc1, bytes.fromhex("f348cdc9c90700")))
    rng = random.Random(7692)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = b"".join(rec(0xc1, msg(m, c)) for m in chat(rng, 6))
    write("proto_deflate", "chat_takeover", bytes([0x05, LARGE]) + body)
    data = bytes(rng.randrange(256) for _ in range(3000))
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    z = msg(data, c)
    write("proto_deflate", "binary_parts", bytes([0x0c, SMALL]) +
          rec(0x42, z[:100]) + rec(0x00, z[100:200]) + rec(0x80, z[200:]))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    write("proto_deflate", "zeros_bomb", bytes([0x0f, WHOLE]) + rec(0xc2, msg(bytes(300000), c)))
    write("proto_deflate", "plain_and_close", bytes([0x0f, WHOLE]) +
          rec(0x81, b"plain") + rec(0x88, b"\x03\xe8"))


if __name__ == "__main__":
    proto_deflate_seeds()
    http_seeds()
    frame_seeds()
    utf8_seeds()
    proto_seeds()
    inflate_seeds()
    deflate_seeds()
