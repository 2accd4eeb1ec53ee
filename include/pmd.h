/*
 * pmd.h -- permessage-deflate negotiation (RFC 7692 §5, §7.1): reading a
 * client's Sec-WebSocket-Extensions offers, agreeing on parameters, and
 * writing the response.
 *
 * The offers are read by a push parser, like the HTTP parser it sits in:
 * the bytes of each Sec-WebSocket-Extensions header value are fed as they
 * arrive, in any split, and the parser keeps only what it needs (about a
 * dozen bytes): the first permessage-deflate offer that is acceptable. An
 * offer is declined -- skipped, and the next one considered -- when it has
 * a parameter RFC 7692 does not define for an offer, a parameter twice, a
 * value that is not allowed (server_max_window_bits must be 8..15,
 * client_max_window_bits empty or 8..15, the no_context_takeover ones
 * valueless), or when the element is not well-formed (RFC 6455 §9.1). Other
 * extensions are skipped. None of this is an error of the request: a
 * declined offer is simply not in the response (RFC 7692 §5).
 */
#ifndef WS_PMD_H
#define WS_PMD_H

#include <stddef.h>
#include <stdint.h>

/* One permessage-deflate offer's parameters (RFC 7692 §7.1). */
typedef struct ws_pmd_offer {
    uint8_t server_no_context_takeover; /* 0 or 1 */
    uint8_t client_no_context_takeover; /* 0 or 1 */
    uint8_t server_max_window_bits;     /* 0: absent; 8..15 */
    uint8_t client_max_window_bits;     /* 0: absent; 1: present without a
                                           value; 8..15 */
} ws_pmd_offer;

/* The agreed parameters of a connection ("agreed parameters", §7). */
typedef struct ws_pmd_params {
    uint8_t server_no_context_takeover; /* we reset our compressor per message */
    uint8_t client_no_context_takeover; /* the client resets its compressor:
                                           our decompressor needs no window
                                           between messages */
    uint8_t server_window_bits;         /* 8..15: our compressor's window */
    uint8_t client_window_bits;         /* 8..15: the client's window, so
                                           our decompressor's */
    uint8_t server_bits_in_response;    /* write server_max_window_bits */
    uint8_t client_bits_in_response;    /* write client_max_window_bits */
} ws_pmd_params;

/* What the server is willing to do. */
typedef struct ws_pmd_policy {
    int no_context_takeover;     /* 1: ask both directions to reset per message
                                    (no window kept between messages: the
                                    "shared" memory mode); 0: context takeover
                                    unless the client asks otherwise */
    unsigned server_window_bits; /* the largest window we compress with, 8..15 */
    unsigned client_window_bits; /* the largest window we agree to inflate
                                    with, 8..15; below 15 only if the client
                                    can limit its own (it offered
                                    client_max_window_bits) */
} ws_pmd_policy;

/* Parser state for the offers of one request. */
typedef struct ws_pmd_parser {
    uint8_t state;       /* where in the grammar the next byte goes */
    uint8_t name_match;  /* bytes of "permessage-deflate" matched so far */
    uint8_t name_ok;     /* the element's name is permessage-deflate */
    uint8_t bad;         /* the element is declined */
    uint8_t param;       /* which parameter is being read */
    uint8_t param_match; /* bytes of a candidate parameter name matched */
    uint8_t param_cands; /* bit set of parameter names still possible */
    uint8_t seen;        /* bit set of parameters seen in this element */
    uint8_t value_len;   /* digits of the value so far */
    uint8_t value;       /* the value so far (up to 3 digits) */
    uint8_t has_value;   /* the parameter has "=" */
    ws_pmd_offer cur;    /* the element being read */
    ws_pmd_offer accepted;
    uint8_t found;  /* accepted holds the first acceptable offer */
    uint8_t offers; /* permessage-deflate elements seen (up to 255) */
} ws_pmd_parser;

void ws_pmd_parser_init(ws_pmd_parser *p);

/* The start of one Sec-WebSocket-Extensions header's value (a request may
 * have several; their elements form one list, RFC 9110 §5.3). */
void ws_pmd_header_begin(ws_pmd_parser *p);

/* Feed bytes of that value (any split). Never fails: a malformed element
 * is declined. */
void ws_pmd_feed(ws_pmd_parser *p, const uint8_t *buf, size_t len);

/* The header's value ended. */
void ws_pmd_header_end(ws_pmd_parser *p);

/* 1 and *offer set if an acceptable permessage-deflate offer was seen (the
 * first such, in the client's order of preference), else 0. */
int ws_pmd_offered(const ws_pmd_parser *p, ws_pmd_offer *offer);

/* RFC 7692 §7.1: the agreed parameters for an acceptable offer under the
 * server's policy. Always succeeds for an offer the parser accepted. */
void ws_pmd_agree(const ws_pmd_offer *offer, const ws_pmd_policy *policy, ws_pmd_params *out);

/* Write the response's header line "Sec-WebSocket-Extensions:
 * permessage-deflate; ...\r\n" into out (cap bytes). Returns its length or
 * -1 if it does not fit. */
int ws_pmd_write_response(const ws_pmd_params *agreed, char *out, size_t cap);

#endif /* WS_PMD_H */
