/*
 * guard.c: the C layer of the import guard. One audit hook for the whole
 * process refuses dangerous operations in guarded (serving) interpreters.
 */
#include <string.h>
#include <unistd.h>

#include "worker.h"

/* Guarded workers, found by interpreter from the audit hook. Slots are
 * claimed and released under guard_mu; the hook reads them without it. */
#define GFA_MAX_GUARDED 256
static _Atomic(gfa_worker *) guarded[GFA_MAX_GUARDED];
static pthread_mutex_t guard_mu = PTHREAD_MUTEX_INITIALIZER;

void gfa_worker_guard(gfa_worker *w, int allow)
{
    w->allow = allow;
    pthread_mutex_lock(&guard_mu);
    for (int i = 0; i < GFA_MAX_GUARDED; i++) {
        if (atomic_load(&guarded[i]) == NULL) {
            atomic_store(&guarded[i], w);
            w->slot = i + 1;
            gfa_mem_reset(w->slot, 1); /* blocks a destroyed interpreter leaked */
            break;
        }
    }
    pthread_mutex_unlock(&guard_mu);
}

uint64_t gfa_worker_refused(gfa_worker *w) { return atomic_load(&w->refused); }

void gfa_unguard(gfa_worker *w)
{
    pthread_mutex_lock(&guard_mu);
    for (int i = 0; i < GFA_MAX_GUARDED; i++)
        if (atomic_load(&guarded[i]) == w)
            atomic_store(&guarded[i], NULL);
    if (w->slot > 0)
        gfa_mem_reset(w->slot, 0);
    w->slot = 0;
    pthread_mutex_unlock(&guard_mu);
}

static gfa_worker *guard_of(PyInterpreterState *interp)
{
    for (int i = 0; i < GFA_MAX_GUARDED; i++) {
        gfa_worker *w = atomic_load(&guarded[i]);
        if (w != NULL && w->interp == interp)
            return w;
    }
    return NULL;
}

/* pid_arg reads the first argument of an os.kill-like event. */
static long pid_arg(PyObject *args)
{
    if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) < 1)
        return 0;
    long pid = PyLong_AsLong(PyTuple_GET_ITEM(args, 0));
    if (pid == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return pid;
}

/* refusal classifies an audit event in a guarded interpreter: NULL to let
 * it through, else the reason. */
static const char *refusal(const char *event, PyObject *args, int allow)
{
    static const char *spawn[] = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                                  "os.forkpty", "subprocess.Popen", "os.startfile", NULL};
    if (!(allow & GFA_ALLOW_SUBPROCESS))
        for (int i = 0; spawn[i] != NULL; i++)
            if (strcmp(event, spawn[i]) == 0)
                return "process spawning";
    if (!(allow & GFA_ALLOW_FFI) && strncmp(event, "ctypes.", 7) == 0)
        return "ctypes";
    if (strcmp(event, "os.kill") == 0) {
        long pid = pid_arg(args);
        if (pid <= 0 || pid == (long)getpid() || pid == (long)getppid())
            return "signalling the server";
    }
    if (strcmp(event, "os.killpg") == 0) {
        long pg = pid_arg(args);
        if (pg <= 0 || pg == (long)getpgrp() || pg == (long)getpgid(getppid()))
            return "signalling the server";
    }
    if (strcmp(event, "signal.pthread_kill") == 0)
        return "signalling the server's threads";
    return NULL;
}

/* audit_hook is installed once for the whole process (PySys_AddAuditHook):
 * user code cannot remove it, unlike sys.addaudithook hooks. It acts only in
 * guarded interpreters. Called with the GIL of the current interpreter. */
int gfa_audit_hook(const char *event, PyObject *args, void *userdata)
{
    (void)userdata;
    switch (event[0]) {
    case 'o': case 's': case 'c': case 'g':
        break;
    default:
        return 0;
    }
    PyThreadState *ts = PyThreadState_GetUnchecked();
    gfa_worker *w = ts ? guard_of(PyThreadState_GetInterpreter(ts)) : NULL;
    if (w == NULL)
        return 0;
    if (strcmp(event, "gofastapi.import_refused") == 0) {
        atomic_fetch_add(&w->refused, 1);
        return 0;
    }
    const char *why = refusal(event, args, w->allow);
    if (why == NULL)
        return 0;
    atomic_fetch_add(&w->refused, 1);
    PyErr_Format(PyExc_PermissionError,
                 "%s (%s) is refused in GoFastAPI workers; list the module in allowed_imports to permit it",
                 why, event);
    return -1;
}
