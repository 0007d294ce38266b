/* bench_tp.c — the tracepoint provider (probes) for bench_tp.h. */
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "bench_tp.h"
