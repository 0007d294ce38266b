/*
 * fuzz_fmt.c — the format parser and renderer against glibc's snprintf.
 *
 * The input chooses both: its bytes up to the first NUL are a format, the
 * rest are the arguments in a record's encoding (shared/record.h). A format
 * fmt_parse() accepts, with arguments record_decode_args() accepts, is
 * rendered by fmt_render() and must give exactly what glibc gives: every
 * literal as it stands and every conversion as snprintf() writes its spec
 * with the same value (a '*' width or precision clamped to FMT_MAX_WIDTH
 * first, fmt.h's one departure from printf). Where no snprintf call means
 * the same (a string holding a NUL byte, which snprintf would stop at) only
 * the renderers are compared with each other. For a bounded format, the
 * fast renderers must agree too: fmt_render_to() in every escape mode gives
 * fmt_render()'s text escaped by esc_put() within fmt_worst() (for JSON,
 * which checks UTF-8, each literal and conversion escaped on its own), and
 * fmt_render_rec() (decoding as it renders) the same within fmt_worst_rec(),
 * or NULL exactly when the arguments are malformed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shared/escape.h"
#include "shared/fmt.h"
#include "shared/record.h"

#define FUZZ_FMT_MAX 4096u /* format bytes */

/* Whether a[0..an) and b[0..bn) hold the same bytes (either may be NULL when empty). */
static bool same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* A '*' value as fmt.c uses it (clamped to FMT_MAX_WIDTH; a negative precision is none). */
static int star(const struct fmt_arg *a, bool is_prec)
{
	int32_t v = (int32_t)(a->kind == SHMLOG_ARG_INT64 ? a->v.i64 : a->v.i32);
	if (is_prec)
		return v < 0 ? -1 : v > FMT_MAX_WIDTH ? FMT_MAX_WIDTH : v;
	return v > FMT_MAX_WIDTH ? FMT_MAX_WIDTH : v < -FMT_MAX_WIDTH ? -FMT_MAX_WIDTH : v;
}

/* snprintf(b, cap, spec, [the '*' values,] value): one call per argument count, value of type T. */
#define SNPRINTF_STARS(b, cap, spec, ns, st, value)                                                             \
	((ns) == 0   ? snprintf(b, cap, spec, value)                                                              \
	 : (ns) == 1 ? snprintf(b, cap, spec, (st)[0], value)                                                     \
		     : snprintf(b, cap, spec, (st)[0], (st)[1], value))

/* The string argument a as snprintf sees it, into buf: NULL, or its bytes (and the mark). */
static const char *c_string(char *buf, const struct fmt_arg *a, bool *comparable)
{
	if (a->v.s.null)
		return NULL;
	if (memchr(a->v.s.p, 0, a->v.s.len))
		*comparable = false;
	memcpy(buf, a->v.s.p, a->v.s.len);
	size_t n = a->v.s.len;
	if (a->v.s.truncated) {
		memcpy(buf + n, FMT_TRUNCATED_MARK, FMT_TRUNCATED_MARK_LEN);
		n += FMT_TRUNCATED_MARK_LEN;
	}
	buf[n] = 0;
	return buf;
}

/*
 * What snprintf writes for conversion c: appended to want. Returns snprintf's
 * result (negative when it fails); *comparable goes false where snprintf
 * cannot mean the same.
 */
static int snprintf_conv(struct sbuf *want, const struct fmt_conv *c, const struct fmt_arg *args, bool *comparable)
{
	if (c->conv == '%') {
		sbuf_putc(want, '%');
		return 1;
	}
	int st[2], ns = 0;
	if (c->width == FMT_FROM_ARG)
		st[ns++] = star(&args[c->arg - (c->prec == FMT_FROM_ARG ? 2 : 1)], false);
	if (c->prec == FMT_FROM_ARG)
		st[ns++] = star(&args[c->arg - 1], true);
	const struct fmt_arg *a = &args[c->arg];
	static char str[0x8000 + FMT_TRUNCATED_MARK_LEN + 1];
	char *b = NULL;
	int n = -1;
	for (int pass = 0; pass < 2; pass++) { /* measure, then write */
		size_t cap = pass ? (size_t)n + 1 : 0;
		switch (a->kind) {
		case SHMLOG_ARG_INT32: n = SNPRINTF_STARS(b, cap, c->spec, ns, st, a->v.i32); break;
		case SHMLOG_ARG_INT64: n = SNPRINTF_STARS(b, cap, c->spec, ns, st, (long long)a->v.i64); break;
		case SHMLOG_ARG_DOUBLE: n = SNPRINTF_STARS(b, cap, c->spec, ns, st, a->v.d); break;
		case SHMLOG_ARG_LDOUBLE: n = SNPRINTF_STARS(b, cap, c->spec, ns, st, a->v.ld); break;
		case SHMLOG_ARG_POINTER: n = SNPRINTF_STARS(b, cap, c->spec, ns, st, (void *)(uintptr_t)a->v.ptr); break;
		case SHMLOG_ARG_STRING:
			n = SNPRINTF_STARS(b, cap, c->spec, ns, st, c_string(str, a, comparable));
			break;
		default: fz_fail(__FILE__, __LINE__, "argument kind %u", a->kind);
		}
		if (n < 0)
			return n;
		if (!pass) {
			fz_check(sbuf_reserve(want, (size_t)n + 1) == 0, "out of memory");
			b = want->data + want->len;
		}
	}
	want->len += (size_t)n;
	return n;
}

/*
 * A message cut where one literal or conversion ends and the next starts:
 * JSON escapes UTF-8 sequences, and the renderers escape each piece on its
 * own, so a sequence split across pieces is malformed in each of them.
 */
struct pieces {
	uint32_t n;
	size_t end[2 * FMT_MAX_CONVS + 1];
};

/* What glibc makes of fmt and args, into want, cut into *pc. Returns false when snprintf fails on a conversion. */
static bool snprintf_all(struct sbuf *want, struct pieces *pc, const char *fmt, const struct fmt_parsed *pf,
			 const struct fmt_arg *args, bool *comparable)
{
	pc->n = 0;
	for (uint32_t i = 0; i < pf->n_convs; i++) {
		const struct fmt_conv *c = &pf->convs[i];
		sbuf_append(want, fmt + c->lit_off, c->lit_len);
		pc->end[pc->n++] = want->len;
		if (snprintf_conv(want, c, args, comparable) < 0)
			return false;
		pc->end[pc->n++] = want->len;
	}
	sbuf_append(want, fmt + pf->tail_off, pf->tail_len);
	pc->end[pc->n++] = want->len;
	return true;
}

/*
 * The fast renderers of a bounded format, in mode esc, against text, the
 * message cut into pieces pc: each piece escaped by esc_put() on its own.
 */
static void check_bounded(const char *fmt, const struct fmt_parsed *pf, const struct fmt_arg *args,
			  const uint8_t *bytes, size_t used, const struct sbuf *text, const struct pieces *pc,
			  enum esc_mode esc)
{
	size_t worst = fmt_worst(pf, args, esc), worst_rec = fmt_worst_rec(pf, used, esc);
	size_t room = worst > worst_rec ? worst : worst_rec;
	char *want = malloc(ESC_GROWTH(esc) * text->len + 1), *buf = malloc(room + 1), *w = want;
	fz_check(want && buf, "out of memory");
	for (uint32_t i = 0, from = 0; i < pc->n; from = (uint32_t)pc->end[i++])
		if (pc->end[i] > from) /* text->data may be NULL when empty */
			w = esc_put(w, text->data + from, pc->end[i] - from, esc);
	size_t want_len = (size_t)(w - want);
	size_t n = (size_t)(fmt_render_to(buf, fmt, pf, args, esc) - buf);
	fz_check(n <= worst, "fmt_render_to wrote %zu bytes, fmt_worst said %zu", n, worst);
	fz_check(same(buf, n, want, want_len), "fmt_render_to (mode %d) [%.*s] != [%.*s]", esc, (int)n, buf,
		 (int)want_len, want);
	char *end = fmt_render_rec(buf, fmt, pf, bytes, used, esc);
	fz_check(end != NULL, "fmt_render_rec refused arguments record_decode_args took");
	n = (size_t)(end - buf);
	fz_check(n <= worst_rec, "fmt_render_rec wrote %zu bytes, fmt_worst_rec said %zu", n, worst_rec);
	fz_check(same(buf, n, want, want_len), "fmt_render_rec (mode %d) [%.*s] != [%.*s]", esc, (int)n, buf,
		 (int)want_len, want);
	free(want);
	free(buf);
}

/* Malformed arguments: the decoding renderer must refuse them too. */
static void check_malformed(const char *fmt, const struct fmt_parsed *pf, const uint8_t *bytes, size_t len)
{
	if (!pf->bounded)
		return;
	char *buf = malloc(fmt_worst_rec(pf, len, ESC_JSON) + 1);
	fz_check(buf != NULL, "out of memory");
	fz_check(fmt_render_rec(buf, fmt, pf, bytes, len, ESC_JSON) == NULL, "fmt_render_rec took malformed arguments");
	free(buf);
}

static void check_render(const char *fmt, const struct fmt_parsed *pf, const uint8_t *bytes, size_t len)
{
	struct fmt_arg args[SHMLOG_MAX_ARGS];
	size_t used;
	if (record_decode_args_used(args, pf->kinds, pf->n_args, bytes, len, &used) < 0) {
		check_malformed(fmt, pf, bytes, len);
		return;
	}
	struct sbuf got = {0}, want = {0};
	struct pieces *pc = malloc(sizeof *pc), whole = {1, {0}};
	fz_check(pc != NULL, "out of memory");
	int rc = fmt_render(&got, fmt, pf, args);
	bool comparable = true, ok = snprintf_all(&want, pc, fmt, pf, args, &comparable);
	fz_check(rc == 0 || rc == -EOVERFLOW, "fmt_render: %d", rc);
	if (comparable) {
		fz_check((rc == 0) == ok, "fmt_render %d, snprintf %s", rc, ok ? "succeeds" : "fails");
		fz_check(rc < 0 || same(got.data, got.len, want.data, want.len),
			 "format [%s]: fmt_render [%.*s] (%zu bytes), snprintf [%.*s] (%zu bytes)", fmt, (int)got.len,
			 got.data, got.len, (int)want.len, want.data, want.len);
	}
	whole.end[0] = got.len;
	/* without snprintf's pieces (a string holds a NUL) JSON's escapes cannot be told */
	if (rc == 0 && pf->bounded) {
		check_bounded(fmt, pf, args, bytes, used, &got, &whole, ESC_NONE);
		check_bounded(fmt, pf, args, bytes, used, &got, &whole, ESC_TEXT);
		if (comparable)
			check_bounded(fmt, pf, args, bytes, used, &got, pc, ESC_JSON);
	}
	free(pc);
	sbuf_free(&got);
	sbuf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	if (flen > FUZZ_FMT_MAX)
		return 0;
	char *fmt = malloc(flen + 1);
	fz_check(fmt != NULL, "out of memory");
	memcpy(fmt, data, flen);
	fmt[flen] = 0;
	/* the arguments lie at an address of their own, so a read past them is seen */
	size_t alen = nul ? size - flen - 1 : 0;
	uint8_t *bytes = malloc(alen ? alen : 1);
	fz_check(bytes != NULL, "out of memory");
	memcpy(bytes, data + flen + (nul != NULL), alen);

	struct fmt_parsed *pf = malloc(sizeof *pf);
	fz_check(pf != NULL, "out of memory");
	const char *err = NULL;
	int rc = fmt_parse(pf, fmt, flen, &err);
	fz_check(rc == 0 || (rc == -EINVAL && err && *err), "fmt_parse: %d without a reason", rc);
	if (rc == 0) {
		fz_check(pf->n_args <= SHMLOG_MAX_ARGS && pf->n_convs <= FMT_MAX_CONVS, "limits");
		check_render(fmt, pf, bytes, alen);
	}
	free(pf);
	free(bytes);
	free(fmt);
	return 0;
}
