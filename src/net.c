/*
 * net.c -- addresses and listening sockets (net.h).
 *
 * Reference card:
 *
 *   CIDR notation (RFC 4632 §3.1, RFC 4291 §2.3): ADDRESS/PREFIX names the
 *   addresses whose first PREFIX bits equal ADDRESS's; 10.0.0.0/8 is
 *   10.0.0.0 - 10.255.255.255, ::1/128 is the IPv6 loopback alone.
 *
 *   IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2): ::ffff:a.b.c.d is how
 *   an IPv6 socket that also accepts IPv4 ("::" with IPV6_V6ONLY off) sees
 *   the IPv4 peer a.b.c.d.
 *
 *   SO_REUSEPORT (Linux >= 3.9): sockets that all set it, owned by the same
 *   user, may bind the same address and port; the kernel spreads incoming
 *   connections over their accept queues. The same option would let a
 *   second server silently share the port, which is why ws_listen_open()
 *   first binds without it.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parse one "ADDR" or "ADDR/PREFIX" of len bytes. */
static int parse_cidr(const char *s, size_t len, ws_cidr *c, char *err, size_t errcap) {
    char text[INET6_ADDRSTRLEN + 8];
    const char *slash;
    unsigned max, prefix;

    if (len == 0 || len >= sizeof(text)) {
        snprintf(err, errcap, "'%.*s' is not an address", (int)(len > 64 ? 64 : len), s);
        return -1;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    slash = strchr(text, '/');
    if (slash) text[slash - text] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, text, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, text, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        snprintf(err, errcap, "'%s' is not an IPv4 or IPv6 address", text);
        return -1;
    }
    prefix = max;
    if (slash) {
        const char *p = slash + 1;
        char *end;
        unsigned long v;
        errno = 0;
        v = strtoul(p, &end, 10);
        if (*p < '0' || *p > '9' || *end || errno || v > max) {
            snprintf(err, errcap, "'/%s' is not a prefix length from 0 to %u", p, max);
            return -1;
        }
        prefix = (unsigned)v;
    }
    /* An IPv4-mapped range is an IPv4 range: store it as one. */
    if (c->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)c->addr) && prefix >= 96) {
        memmove(c->addr, c->addr + 12, 4);
        memset(c->addr + 4, 0, 12);
        c->family = AF_INET;
        prefix -= 96;
        max = 32;
    }
    c->prefix = prefix;
    /* Host bits set past the prefix: 10.0.0.1/8 is almost surely a typo
     * for 10.0.0.1 or 10.0.0.0/8, so say so instead of guessing. */
    for (unsigned bit = prefix; bit < max; bit++) {
        if (c->addr[bit / 8] & (0x80 >> (bit % 8))) {
            snprintf(err, errcap, "'%.*s' has bits set after its /%u prefix", (int)len, s, prefix);
            return -1;
        }
    }
    return 0;
}

int ws_cidr_parse_list(const char *list, ws_cidr *out, size_t cap, char *err, size_t errcap) {
    size_t n = 0;
    while (list && *list) {
        size_t len = strcspn(list, ",");
        if (n == cap) {
            snprintf(err, errcap, "more than %zu entries", cap);
            return -1;
        }
        if (parse_cidr(list, len, &out[n], err, errcap) < 0) return -1;
        n++;
        list += len;
        if (*list == ',') {
            list++;
            if (!*list) {
                snprintf(err, errcap, "a trailing comma");
                return -1;
            }
        }
    }
    return (int)n;
}

/* Do the first prefix bits of a and b agree? */
static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix) {
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, whole) != 0) return 0;
    if (rest == 0) return 1;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

int ws_cidr_match(const ws_cidr *set, size_t n, const struct sockaddr *sa) {
    uint8_t addr[16];
    int family = sa->sa_family;

    if (family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(addr, a6->s6_addr + 12, 4);
            family = AF_INET;
        } else {
            memcpy(addr, a6->s6_addr, 16);
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (set[i].family == family && prefix_equal(set[i].addr, addr, set[i].prefix)) return 1;
    return 0;
}

int ws_ip_valid(const char *text) {
    uint8_t a[16];
    return inet_pton(AF_INET, text, a) == 1 || inet_pton(AF_INET6, text, a) == 1;
}

void ws_addr_format(const struct sockaddr *sa, char *out, size_t cap) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, cap, "?");
    }
}

/* Resolve a numeric host and port (never DNS). */
static struct addrinfo *resolve(const char *host, unsigned port, char *err, size_t errcap) {
    struct addrinfo hints, *res = NULL;
    char service[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", port);
    if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
        snprintf(err, errcap, "--host %s is not a numeric IPv4 or IPv6 address (%s)", host,
                 gai_strerror(rc));
        return NULL;
    }
    return res;
}

int ws_listen_check_host(const char *host, char *err, size_t errcap) {
    struct addrinfo *res = resolve(host, 0, err, errcap);
    if (!res) return -1;
    freeaddrinfo(res);
    return 0;
}

/* One socket bound to sa; listening unless probe. Returns the fd or -1. */
static int bind_one(const struct sockaddr *sa, socklen_t salen, int reuseport, int probe) {
    int one = 1, zero = 0, saved;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    /* SO_REUSEADDR: restart at once even while old connections to the
     * port linger in TIME_WAIT. It never allows a second listener. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) goto err;
    /* "::" should accept IPv4 too (as mapped addresses). */
    if (sa->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, sa, salen) < 0) goto err;
    if (!probe && listen(fd, SOMAXCONN) < 0) goto err;
    return fd;
err:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int ws_listen_open(const char *host, unsigned port, int *fds, unsigned n, char *err,
                   size_t errcap) {
    struct addrinfo *res = resolve(host, port, err, errcap);
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned i = 0;
    int probe, saved;

    if (!res) {
        errno = EINVAL;
        return -1;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    sl = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);

    /* The probe: bound without SO_REUSEPORT, it fails if anything else
     * holds the port, ws6455 with SO_REUSEPORT included. With one socket
     * the probe is the listener itself. */
    probe = bind_one((struct sockaddr *)&ss, sl, 0, n > 1);
    if (probe < 0) goto err;
    if (port == 0) {
        /* Every socket must get the port the kernel picked for the first. */
        socklen_t len = sizeof(ss);
        getsockname(probe, (struct sockaddr *)&ss, &len);
    }
    if (n == 1) {
        fds[0] = probe;
        return 0;
    }
    close(probe);
    for (i = 0; i < n; i++) {
        fds[i] = bind_one((struct sockaddr *)&ss, sl, 1, 0);
        if (fds[i] < 0) goto err;
    }
    return 0;
err:
    saved = errno;
    while (i > 0) close(fds[--i]);
    snprintf(err, errcap, "cannot listen on %s port %u: %s%s", host, port, strerror(saved),
             saved == EADDRINUSE ? " (is another server, or another ws6455, running there?)" : "");
    errno = saved;
    return -1;
}
