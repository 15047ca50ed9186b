/*
 * worker.h: what the C files of pyruntime share (not part of the Go
 * boundary, which is bridge.h). bridge.c runs interpreters and requests,
 * guard.c holds the audit hook, memory.c the accounting allocator.
 */
#ifndef GOFASTAPI_WORKER_H
#define GOFASTAPI_WORKER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bridge.h"

/* Guard slots: a guarded worker has one, 1..GFA_MAX_GUARDED. */
#define GFA_MAX_GUARDED 256

/* A worker: one own-GIL sub-interpreter, or a share of the main
 * interpreter. It is used by one thread at a time (the Go pool guarantees
 * it), but not always the same thread: each OS thread that runs it gets its
 * own thread state, made on first use and kept in a per-thread cache, so a
 * request runs on the thread of the goroutine that serves it with no
 * hand-off. Every such state is recorded in `states` so that ending the
 * interpreter can delete them all first. */
struct gfa_worker {
    uint64_t id;              /* unique for the process, never reused */
    PyInterpreterState *interp;
    PyObject *handle;         /* gofastapi._dispatch.handle, strong reference */
    PyObject *shutdown;       /* gofastapi._dispatch.shutdown, or NULL */
    int is_main;              /* a share of the main interpreter */
    pthread_mutex_t mu;       /* guards states */
    PyThreadState **states;   /* every thread state made for this worker */
    size_t n_states, cap_states;
    _Atomic uint64_t seq;     /* requests started; the running one's number */
    _Atomic int busy;         /* a request is running */
    int traced;               /* an escalated interrupt installed a trace */
    int allow;                /* GFA_ALLOW_* bits of its guard */
    _Atomic uint64_t refused; /* operations its guard refused */
    int slot;                 /* 1..GFA_MAX_GUARDED while guarded, else 0 */
};

/* guard.c: forget w's guard slot (when w is freed). */
void gfa_unguard(gfa_worker *w);
/* guard.c: the process-wide audit hook, installed by gfa_init. */
int gfa_audit_hook(const char *event, PyObject *args, void *userdata);

/* memory.c: the guard slot of the request the calling thread runs (0:
 * none); allocations are charged to it. Set by gfa_worker_dispatch. */
extern __thread int gfa_mem_slot;
/* memory.c: start slot afresh (a new worker took it) or drop its cap. */
void gfa_mem_reset(int slot, int forget_usage);

#endif
