/*
 * files.c -- the HTML client's files, served to plain GET and HEAD requests.
 *
 * Two rules keep this small file server safe to expose:
 *
 *   nothing outside --client-dir   the request target is reduced to a
 *                                  relative path of plain segments (no "..",
 *                                  no hidden files), and the path is then
 *                                  opened one component at a time with
 *                                  O_NOFOLLOW, so no symbolic link is
 *                                  followed anywhere on the way -- not in
 *                                  the last component, not in a directory
 *                                  above it. Only regular files are served.
 *   nothing held in memory         the body goes from the file to the
 *                                  socket with sendfile(2), a bounded
 *                                  amount per writable event; the server
 *                                  holds an open file and an offset, never
 *                                  the file's bytes, however many clients
 *                                  fetch it and however slowly they read.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *content_type(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {
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

    if (*t != '/') return -1; /* origin-form only (RFC 9112 §3.2.1) */
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
        if (ch == '/' && prev == '/') continue; /* collapse "//" */
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

/* Open path (relative, '/'-separated, no "." or ".." segments: see
 * target_to_path()) under the directory dirfd without following a symbolic
 * link in any component. Returns an fd, or -1 (errno set; ELOOP for a
 * link). */
static int open_beneath(int dirfd, char *path) {
    int dir = dirfd, fd;
    char *seg = path, *slash;

    while ((slash = strchr(seg, '/')) != NULL) {
        *slash = '\0';
        fd = openat(dir, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        *slash = '/';
        if (dir != dirfd) close(dir);
        if (fd < 0) return -1;
        dir = fd;
        seg = slash + 1;
    }
    fd = openat(dir, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (dir != dirfd) {
        int saved = errno;
        close(dir);
        errno = saved;
    }
    return fd;
}

/* A plain GET or HEAD: the HTML client's files (DESIGN: the server itself
 * serves the page that talks to it). */
void serve_file(ws_conn *c, const ws_http_request *req) {
    char path[WS_HTTP_MAX_TARGET + 16], head[WS_HTTP_RESPONSE_MAX];
    struct stat st;
    int fd = -1, n;
    buf *seg;

    if (srv->client_dir < 0 || target_to_path(req->target, path, sizeof(path)) < 0) {
        http_error(c, 404, "no such file");
        return;
    }
    fd = open_beneath(srv->client_dir, path);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        /* Missing, a link, a directory, a device: all "not found". */
        if (fd >= 0) close(fd);
        http_error(c, 404, "no such file");
        return;
    }
    n = ws_http_write_head(head, sizeof(head), 200, content_type(path), (size_t)st.st_size);
    if (n < 0) {
        /* The types above are short enough for WS_HTTP_RESPONSE_MAX
         * (test_http.c); a head that does not fit gets a 500, not a
         * truncated head. */
        close(fd);
        http_error(c, 500, "response head too long");
        return;
    }
    endnote_http(c, 200, NULL);
    conn_write(c, head, (size_t)n, NULL, 0);
    if (req->method != WS_HTTP_METHOD_GET || st.st_size == 0 || c->state == C_DEAD) {
        close(fd);
        conn_finish(c);
        return;
    }
    /* The body: a queue segment that names the file and a range of it. */
    seg = buf_new(WS_MEM_OUT, 0);
    if (!seg && shed_for(c, sizeof(buf))) seg = buf_new(WS_MEM_OUT, 0);
    if (!seg) {
        close(fd);
        conn_kill(c); /* the head promised bytes we cannot give */
        return;
    }
    seg->kind = B_FILE;
    seg->fd = fd;
    seg->off = 0;
    seg->len = (size_t)st.st_size;
    if (srv->wconn == c) batch_flush(); /* the head goes first */
    if (queue_segment(c, seg) == 0) conn_finish(c);
}
