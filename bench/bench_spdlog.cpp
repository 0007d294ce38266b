/*
 * bench_spdlog.cpp — the spdlog contender: an async logger (one worker thread,
 * started on the background CPU) with a basic file sink and
 * async_overflow_policy::block, so a full queue makes the caller wait and no
 * record is dropped. Formatting (fmt) happens on the calling thread, as
 * spdlog does; the line pattern mirrors shmlog's text line (UTC ns timestamp,
 * level, name[pid/tid]). $BENCH_QUEUE overrides the queue size (default 8192,
 * spdlog's default).
 */
#include <cstdlib>
#include <cstdio>
#include <memory>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "bench.h"

extern "C" const char *const contender_name = "spdlog";
static std::shared_ptr<spdlog::logger> logger;
static spdlog::logger *lgp;

extern "C" int contender_open(const char *out)
{
	try {
		const char *q = std::getenv("BENCH_QUEUE");
		spdlog::init_thread_pool(q ? std::strtoul(q, nullptr, 0) : 8192, 1);
		auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(out ? out : "/dev/null", true);
		logger = std::make_shared<spdlog::async_logger>("bench", sink, spdlog::thread_pool(),
								spdlog::async_overflow_policy::block);
		logger->set_pattern("%Y-%m-%dT%H:%M:%S.%FZ %l %n[%P/%t]: %v", spdlog::pattern_time_type::utc);
		logger->set_level(spdlog::level::info);
		lgp = logger.get();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "bench spdlog: %s\n", e.what());
		return -1;
	}
	return 0;
}

BENCH_LOG_FN log_m1(uint64_t i)
{
	lgp->info("value={} name={} pi={:f}", (int)i, BENCH_NAME, BENCH_PI);
}

BENCH_LOG_FN log_const(uint64_t i)
{
	(void)i;
	lgp->info(BENCH_FMT_CONST);
}

BENCH_LOG_FN log_mixed8(uint64_t i)
{
	lgp->info("i={} u={} l={} x={:x} c={} s={} d={:f} g={:g}", (int)i, (unsigned)i * 3u, (long)i * 7,
		  (unsigned long long)i << 20, 'x', BENCH_NAME, BENCH_PI, (double)i * 0.5);
}

BENCH_LOG_FN log_str200(uint64_t i)
{
	(void)i;
	lgp->info("payload={}", BENCH_STR200_TEXT);
}

BENCH_LOG_FN log_below(uint64_t i)
{
	lgp->debug("value={} name={} pi={:f}", (int)i, BENCH_NAME, BENCH_PI);
}

extern "C" void contender_run(struct bench_ctx *x)
{
	switch (x->msg) {
	case BENCH_M1: bench_case(x, log_m1); break;
	case BENCH_CONST: bench_case(x, log_const); break;
	case BENCH_MIXED8: bench_case(x, log_mixed8); break;
	case BENCH_STR200: bench_case(x, log_str200); break;
	case BENCH_BELOW: bench_case(x, log_below); break;
	case BENCH_EMPTY: bench_case(x, bench_empty); break;
	case BENCH_M1_ARGS2: case BENCH_M1_KV2: break; /* shmlog's field cost only */
	}
}

extern "C" void contender_flush(void)
{
	lgp->flush(); /* async: queues a flush request behind the records */
}

extern "C" long contender_lost(void)
{
	return (long)spdlog::thread_pool()->overrun_counter();
}

extern "C" void contender_close(int drain)
{
	if (drain)
		lgp->flush();
	logger.reset();
	spdlog::shutdown();
}
