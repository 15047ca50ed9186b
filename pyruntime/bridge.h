/*
 * bridge.h: the whole C boundary between Go and CPython.
 *
 * Threading rules (every function states its own):
 *  - gfa_init, gfa_load_main and gfa_finalize run on the one OS thread that
 *    owns the main interpreter (the "main owner").
 *  - gfa_worker_new, gfa_worker_dispatch and gfa_worker_free run on the OS
 *    thread that owns that worker; a worker never moves between threads.
 *  - No function keeps a pointer passed in by the caller after it returns.
 *
 * Ownership: every char* an out-parameter receives is malloc'd by C and
 * freed by the caller with gfa_free (or gfa_error_free / gfa_response_free).
 */
#ifndef GOFASTAPI_BRIDGE_H
#define GOFASTAPI_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

/* A Python exception turned into plain strings (all malloc'd, may be NULL). */
typedef struct {
    char *type;      /* e.g. "ModuleNotFoundError" */
    char *message;   /* str(exc) */
    char *traceback; /* traceback.format_exception(exc), joined */
} gfa_error;

/* Maximum number of path parameters of one route. */
#define GFA_MAX_PARAMS 32

/* Fixed string fields of a request, in the order they are concatenated in
 * the `strs` buffer passed to gfa_worker_dispatch. */
enum {
    GFA_METHOD, GFA_PATH, GFA_QUERY, GFA_HEADERS, GFA_CLIENT, GFA_SCHEME,
    GFA_REQUEST_ID, GFA_NFIELDS
};

/* The lengths and numbers of one request. It holds no pointers, so Go may
 * pass its own memory for it. Strings follow one another in `strs`: first the
 * GFA_NFIELDS fixed fields, then the n_params path values. */
typedef struct {
    int64_t route_id;
    int64_t client_port;
    uint32_t lens[GFA_NFIELDS];
    uint32_t n_params;
    uint32_t param_lens[GFA_MAX_PARAMS];
} gfa_request;

/* One response. `data` holds headers_len bytes of header lines followed by
 * body_len bytes of body; it is malloc'd and freed with gfa_response_free. */
typedef struct {
    int32_t status;
    char *data;
    size_t headers_len;
    size_t body_len;
} gfa_response;

typedef struct gfa_worker gfa_worker;

/* gfa_init initialises the main interpreter. `executable` (may be NULL) is
 * the venv's python so that CPython reads its pyvenv.cfg; `pkgdir` is put
 * first on sys.path so `gofastapi` is found. Returns 0, or -1 with *err set.
 * On success the calling thread does not hold the GIL. Main owner only. */
int gfa_init(const char *executable, const char *pkgdir, gfa_error *err);

/* gfa_track_memory installs, before gfa_init, allocator hooks on CPython's
 * MEM and OBJ domains that tag every block with the worker whose request
 * allocated it, so that each sub-interpreter's memory can be counted and
 * capped (see gfa_worker_set_limit). Costs a 16-byte header per block and a
 * few percent of throughput; call it only when a limit is wanted. */
void gfa_track_memory(void);

/* gfa_python_version returns the running CPython version (static string). */
const char *gfa_python_version(void);

/* gfa_load_main imports `preload` (comma-separated module names, may be
 * empty) and the app in the main interpreter and returns the app
 * description (JSON, malloc'd), or NULL with *err set. Main owner only. */
char *gfa_load_main(const char *app_spec, const char *app_dir,
                    const char *preload, gfa_error *err);

/* gfa_worker_new creates an own-GIL sub-interpreter owned by the calling
 * thread, imports the app into it and stores its description in
 * *description (malloc'd). Returns NULL with *err set on failure. */
gfa_worker *gfa_worker_new(const char *pkgdir, const char *app_spec,
                           const char *app_dir, char **description,
                           gfa_error *err);

/* gfa_main_worker binds a new thread state of the main interpreter to the
 * calling thread and returns a worker serving requests there (the "main"
 * runtime: all such workers share the main GIL). With startup != 0 it calls
 * load(startup=True), which runs the app's start-up hooks: do that for the
 * first main worker only. Returns NULL with *err set on failure. */
gfa_worker *gfa_main_worker(const char *app_spec, const char *app_dir,
                            int startup, char **description, gfa_error *err);

/* gfa_worker_dispatch runs one request through gofastapi._dispatch.handle.
 * `strs` and `body` are only read during the call. Returns 0 with *resp
 * filled, or -1 with *err set when handle itself raised. Owner thread only. */
int gfa_worker_dispatch(gfa_worker *w, const gfa_request *req,
                        const char *strs, const char *body, size_t body_len,
                        gfa_response *resp, gfa_error *err);

/* gfa_worker_interrupt asks the request running in w to stop: a pending
 * call raises TimeoutError in it at its next bytecode boundary. With
 * escalate != 0 it also installs a trace function that raises on every
 * line, so a handler that swallows the exception is unwound anyway. Code
 * blocked in C is reached only when it returns. Any thread; no GIL needed.
 * Does nothing if w is idle or already serving a later request. */
void gfa_worker_interrupt(gfa_worker *w, int escalate);

/* Guard policy bits for gfa_worker_guard. */
#define GFA_ALLOW_SUBPROCESS 1 /* process spawning: os.system, exec, fork, subprocess */
#define GFA_ALLOW_FFI 2        /* ctypes */

/* gfa_worker_guard makes w's interpreter a guarded one: the audit hook
 * installed by gfa_init refuses there, with PermissionError, process
 * spawning (unless GFA_ALLOW_SUBPROCESS), ctypes (unless GFA_ALLOW_FFI),
 * signals to the server process or its group, and counts every refusal
 * (also the import guard's, reported as the audit event
 * "gofastapi.import_refused"). Any thread. */
void gfa_worker_guard(gfa_worker *w, int allow);

/* gfa_worker_set_limit caps the bytes w's requests may hold (needs
 * gfa_track_memory and gfa_worker_guard first); past it allocations fail and
 * the handler gets MemoryError. 0 removes the cap. */
void gfa_worker_set_limit(gfa_worker *w, int64_t bytes);

/* gfa_worker_memory returns the bytes currently held by w's requests. */
int64_t gfa_worker_memory(gfa_worker *w);

/* gfa_worker_refused returns the number of refusals counted for w. */
uint64_t gfa_worker_refused(gfa_worker *w);

/* gfa_serve_frames is a worker process's whole request loop: it reads
 * request frames from in_fd, runs each in w and writes the response (or
 * error) frames to out_fd (docs/protocol.md §5), until in_fd reaches end of
 * file (returns 0) or the stream breaks (returns -1). Blocks; call it from
 * the thread that may run w. */
int gfa_serve_frames(gfa_worker *w, int in_fd, int out_fd);

/* gfa_worker_free runs the app's shutdown hooks (for a main worker: only if
 * it ran the start-up hooks), ends the sub-interpreter (a main worker only
 * drops its thread state) and frees w. Owner thread only. */
void gfa_worker_free(gfa_worker *w);

/* gfa_finalize finalises the main interpreter. Main owner only, after every
 * worker was freed. Returns Py_FinalizeEx's result. */
int gfa_finalize(void);

void gfa_free(void *p);
void gfa_error_free(gfa_error *err);
void gfa_response_free(gfa_response *resp);

#endif
