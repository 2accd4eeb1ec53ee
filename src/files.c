/*
 * files.c -- the HTML client's files, served to plain GET and HEAD requests.
 */
#include "server_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *content_type(const char *path) {
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".md", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Map a request target to a relative path under the client directory.
 * Only [A-Za-z0-9._~/-] after percent-decoding, no segment starting with
 * '.' (so no "..", no hidden files); "/" and ".../" mean index.html.
 * Returns 0, or -1 for a target that cannot name a file here. */
static int target_to_path(const char *target, char *out, size_t cap) {
    size_t n = 0;
    const char *t = target;
    char prev = '/';

    if (*t != '/') return -1;  /* origin-form only (RFC 9112 §3.2.1) */
    t++;
    for (; *t && *t != '?' && *t != '#'; t++) {
        char ch = *t;
        if (ch == '%') {
            int hi = hexval(t[1]), lo = hi < 0 ? -1 : hexval(t[2]);
            if (lo < 0) return -1;
            ch = (char)(hi * 16 + lo);
            t += 2;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '~' || ch == '-' || ch == '/'))
            return -1;
        if (ch == '.' && prev == '/') return -1;
        if (ch == '/' && prev == '/') continue;  /* collapse "//" */
        if (n + 1 >= cap) return -1;
        out[n++] = ch;
        prev = ch;
    }
    if (n == 0 || prev == '/') {
        const char *index = "index.html";
        if (n + strlen(index) + 1 > cap) return -1;
        memcpy(out + n, index, strlen(index));
        n += strlen(index);
    }
    out[n] = '\0';
    return 0;
}

/* A plain GET or HEAD: the HTML client's files (DESIGN: the server itself
 * serves the page that talks to it). Small files, read whole. */
void serve_file(ws_conn *c, const ws_http_request *req) {
    char path[WS_HTTP_MAX_TARGET + 16], head[512];
    struct stat st;
    int fd = -1, n;
    buf **out = &c->out;

    if (srv->client_dir < 0 || target_to_path(req->target, path, sizeof(path)) < 0) {
        http_error(c, 404, "no such file");
        return;
    }
    fd = openat(srv->client_dir, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        http_error(c, 404, "no such file");
        return;
    }
    if (st.st_size > MAX_FILE_SIZE) {
        close(fd);
        http_error(c, 403, "file too large to serve");
        return;
    }
    n = ws_http_write_head(head, sizeof(head), 200, content_type(path), (size_t)st.st_size);
    ws_log(WS_LOG_INFO, "client #%u: GET %s -> 200 (%lld bytes)", c->id, req->target,
           (long long)st.st_size);
    conn_write(c, head, (size_t)n, NULL, 0);
    if (req->method == WS_HTTP_METHOD_GET && st.st_size > 0 && c->state != C_DEAD) {
        /* Read the file into the output queue; the response is written
         * from there as the socket accepts it. */
        if (srv->wconn == c) batch_flush();
        size_t size = (size_t)st.st_size, got = 0;
        if (c->state != C_DEAD && buf_reserve(out, size) == 0) {
            while (got < size) {
                ssize_t r = read(fd, (*out)->data + (*out)->len + got, size - got);
                if (r <= 0) break;
                got += (size_t)r;
            }
            if (got == size) {
                if (!buf_pending(*out)) c->last_tx = now_ms();
                (*out)->len += got;
            } else {
                conn_kill(c);  /* the head promised bytes we cannot give */
            }
        } else {
            conn_kill(c);
        }
    }
    close(fd);
    conn_finish(c);
}
