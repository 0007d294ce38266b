/*
 * crash.c — the optional crash handler: the last record of a dying process.
 *
 * On SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT the handler writes one
 * CRITICAL record — the signal, the fault address and a backtrace — into the
 * crashing thread's own ring, marks the segment as crashed, and hands the
 * signal on: it restores the previous action and lets the fault happen again
 * (or re-raises a signal that was sent rather than caused), so the previous
 * handler runs and core dumps still happen.
 *
 * Everything the handler uses is prepared at install time, because little is
 * async-signal-safe: the record's call site is registered in advance (no
 * mutex), backtrace() is called once so that glibc loads its unwinder, the
 * loaded modules are listed so that each frame can be written as
 * "module+0xoffset" (resolvable later with addr2line) without calling the
 * dynamic loader, and the text is built with hand-written formatting. The
 * installing thread gets an alternate signal stack, so a stack overflow in it
 * can still be reported.
 *
 * A signal that lands in the middle of a log call on the same thread is
 * safe: the handler writes at the thread's private tail and publishes its
 * own record, overwriting only bytes that were never published. The process
 * is assumed to die afterwards; a previous handler that resumes execution
 * would resume a log call whose ring position the crash record has moved.
 */
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define CRASH_FRAMES 24
#define CRASH_MODULES 64

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define N_CRASH_SIGNALS (sizeof crash_signals / sizeof crash_signals[0])

static struct shmlog *_Atomic crash_lg;
static struct sigaction crash_old[N_CRASH_SIGNALS];
static _Atomic int crash_busy;
static uint32_t crash_site_id;
static struct shmlog__site crash_site = {
	"crash: signal %d (SIG%s), fault address %p; backtrace:%s", __FILE__, __LINE__, SHMLOG_LEVEL_CRITICAL};

struct crash_module {
	uintptr_t start, end;
	char name[48];
};
static struct crash_module crash_modules[CRASH_MODULES];
static int crash_n_modules;

static int note_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (crash_n_modules == CRASH_MODULES)
		return 1;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (lo >= hi)
		return 0;
	struct crash_module *m = &crash_modules[crash_n_modules++];
	m->start = info->dlpi_addr; /* offsets relative to the load bias, as addr2line wants */
	m->end = hi;
	const char *n = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : program_invocation_name;
	const char *slash = strrchr(n, '/');
	n = slash ? slash + 1 : n;
	size_t l = strlen(n);
	if (l >= sizeof m->name)
		l = sizeof m->name - 1;
	memcpy(m->name, n, l);
	m->name[l] = 0;
	if (lo < m->start)
		m->start = lo;
	return 0;
}

/* Async-signal-safe appending of text and hex numbers. */
struct crash_buf {
	char *p;
	size_t len, cap;
};

static void cb_str(struct crash_buf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->p[b->len++] = *s++;
	b->p[b->len] = 0;
}

static void cb_hex(struct crash_buf *b, uintptr_t v)
{
	char t[2 + 16 + 1];
	int i = (int)sizeof t - 1;
	t[i] = 0;
	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	t[--i] = 'x';
	t[--i] = '0';
	cb_str(b, t + i);
}

static void format_frame(struct crash_buf *b, uintptr_t pc)
{
	for (int i = 0; i < crash_n_modules; i++) {
		const struct crash_module *m = &crash_modules[i];
		if (pc >= m->start && pc < m->end) {
			cb_str(b, " ");
			cb_str(b, m->name);
			cb_str(b, "+");
			cb_hex(b, pc - (uintptr_t)m->start);
			return;
		}
	}
	cb_str(b, " ");
	cb_hex(b, pc);
}

static void crash_handler(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	int idx = 0;
	while (idx < (int)N_CRASH_SIGNALS && crash_signals[idx] != sig)
		idx++;
	struct shmlog *lg = atomic_load(&crash_lg);
	/* a forked child's logger whose segment is not made (or being made) has nowhere to write */
	if (lg && !shmlog__seg_pending(lg) && lg->base && !atomic_exchange(&crash_busy, 1)) {
		void *frames[CRASH_FRAMES];
		int n = backtrace(frames, CRASH_FRAMES);
		char text[SHMLOG_MAX_STRING];
		struct crash_buf b = {text, 0, sizeof text};
		text[0] = 0;
		for (int i = 1; i < n; i++) /* frame 0 is this handler */
			format_frame(&b, (uintptr_t)frames[i]);
		bool fault = info->si_code > 0 && sig != SIGABRT;
		struct shmlog__ring *rp = shmlog__signal_ring(lg);
		bool locked = false;
		if (!rp && pthread_mutex_trylock(&lg->overflow_lock) == 0) {
			rp = &lg->overflow;
			locked = true;
		}
		if (rp)
			shmlog__crash_record(lg, rp, &crash_site, crash_site_id, sig,
					     sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
					     fault ? info->si_addr : NULL, text);
		if (locked)
			pthread_mutex_unlock(&lg->overflow_lock);
		/* release: the crash record is published before the segment says "crashed" */
		atomic_store_explicit(&lg->hdr->ended, SHMLOG_END_CRASH | ((uint32_t)sig << 8), memory_order_release);
	}
	/* hand the signal on */
	if (idx < (int)N_CRASH_SIGNALS)
		sigaction(sig, &crash_old[idx], NULL);
	else
		signal(sig, SIG_DFL);
	if (info->si_code <= 0 || sig == SIGABRT)
		raise(sig); /* sent, not caused: it would not come back by itself */
	/* a fault re-executes the faulting instruction on return */
}

int shmlog__crash_install(struct shmlog *lg)
{
	struct shmlog *expect = NULL;
	if (!atomic_compare_exchange_strong(&crash_lg, &expect, lg))
		return -EBUSY;
	if (shmlog__register(lg, &crash_site, &crash_site_id) < 0) {
		atomic_store(&crash_lg, NULL);
		return -ENOSPC;
	}
	void *warm[2];
	backtrace(warm, 2); /* loads the unwinder now rather than in the handler */
	crash_n_modules = 0;
	dl_iterate_phdr(note_module, NULL);
	static void *altstack;
	if (!altstack) {
		stack_t ss = {.ss_size = 64 * 1024};
		altstack = ss.ss_sp = malloc(ss.ss_size);
		if (ss.ss_sp)
			sigaltstack(&ss, NULL);
	}
	struct sigaction sa = {0};
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], &sa, &crash_old[i]);
	return 0;
}

void shmlog__crash_remove(struct shmlog *lg)
{
	if (atomic_load(&crash_lg) != lg)
		return;
	for (size_t i = 0; i < N_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], &crash_old[i], NULL);
	atomic_store(&crash_lg, NULL);
}

void shmlog__crash_after_fork(struct shmlog *made)
{
	if (atomic_load(&crash_lg) == made && shmlog__register_now(made, &crash_site, &crash_site_id) < 0)
		shmlog__crash_remove(made);
}
