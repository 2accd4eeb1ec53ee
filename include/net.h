/*
 * net.h -- addresses and listening sockets.
 *
 * Address ranges (CIDR, RFC 4632 for IPv4 and RFC 4291 §2.3 for IPv6) for
 * --trust-proxy, the check that an X-Forwarded-For value is an address at
 * all, printing a peer's address, and opening the listening socket(s).
 */
#ifndef WS_NET_H
#define WS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One address range: the first prefix bits of addr. IPv4 ranges are kept
 * as IPv4 (family AF_INET, addr[0..4)); an IPv4-mapped IPv6 peer
 * (::ffff:a.b.c.d, what a socket listening on "::" sees) matches them. */
typedef struct ws_cidr {
    int family;      /* AF_INET or AF_INET6 */
    unsigned prefix; /* 0..32 or 0..128 */
    uint8_t addr[16];
} ws_cidr;

/* Parse "127.0.0.0/8,::1,10.1.2.3" (addresses with an optional /prefix,
 * separated by commas, no spaces) into at most cap ranges. An address
 * without a prefix is the one address. Bits set past the prefix are an
 * error (10.0.0.1/8 is most likely a typo). Returns the number of ranges,
 * or -1 with a sentence in err. An empty or NULL list gives 0. */
int ws_cidr_parse_list(const char *list, ws_cidr *out, size_t cap, char *err, size_t errcap);

/* Is the address of sa (AF_INET or AF_INET6) in one of the n ranges? */
int ws_cidr_match(const ws_cidr *set, size_t n, const struct sockaddr *sa);

/* Is text, exactly, an IPv4 or IPv6 address (inet_pton's syntax)? Used to
 * believe an X-Forwarded-For value only when it is one. */
int ws_ip_valid(const char *text);

/* "127.0.0.1:5012" or "[::1]:5012"; "?" for other families. */
void ws_addr_format(const struct sockaddr *sa, char *out, size_t cap);

/* Room for the longest text ws_addr_format() writes. */
#define WS_ADDR_TEXT 56

/* Check that host is a numeric address this machine can listen on (no
 * name lookups: a server should not depend on DNS to start). Returns 0, or
 * -1 with a sentence in err. */
int ws_listen_check_host(const char *host, char *err, size_t errcap);

/* Open n listening sockets on host:port (port 0: one free port, the same
 * for all n), non-blocking and close-on-exec, into fds[0..n). With n > 1
 * they share the port with SO_REUSEPORT, and the kernel spreads new
 * connections over them.
 *
 * Before that, the port is bound once without SO_REUSEPORT: if anything
 * (another ws6455 included, which SO_REUSEPORT would otherwise let share
 * the port silently) listens on it already, this fails with EADDRINUSE.
 * Returns 0, or -1 with errno set and a sentence in err. */
int ws_listen_open(const char *host, unsigned port, int *fds, unsigned n, char *err, size_t errcap);

#endif /* WS_NET_H */
