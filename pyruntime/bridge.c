/*
 * bridge.c: the task-level helpers declared in bridge.h. This is the only C
 * file of GoFastAPI and the only code that calls the CPython C API.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#if PY_VERSION_HEX < 0x030D0000
#error "GoFastAPI needs CPython 3.13 or newer: 3.12 crashes with own-GIL sub-interpreters"
#endif
#ifdef Py_GIL_DISABLED
#error "free-threaded CPython builds are not supported: GoFastAPI relies on one GIL per sub-interpreter"
#endif

/* A worker: one own-GIL sub-interpreter and the thread states of its owner
 * thread. Invariant: between calls neither thread state is attached. */
struct gfa_worker {
    PyThreadState *main_ts; /* owner thread's state in the main interpreter */
    PyThreadState *ts;      /* owner thread's state in the sub-interpreter */
    PyObject *handle;       /* gofastapi._dispatch.handle, strong reference */
    PyObject *shutdown;     /* gofastapi._dispatch.shutdown, or NULL */
    int is_main;            /* runs in the main interpreter: ts is main's */
};

/* The main owner's thread state while it does not hold the GIL. */
static PyThreadState *main_saved;
static PyInterpreterState *main_interp;

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
    gfa_worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        err->type = dup_s("MemoryError");
        return NULL;
    }
    w->main_ts = PyThreadState_New(main_interp);
    PyEval_RestoreThread(w->main_ts);
    const PyInterpreterConfig cfg = {
        .use_main_obmalloc = 0,
        .allow_fork = 0,
        .allow_exec = 0,
        .allow_threads = 1,
        .allow_daemon_threads = 0,
        .check_multi_interp_extensions = 1,
        .gil = PyInterpreterConfig_OWN_GIL,
    };
    PyStatus st = Py_NewInterpreterFromConfig(&w->ts, &cfg);
    if (PyStatus_Exception(st)) {
        status_error(err, st, "creating a sub-interpreter");
        PyThreadState_Clear(w->main_ts);
        PyThreadState_DeleteCurrent();
        free(w);
        return NULL;
    }
    /* Now w->ts is attached and holds the new GIL; the main GIL is free. */
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
    if (w->handle == NULL) {
        fetch_error(err);
        free(*description);
        *description = NULL;
        Py_XDECREF(w->shutdown);
        Py_EndInterpreter(w->ts);
        PyEval_RestoreThread(w->main_ts);
        PyThreadState_Clear(w->main_ts);
        PyThreadState_DeleteCurrent();
        free(w);
        return NULL;
    }
    w->ts = PyEval_SaveThread();
    return w;
}

gfa_worker *gfa_main_worker(const char *app_spec, const char *app_dir,
                            int startup, char **description, gfa_error *err)
{
    memset(err, 0, sizeof *err);
    *description = NULL;
    gfa_worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        err->type = dup_s("MemoryError");
        return NULL;
    }
    w->is_main = 1;
    w->ts = PyThreadState_New(main_interp);
    PyEval_RestoreThread(w->ts);
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
        Py_XDECREF(w->shutdown);
        PyThreadState_Clear(w->ts);
        PyThreadState_DeleteCurrent();
        free(w);
        return NULL;
    }
    w->ts = PyEval_SaveThread();
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
    PyEval_RestoreThread(w->ts);
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
    if (rc != 0)
        fetch_error(err);
    w->ts = PyEval_SaveThread();
    return rc;
}

void gfa_worker_free(gfa_worker *w)
{
    PyEval_RestoreThread(w->ts);
    if (w->shutdown != NULL) {
        PyObject *r = PyObject_CallNoArgs(w->shutdown);
        if (r == NULL)
            PyErr_WriteUnraisable(w->shutdown);
        Py_XDECREF(r);
    }
    Py_CLEAR(w->shutdown);
    Py_CLEAR(w->handle);
    if (w->is_main) {
        PyThreadState_Clear(w->ts);
        PyThreadState_DeleteCurrent();
        free(w);
        return;
    }
    Py_EndInterpreter(w->ts);
    PyEval_RestoreThread(w->main_ts);
    PyThreadState_Clear(w->main_ts);
    PyThreadState_DeleteCurrent();
    free(w);
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
