/*
 * child.c: the request loop of a worker process, in C. A worker process
 * reads request frames and writes response frames (docs/protocol.md §5);
 * doing that here, in one call from Go, keeps the Go scheduler and cgo out
 * of the per-request path of the process runtime.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

/* read_full reads exactly n bytes; 0 on success, 1 on clean EOF before any
 * byte, -1 on error or a short read. */
static int read_full(int fd, char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r == 0)
            return got == 0 ? 1 : -1;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static uint64_t get_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

static uint32_t get_u32(const char *p)
{
    return ((uint32_t)(unsigned char)p[0] << 24) | ((uint32_t)(unsigned char)p[1] << 16) |
           ((uint32_t)(unsigned char)p[2] << 8) | (uint32_t)(unsigned char)p[3];
}

/* A growable output frame. */
typedef struct {
    char *p;
    size_t len, cap;
} obuf;

static int put(obuf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (q == NULL)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

static int put_u64(obuf *b, uint64_t v)
{
    char s[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        s[i] = (char)(v & 0xff);
    return put(b, s, 8);
}

static int put_bytes(obuf *b, const char *p, size_t n)
{
    char s[4] = {(char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
    return put(b, s, 4) || put(b, p ? p : "", n);
}

static int put_str(obuf *b, const char *s) { return put_bytes(b, s, s ? strlen(s) : 0); }

/* A cursor over a request frame's payload. */
typedef struct {
    const char *p;
    size_t left;
    int bad;
} cursor;

static uint64_t take_u64(cursor *c)
{
    if (c->left < 8) {
        c->bad = 1;
        return 0;
    }
    uint64_t v = get_u64(c->p);
    c->p += 8;
    c->left -= 8;
    return v;
}

static const char *take_bytes(cursor *c, uint32_t *n)
{
    if (c->left < 4 || (*n = get_u32(c->p)) > c->left - 4) {
        c->bad = 1;
        *n = 0;
        return "";
    }
    const char *s = c->p + 4;
    c->p += 4 + *n;
    c->left -= 4 + *n;
    return s;
}

/* serve_one answers one request frame's payload into out. -1 if the
 * frame is malformed or memory ran out. */
static int serve_one(gfa_worker *w, const char *payload, size_t n, obuf *out, obuf *strs)
{
    cursor c = {payload, n, 0};
    gfa_request req;
    memset(&req, 0, sizeof req);
    req.route_id = (int64_t)take_u64(&c);
    req.client_port = (int64_t)take_u64(&c);
    /* Frame order: method, path, query, client, scheme, request id, headers. */
    static const int order[] = {GFA_METHOD, GFA_PATH, GFA_QUERY, GFA_CLIENT, GFA_SCHEME, GFA_REQUEST_ID, GFA_HEADERS};
    const char *field[GFA_NFIELDS];
    for (int i = 0; i < 7; i++)
        field[order[i]] = take_bytes(&c, &req.lens[order[i]]);
    uint32_t body_len;
    const char *body = take_bytes(&c, &body_len);
    uint64_t np = take_u64(&c);
    if (c.bad || np > GFA_MAX_PARAMS)
        return -1;
    const char *param[GFA_MAX_PARAMS];
    for (uint64_t i = 0; i < np; i++)
        param[i] = take_bytes(&c, &req.param_lens[i]);
    if (c.bad)
        return -1;
    req.n_params = (uint32_t)np;
    /* gfa_worker_dispatch wants the strings back to back, in field order. */
    strs->len = 0;
    for (int i = 0; i < GFA_NFIELDS; i++)
        if (put(strs, field[i], req.lens[i]))
            return -1;
    for (uint64_t i = 0; i < np; i++)
        if (put(strs, param[i], req.param_lens[i]))
            return -1;
    if (put(strs, "", 1))
        return -1;
    gfa_response resp;
    gfa_error err;
    out->len = 0;
    if (put(out, "\0\0\0\0", 4))
        return -1;
    int rc;
    if (gfa_worker_dispatch(w, &req, strs->p, body, body_len, &resp, &err) == 0) {
        rc = put(out, "R", 1) || put_u64(out, (uint64_t)resp.status) ||
             put_bytes(out, resp.data, resp.headers_len) ||
             put_bytes(out, resp.data + resp.headers_len, resp.body_len);
        gfa_response_free(&resp);
    } else {
        rc = put(out, "E", 1) || put_str(out, err.type) || put_str(out, err.message) ||
             put_str(out, err.traceback);
        gfa_error_free(&err);
    }
    if (rc || put_u64(out, gfa_worker_refused(w)))
        return -1;
    size_t len = out->len - 4;
    out->p[0] = (char)(len >> 24);
    out->p[1] = (char)(len >> 16);
    out->p[2] = (char)(len >> 8);
    out->p[3] = (char)len;
    return 0;
}

int gfa_serve_frames(gfa_worker *w, int in_fd, int out_fd)
{
    char hdr[5];
    char *payload = NULL;
    size_t cap = 0;
    obuf out = {0}, strs = {0};
    int rc = -1;
    for (;;) {
        int r = read_full(in_fd, hdr, 5);
        if (r == 1) {
            rc = 0; /* the server closed the pipe: stop */
            break;
        }
        uint32_t n = r == 0 ? get_u32(hdr) : 0;
        if (r != 0 || n < 1 || n > (1u << 30) || hdr[4] != 'Q')
            break;
        if (cap < n) {
            char *q = realloc(payload, n);
            if (q == NULL)
                break;
            payload = q;
            cap = n;
        }
        if (read_full(in_fd, payload, n - 1) != 0 || serve_one(w, payload, n - 1, &out, &strs) != 0 ||
            write_full(out_fd, out.p, out.len) != 0)
            break;
    }
    free(payload);
    free(out.p);
    free(strs.p);
    return rc;
}
