/*
 * memory.c: per-worker memory accounting for sub-interpreters. Allocator
 * hooks on CPython's MEM and OBJ domains charge each block to the worker
 * whose request allocated it and refuse allocations past its cap.
 */
#include "worker.h"


/* Memory accounting by guard slot (0: not attributed to any worker). */
static _Atomic int64_t mem_used[GFA_MAX_GUARDED + 1];
static _Atomic int64_t mem_limit[GFA_MAX_GUARDED + 1];
__thread int gfa_mem_slot;

void gfa_mem_reset(int slot, int forget_usage)
{
    atomic_store(&mem_limit[slot], 0);
    if (forget_usage)
        atomic_store(&mem_used[slot], 0);
}

void gfa_worker_set_limit(gfa_worker *w, int64_t bytes)
{
    if (w->slot > 0)
        atomic_store(&mem_limit[w->slot], bytes);
}

int64_t gfa_worker_memory(gfa_worker *w) { return w->slot > 0 ? atomic_load(&mem_used[w->slot]) : 0; }

/* The accounting allocator: each block carries a 16-byte header (keeping
 * the 16-byte alignment CPython needs) with its slot and size. */
typedef struct {
    int64_t slot;
    int64_t size;
} mem_header;
static PyMemAllocatorEx prev_mem, prev_obj;

static int over_limit(int slot, int64_t more)
{
    int64_t lim = atomic_load(&mem_limit[slot]);
    return slot > 0 && lim > 0 && more > 0 && atomic_load(&mem_used[slot]) + more > lim;
}

static void *track(void *raw, size_t n)
{
    if (raw == NULL)
        return NULL;
    mem_header *h = raw;
    h->slot = gfa_mem_slot;
    h->size = (int64_t)n;
    atomic_fetch_add(&mem_used[h->slot], (int64_t)n);
    return h + 1;
}

static void *hook_malloc(void *ctx, size_t n)
{
    PyMemAllocatorEx *prev = ctx;
    if (n > SIZE_MAX - sizeof(mem_header) || over_limit(gfa_mem_slot, (int64_t)n))
        return NULL;
    return track(prev->malloc(prev->ctx, n + sizeof(mem_header)), n);
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *prev = ctx;
    if (elsize != 0 && nelem > (SIZE_MAX - sizeof(mem_header)) / elsize)
        return NULL;
    size_t n = nelem * elsize;
    if (over_limit(gfa_mem_slot, (int64_t)n))
        return NULL;
    return track(prev->calloc(prev->ctx, 1, n + sizeof(mem_header)), n);
}

static void hook_free(void *ctx, void *p)
{
    PyMemAllocatorEx *prev = ctx;
    if (p == NULL)
        return;
    mem_header *h = (mem_header *)p - 1;
    atomic_fetch_sub(&mem_used[h->slot], h->size);
    prev->free(prev->ctx, h);
}

static void *hook_realloc(void *ctx, void *p, size_t n)
{
    PyMemAllocatorEx *prev = ctx;
    if (p == NULL)
        return hook_malloc(ctx, n);
    if (n > SIZE_MAX - sizeof(mem_header))
        return NULL;
    mem_header *h = (mem_header *)p - 1;
    int64_t old = h->size, slot = h->slot;
    if (over_limit(gfa_mem_slot, (int64_t)n - (gfa_mem_slot == slot ? old : 0)))
        return NULL;
    mem_header *q = prev->realloc(prev->ctx, h, n + sizeof(mem_header));
    if (q == NULL)
        return NULL;
    atomic_fetch_sub(&mem_used[slot], old);
    q->slot = gfa_mem_slot;
    q->size = (int64_t)n;
    atomic_fetch_add(&mem_used[q->slot], (int64_t)n);
    return q + 1;
}

void gfa_track_memory(void)
{
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &prev_mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &prev_obj);
    PyMemAllocatorEx mem = {&prev_mem, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyMemAllocatorEx obj = {&prev_obj, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj);
}
