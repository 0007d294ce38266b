/*
 * bench_tp.h — the LTTng-UST tracepoints of the lttng contender: one event per
 * message kind with the same fields as the printf-style messages. "below" has
 * log level TRACE_DEBUG while the session enables bench:* from TRACE_INFO up,
 * so it stays disabled: the call is the tracepoint's state check alone.
 */
#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER bench

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./bench_tp.h"

#if !defined(BENCH_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_TP_H

#include <lttng/tracepoint.h>

TRACEPOINT_EVENT(bench, m1,
	TP_ARGS(int, value, const char *, name, double, pi),
	TP_FIELDS(ctf_integer(int, value, value) ctf_string(name, name) ctf_float(double, pi, pi)))
TRACEPOINT_LOGLEVEL(bench, m1, TRACE_INFO)

TRACEPOINT_EVENT(bench, constant,
	TP_ARGS(),
	TP_FIELDS())
TRACEPOINT_LOGLEVEL(bench, constant, TRACE_INFO)

TRACEPOINT_EVENT(bench, mixed8,
	TP_ARGS(int, i, unsigned, u, long, l, unsigned long long, x, char, c, const char *, s, double, d,
		double, g),
	TP_FIELDS(ctf_integer(int, i, i) ctf_integer(unsigned, u, u) ctf_integer(long, l, l)
		  ctf_integer_hex(unsigned long long, x, x) ctf_integer(char, c, c) ctf_string(s, s)
		  ctf_float(double, d, d) ctf_float(double, g, g)))
TRACEPOINT_LOGLEVEL(bench, mixed8, TRACE_INFO)

TRACEPOINT_EVENT(bench, str200,
	TP_ARGS(const char *, payload),
	TP_FIELDS(ctf_string(payload, payload)))
TRACEPOINT_LOGLEVEL(bench, str200, TRACE_INFO)

TRACEPOINT_EVENT(bench, below,
	TP_ARGS(int, value, const char *, name, double, pi),
	TP_FIELDS(ctf_integer(int, value, value) ctf_string(name, name) ctf_float(double, pi, pi)))
TRACEPOINT_LOGLEVEL(bench, below, TRACE_DEBUG)

#endif

#include <lttng/tracepoint-event.h>
