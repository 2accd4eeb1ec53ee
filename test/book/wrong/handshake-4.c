/* A wrong answer to (it hashes the decoded key) docs/handshake.md exercise 4: Sec-WebSocket-Accept
 * from the library's SHA-1 and base64 (RFC 6455 §4.2.2 item 5.4). */
#include "base64.h"
#include "sha1.h"

#include <string.h>

void my_accept(const char *key, char out[29]);

void my_accept(const char *key, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t digest[WS_SHA1_DIGEST_LEN];
    ws_sha1_ctx ctx;

    /* The key as the client sent it, its base64 text, not the 16 bytes it
     * decodes to; then the GUID. */
    uint8_t raw[16];
    ws_base64_decode(key, strlen(key), raw, sizeof(raw));
    ws_sha1_init(&ctx);
    ws_sha1_update(&ctx, raw, sizeof(raw));
    ws_sha1_update(&ctx, guid, sizeof(guid) - 1);
    ws_sha1_final(&ctx, digest);
    out[ws_base64_encode(digest, sizeof(digest), out)] = '\0';
}
