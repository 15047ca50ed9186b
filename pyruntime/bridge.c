/*
 * bridge.c: the task-level helpers declared in bridge.h. This is the only C
 * file of GoFastAPI and the only code that calls the CPython C API.
 */
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#if PY_VERSION_HEX < 0x030D0000
#error "GoFastAPI needs CPython 3.13 or newer: 3.12 crashes with own-GIL sub-interpreters"
#endif
#ifdef Py_GIL_DISABLED
#error "free-threaded CPython builds are not supported: GoFastAPI relies on one GIL per sub-interpreter"
#endif

/* The main owner's thread state while it does not hold the GIL. */
static PyThreadState *main_saved;
static PyInterpreterState *main_interp;

/* Declared only in CPython's internal headers (pycore_ceval.h), exported by
 * libpython: queue a call to run in an interpreter at its next bytecode
 * boundary, from any thread. */
typedef int (*gfa_pending_func)(void *);
PyAPI_FUNC(int) _PyEval_AddPendingCall(PyInterpreterState *interp, gfa_pending_func func,
                                       void *arg, int flags);
#define GFA_PENDING_RAWFREE 2 /* CPython frees arg with PyMem_RawFree */

/* The calling thread's thread states, by worker id. */
typedef struct {
    uint64_t id;
    PyThreadState *ts;
} ts_entry;
static __thread ts_entry *tls_states;
static __thread size_t tls_len, tls_cap;

static uint64_t next_worker_id = 1; /* guarded by id_mu */
static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;

/* remember records ts as w's thread state for the calling thread. Returns -1
 * on allocation failure (ts is then unrecorded). */
static int remember(gfa_worker *w, PyThreadState *ts)
{
    if (tls_len == tls_cap) {
        size_t cap = tls_cap ? tls_cap * 2 : 8;
        ts_entry *n = realloc(tls_states, cap * sizeof *n);
        if (n == NULL)
            return -1;
        tls_states = n;
        tls_cap = cap;
    }
    pthread_mutex_lock(&w->mu);
    if (w->n_states == w->cap_states) {
        size_t cap = w->cap_states ? w->cap_states * 2 : 8;
        PyThreadState **n = realloc(w->states, cap * sizeof *n);
        if (n == NULL) {
            pthread_mutex_unlock(&w->mu);
            return -1;
        }
        w->states = n;
        w->cap_states = cap;
    }
    w->states[w->n_states++] = ts;
    pthread_mutex_unlock(&w->mu);
    tls_states[tls_len++] = (ts_entry){w->id, ts};
    return 0;
}

/* thread_state returns the calling thread's state for w, making it on first
 * use. Does not need any GIL; NULL on allocation failure. */
static PyThreadState *thread_state(gfa_worker *w)
{
    for (size_t i = 0; i < tls_len; i++)
        if (tls_states[i].id == w->id)
            return tls_states[i].ts;
    /* The first thread state made on a thread becomes its PyGILState one.
     * Make that a main-interpreter state that lives as long as the thread,
     * so that deleting a worker's states never leaves it dangling. */
    if (PyGILState_GetThisThreadState() == NULL && PyThreadState_New(main_interp) == NULL)
        return NULL;
    PyThreadState *ts = PyThreadState_New(w->interp);
    if (ts != NULL && remember(w, ts) != 0) {
        PyEval_RestoreThread(ts);
        PyThreadState_Clear(ts);
        PyThreadState_DeleteCurrent();
        return NULL;
    }
    return ts;
}

/* forget drops the calling thread's cache entry for w. */
static void forget(gfa_worker *w)
{
    for (size_t i = 0; i < tls_len; i++) {
        if (tls_states[i].id == w->id) {
            tls_states[i] = tls_states[--tls_len];
            return;
        }
    }
}

static gfa_worker *worker_alloc(void)
{
    gfa_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_lock(&id_mu);
    w->id = next_worker_id++;
    pthread_mutex_unlock(&id_mu);
    return w;
}


static void worker_dealloc(gfa_worker *w)
{
    gfa_unguard(w);
    forget(w);
    pthread_mutex_destroy(&w->mu);
    free(w->states);
    free(w);
}


/* dup_n copies n bytes into a NUL-terminated malloc'd string. */
static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *dup_s(const char *s) { return s ? dup_n(s, strlen(s)) : NULL; }

/* dup_unicode copies a str object as UTF-8 (NULL on failure, error cleared). */
static char *dup_unicode(PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL) {
        PyErr_Clear();
        return NULL;
    }
    return dup_n(u, (size_t)n);
}

/* fetch_error moves the current Python exception into err. GIL held. */
static void fetch_error(gfa_error *err)
{
    PyObject *exc = PyErr_GetRaisedException();
    memset(err, 0, sizeof *err);
    if (exc == NULL) {
        err->type = dup_s("SystemError");
        err->message = dup_s("error return without exception set");
        return;
    }
    PyObject *tname = PyType_GetName(Py_TYPE(exc));
    err->type = tname ? dup_unicode(tname) : dup_s("Exception");
    Py_XDECREF(tname);
    PyObject *msg = PyObject_Str(exc);
    if (msg != NULL) {
        err->message = dup_unicode(msg);
        Py_DECREF(msg);
    }
    PyErr_Clear();
    PyObject *tb = PyImport_ImportModule("traceback");
    PyObject *lines = tb ? PyObject_CallMethod(tb, "format_exception", "O", exc) : NULL;
    PyObject *empty = lines ? PyUnicode_FromString("") : NULL;
    PyObject *joined = empty ? PyUnicode_Join(empty, lines) : NULL;
    if (joined != NULL)
        err->traceback = dup_unicode(joined);
    Py_XDECREF(joined);
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    Py_XDECREF(tb);
    PyErr_Clear();
    Py_DECREF(exc);
}

/* status_error turns a failed PyStatus into err. */
static void status_error(gfa_error *err, PyStatus st, const char *what)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s: %s%s%s", what, st.func ? st.func : "",
             st.func ? ": " : "", st.err_msg ? st.err_msg : "failed");
    memset(err, 0, sizeof *err);
    err->type = dup_s("PyStatus");
    err->message = dup_s(buf);
}

/* prepend_path inserts dir at sys.path[0]. GIL held; -1 with exception set. */
static int prepend_path(const char *dir)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    if (path == NULL || !PyList_Check(path)) {
        PyErr_SetString(PyExc_RuntimeError, "sys.path is not a list");
        return -1;
    }
    PyObject *d = PyUnicode_DecodeFSDefault(dir);
    if (d == NULL)
        return -1;
    int r = PyList_Insert(path, 0, d);
    Py_DECREF(d);
    return r;
}

/* load_app imports gofastapi._dispatch and calls load(); returns the
 * description as a malloc'd string and the module (new reference) in *mod.
 * GIL held; NULL with exception set on failure. */
static char *load_app(const char *app_spec, const char *app_dir, int startup,
                      PyObject **mod)
{
    *mod = PyImport_ImportModule("gofastapi._dispatch");
    if (*mod == NULL)
        return NULL;
    PyObject *desc = PyObject_CallMethod(*mod, "load", "ssO", app_spec, app_dir,
                                         startup ? Py_True : Py_False);
    if (desc == NULL)
        return NULL;
    char *out = PyUnicode_Check(desc) ? dup_unicode(desc) : NULL;
    Py_DECREF(desc);
    if (out == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "gofastapi._dispatch.load did not return a str");
    return out;
}

int gfa_init(const char *executable, const char *pkgdir, gfa_error *err)
{
    memset(err, 0, sizeof *err);
    if (Py_Version < 0x030D0000) {
        err->type = dup_s("RuntimeError");
        err->message = dup_s("the loaded libpython is older than 3.13; rebuild against CPython 3.13+");
        return -1;
    }
    if (PySys_AddAuditHook(gfa_audit_hook, NULL) != 0) {
        err->type = dup_s("RuntimeError");
        err->message = dup_s("could not install the audit hook");
        return -1;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0; /* Go owns signals */
    config.parse_argv = 0;
    config.safe_path = 1;
    PyStatus st = PyStatus_Ok();
    if (executable != NULL && *executable != '\0')
        st = PyConfig_SetBytesString(&config, &config.executable, executable);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        status_error(err, st, "initialising CPython");
        return -1;
    }
    main_interp = PyInterpreterState_Main();
    if (prepend_path(pkgdir) < 0) {
        fetch_error(err);
        main_saved = PyEval_SaveThread();
        return -1;
    }
    main_saved = PyEval_SaveThread();
    return 0;
}

const char *gfa_python_version(void) { return Py_GetVersion(); }

char *gfa_load_main(const char *app_spec, const char *app_dir,
                    const char *preload, gfa_error *err)
{
    memset(err, 0, sizeof *err);
    PyEval_RestoreThread(main_saved);
    /* Modules imported here first are initialised by the main interpreter;
     * this avoids a 3.13 crash when sub-interpreters that imported datetime
     * are destroyed (see DESIGN.md, "Measured facts"). Missing ones are
     * skipped. */
    if (preload != NULL && *preload != '\0') {
        char *list = dup_s(preload), *save = NULL;
        for (char *name = strtok_r(list, ",", &save); name != NULL;
             name = strtok_r(NULL, ",", &save)) {
            PyObject *m = PyImport_ImportModule(name);
            if (m == NULL)
                PyErr_Clear();
            Py_XDECREF(m);
        }
        free(list);
    }
    PyObject *mod = NULL;
    char *out = load_app(app_spec, app_dir, 0, &mod);
    if (out == NULL)
        fetch_error(err);
    Py_XDECREF(mod);
    main_saved = PyEval_SaveThread();
    return out;
}

gfa_worker *gfa_worker_new(const char *pkgdir, const char *app_spec,
                           const char *app_dir, char **description,
                           gfa_error *err)
{
    memset(err, 0, sizeof *err);
    *description = NULL;
    gfa_worker *w = worker_alloc();
    if (w == NULL) {
        err->type = dup_s("MemoryError");
        return NULL;
    }
    /* Creating a sub-interpreter needs a current thread state: a temporary
     * one in the main interpreter, deleted once the new one exists. */
    PyThreadState *main_ts = PyThreadState_New(main_interp);
    PyEval_RestoreThread(main_ts);
    const PyInterpreterConfig cfg = {
        .use_main_obmalloc = 0,
        .allow_fork = 0,
        .allow_exec = 0,
        .allow_threads = 1,
        .allow_daemon_threads = 0,
        .check_multi_interp_extensions = 1,
        .gil = PyInterpreterConfig_OWN_GIL,
    };
    PyThreadState *ts = NULL;
    PyStatus st = Py_NewInterpreterFromConfig(&ts, &cfg);
    if (PyStatus_Exception(st)) {
        status_error(err, st, "creating a sub-interpreter");
        PyThreadState_Clear(main_ts);
        PyThreadState_DeleteCurrent();
        worker_dealloc(w);
        return NULL;
    }
    /* Now ts is attached and holds the new GIL; the main GIL is free. */
    w->interp = PyThreadState_GetInterpreter(ts);
    PyObject *mod = NULL;
    if (prepend_path(pkgdir) == 0)
        *description = load_app(app_spec, app_dir, 1, &mod);
    if (*description != NULL) {
        w->handle = PyObject_GetAttrString(mod, "handle");
        w->shutdown = w->handle ? PyObject_GetAttrString(mod, "shutdown") : NULL;
        if (w->shutdown == NULL)
            PyErr_Clear(); /* shutdown hooks are optional */
    }
    Py_XDECREF(mod);
    int ok = w->handle != NULL && remember(w, ts) == 0;
    if (!ok) {
        if (w->handle != NULL)
            PyErr_NoMemory();
        fetch_error(err);
        free(*description);
        *description = NULL;
        Py_CLEAR(w->handle);
        Py_CLEAR(w->shutdown);
        Py_EndInterpreter(ts);
    } else {
        PyEval_SaveThread();
    }
    PyEval_RestoreThread(main_ts);
    PyThreadState_Clear(main_ts);
    PyThreadState_DeleteCurrent();
    if (!ok) {
        worker_dealloc(w);
        return NULL;
    }
    return w;
}

gfa_worker *gfa_main_worker(const char *app_spec, const char *app_dir,
                            int startup, char **description, gfa_error *err)
{
    memset(err, 0, sizeof *err);
    *description = NULL;
    gfa_worker *w = worker_alloc();
    if (w == NULL) {
        err->type = dup_s("MemoryError");
        return NULL;
    }
    w->is_main = 1;
    w->interp = main_interp;
    PyThreadState *ts = thread_state(w);
    if (ts == NULL) {
        err->type = dup_s("MemoryError");
        worker_dealloc(w);
        return NULL;
    }
    PyEval_RestoreThread(ts);
    PyObject *mod = NULL;
    *description = load_app(app_spec, app_dir, startup, &mod);
    if (*description != NULL) {
        w->handle = PyObject_GetAttrString(mod, "handle");
        w->shutdown = (w->handle && startup) ? PyObject_GetAttrString(mod, "shutdown") : NULL;
        if (w->shutdown == NULL)
            PyErr_Clear();
    }
    Py_XDECREF(mod);
    if (w->handle == NULL) {
        fetch_error(err);
        free(*description);
        *description = NULL;
        Py_CLEAR(w->shutdown);
    }
    PyEval_SaveThread();
    if (w->handle == NULL) {
        gfa_worker_free(w);
        return NULL;
    }
    return w;
}

/* new_str decodes n bytes at p: latin-1 when latin1, else UTF-8 with
 * U+FFFD for invalid sequences. New reference or NULL. */
static PyObject *new_str(const char *p, uint32_t n, int latin1)
{
    return latin1 ? PyUnicode_DecodeLatin1(p, n, NULL)
                  : PyUnicode_DecodeUTF8(p, n, "replace");
}

/* build_args creates the 11 positional arguments of handle() (protocol.md
 * §2) in args. GIL held; returns -1 with exception set (args cleared). */
static int build_args(PyObject **args, const gfa_request *req, const char *strs,
                      const char *body, size_t body_len)
{
    const char *p = strs;
    const char *f[GFA_NFIELDS];
    for (int i = 0; i < GFA_NFIELDS; i++) {
        f[i] = p;
        p += req->lens[i];
    }
    args[0] = PyLong_FromLongLong(req->route_id);
    args[1] = new_str(f[GFA_METHOD], req->lens[GFA_METHOD], 1);
    args[2] = new_str(f[GFA_PATH], req->lens[GFA_PATH], 0);
    args[3] = new_str(f[GFA_QUERY], req->lens[GFA_QUERY], 1);
    args[4] = new_str(f[GFA_HEADERS], req->lens[GFA_HEADERS], 1);
    args[5] = PyBytes_FromStringAndSize(body, (Py_ssize_t)body_len);
    args[6] = new_str(f[GFA_CLIENT], req->lens[GFA_CLIENT], 1);
    args[7] = PyLong_FromLongLong(req->client_port);
    args[8] = new_str(f[GFA_SCHEME], req->lens[GFA_SCHEME], 1);
    args[9] = new_str(f[GFA_REQUEST_ID], req->lens[GFA_REQUEST_ID], 1);
    uint32_t np = req->n_params > GFA_MAX_PARAMS ? GFA_MAX_PARAMS : req->n_params;
    args[10] = PyTuple_New(np);
    for (uint32_t i = 0; args[10] != NULL && i < np; i++) {
        PyObject *v = new_str(p, req->param_lens[i], 0);
        if (v == NULL) {
            Py_CLEAR(args[10]);
            break;
        }
        PyTuple_SET_ITEM(args[10], i, v);
        p += req->param_lens[i];
    }
    for (int i = 0; i < 11; i++) {
        if (args[i] == NULL) {
            for (int j = 0; j < 11; j++)
                Py_CLEAR(args[j]);
            if (!PyErr_Occurred())
                PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

/* take_response copies handle()'s (status, headers, body) into resp.
 * GIL held; -1 with exception set if the value breaks the protocol. */
static int take_response(PyObject *result, gfa_response *resp)
{
    if (!PyTuple_Check(result) || PyTuple_GET_SIZE(result) != 3) {
        PyErr_SetString(PyExc_TypeError, "handle() must return (int, bytes, bytes)");
        return -1;
    }
    long status = PyLong_AsLong(PyTuple_GET_ITEM(result, 0));
    PyObject *h = PyTuple_GET_ITEM(result, 1), *b = PyTuple_GET_ITEM(result, 2);
    if (status == -1 && PyErr_Occurred())
        return -1;
    if (!PyBytes_Check(h) || !PyBytes_Check(b)) {
        PyErr_SetString(PyExc_TypeError, "handle() must return (int, bytes, bytes)");
        return -1;
    }
    size_t hl = (size_t)PyBytes_GET_SIZE(h), bl = (size_t)PyBytes_GET_SIZE(b);
    resp->data = malloc(hl + bl + 1);
    if (resp->data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(resp->data, PyBytes_AS_STRING(h), hl);
    memcpy(resp->data + hl, PyBytes_AS_STRING(b), bl);
    resp->status = (int32_t)status;
    resp->headers_len = hl;
    resp->body_len = bl;
    return 0;
}

int gfa_worker_dispatch(gfa_worker *w, const gfa_request *req,
                        const char *strs, const char *body, size_t body_len,
                        gfa_response *resp, gfa_error *err)
{
    memset(resp, 0, sizeof *resp);
    memset(err, 0, sizeof *err);
    PyThreadState *ts = thread_state(w);
    if (ts == NULL) {
        err->type = dup_s("MemoryError");
        err->message = dup_s("no memory for a thread state");
        return -1;
    }
    PyEval_RestoreThread(ts);
    atomic_fetch_add(&w->seq, 1);
    atomic_store(&w->busy, 1);
    gfa_mem_slot = w->slot;
    PyObject *args[11];
    int rc = -1;
    if (build_args(args, req, strs, body, body_len) == 0) {
        PyObject *result = PyObject_Vectorcall(w->handle, args, 11, NULL);
        for (int i = 0; i < 11; i++)
            Py_DECREF(args[i]);
        if (result != NULL) {
            rc = take_response(result, resp);
            Py_DECREF(result);
        }
    }
    gfa_mem_slot = 0;
    atomic_store(&w->busy, 0);
    if (w->traced) {
        PyEval_SetTrace(NULL, NULL);
        w->traced = 0;
    }
    if (rc != 0)
        fetch_error(err);
    PyEval_SaveThread();
    return rc;
}

/* An interrupt queued by gfa_worker_interrupt, freed by CPython. */
typedef struct {
    gfa_worker *w;
    uint64_t seq;
    int escalate;
} interrupt_arg;

/* trace_raise is the escalation: every line raises again. */
static int trace_raise(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj, (void)frame, (void)arg;
    if (what == PyTrace_LINE || what == PyTrace_CALL) {
        PyErr_SetString(PyExc_TimeoutError, "request timed out");
        return -1;
    }
    return 0;
}

/* raise_timeout runs in the worker's interpreter with its GIL held. */
static int raise_timeout(void *p)
{
    interrupt_arg *a = p;
    gfa_worker *w = a->w;
    if (!atomic_load(&w->busy) || atomic_load(&w->seq) != a->seq)
        return 0; /* that request is over */
    if (a->escalate && !w->traced) {
        PyEval_SetTrace(trace_raise, NULL);
        w->traced = 1;
    }
    PyErr_SetString(PyExc_TimeoutError, "request timed out");
    return -1;
}

void gfa_worker_interrupt(gfa_worker *w, int escalate)
{
    if (!atomic_load(&w->busy))
        return;
    interrupt_arg *a = PyMem_RawMalloc(sizeof *a);
    if (a == NULL)
        return;
    *a = (interrupt_arg){w, atomic_load(&w->seq), escalate};
    if (_PyEval_AddPendingCall(w->interp, raise_timeout, a, GFA_PENDING_RAWFREE) != 0)
        PyMem_RawFree(a);
}

void gfa_worker_free(gfa_worker *w)
{
    PyThreadState *ts = thread_state(w);
    if (ts == NULL)
        return; /* out of memory: leak the worker rather than crash */
    PyEval_RestoreThread(ts);
    if (w->shutdown != NULL) {
        PyObject *r = PyObject_CallNoArgs(w->shutdown);
        if (r == NULL)
            PyErr_WriteUnraisable(w->shutdown);
        Py_XDECREF(r);
    }
    Py_CLEAR(w->shutdown);
    Py_CLEAR(w->handle);
    /* Other threads' states of this worker are idle (the pool guarantees
     * it): delete them so that ours is the last one. */
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_states; i++) {
        if (w->states[i] != ts) {
            PyThreadState_Clear(w->states[i]);
            PyThreadState_Delete(w->states[i]);
        }
    }
    w->n_states = 0;
    pthread_mutex_unlock(&w->mu);
    if (w->is_main) {
        PyThreadState_Clear(ts);
        PyThreadState_DeleteCurrent();
    } else {
        Py_EndInterpreter(ts);
    }
    worker_dealloc(w);
}

int gfa_finalize(void)
{
    PyEval_RestoreThread(main_saved);
    return Py_FinalizeEx();
}

void gfa_free(void *p) { free(p); }

void gfa_error_free(gfa_error *err)
{
    free(err->type);
    free(err->message);
    free(err->traceback);
    memset(err, 0, sizeof *err);
}

void gfa_response_free(gfa_response *resp)
{
    free(resp->data);
    resp->data = NULL;
}
