/*
 * net.c -- addresses and listening sockets.
 */
#include "server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void format_addr(const struct sockaddr *sa, char *out, size_t cap) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

/* Is the peer one of --trust-proxy's addresses? A socket listening on
 * "::" sees IPv4 peers as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), so
 * those are compared as the IPv4 address they carry. */
int is_trusted_proxy(const struct sockaddr_storage *peer) {
    struct in_addr v4;
    const struct in6_addr *v6 = NULL;
    int family = peer->ss_family;

    if (family == AF_INET) {
        v4 = ((const struct sockaddr_in *)peer)->sin_addr;
    } else if (family == AF_INET6) {
        v6 = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(v6)) {
            memcpy(&v4, v6->s6_addr + 12, sizeof(v4));
            family = AF_INET;
        }
    }
    for (size_t i = 0; i < srv->nproxies; i++) {
        const struct sockaddr_storage *p = &srv->proxies[i];
        if (p->ss_family != family) continue;
        if (family == AF_INET &&
            memcmp(&((const struct sockaddr_in *)p)->sin_addr, &v4, sizeof(v4)) == 0)
            return 1;
        if (family == AF_INET6 &&
            memcmp(&((const struct sockaddr_in6 *)p)->sin6_addr, v6, sizeof(*v6)) == 0)
            return 1;
    }
    return 0;
}

/* Parse "a,b,c" numeric addresses into srv->proxies. */
int parse_proxies(const char *list) {
    char item[INET6_ADDRSTRLEN + 1];
    while (list && *list) {
        size_t n = strcspn(list, ",");
        if (n == 0 || n >= sizeof(item) || srv->nproxies == MAX_PROXIES) return -1;
        memcpy(item, list, n);
        item[n] = '\0';
        struct sockaddr_storage *ss = &srv->proxies[srv->nproxies];
        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, item, &((struct sockaddr_in *)ss)->sin_addr) == 1)
            ss->ss_family = AF_INET;
        else if (inet_pton(AF_INET6, item, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
            ss->ss_family = AF_INET6;
        else
            return -1;
        srv->nproxies++;
        list += n;
        if (*list == ',') list++;
    }
    return 0;
}

/* Create, bind and listen; SO_REUSEPORT so every worker can have its own
 * listener on the same port and the kernel spreads connections. */
int open_listener(const ws_server_config *cfg, int reuseport) {
    struct addrinfo hints, *res = NULL;
    char port[16], where[INET6_ADDRSTRLEN + 8];
    int fd = -1, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%u", cfg->port);
    if ((rc = getaddrinfo(cfg->host, port, &hints, &res)) != 0) {
        ws_log(WS_LOG_ERROR, "bad --host %s: %s", cfg->host, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto err;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) goto err;
    if (res->ai_family == AF_INET6) {
        /* "::" should accept IPv4 too (mapped addresses). */
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) goto err;
    if (listen(fd, SOMAXCONN) < 0) goto err;
    freeaddrinfo(res);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        format_addr((struct sockaddr *)&ss, where, sizeof(where));
        ws_log(WS_LOG_INFO, "listening on %s (handler %s)", where, cfg->handler->name);
    }
    return fd;
err:
    ws_log(WS_LOG_ERROR, "cannot listen on %s port %u: %s", cfg->host, cfg->port, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
}

void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
