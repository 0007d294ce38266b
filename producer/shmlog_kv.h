/*
 * shmlog_kv.h — SHMLOG_TRACE_KV ... SHMLOG_CRITICAL_KV, the logging macros
 * with structured fields, and their machinery (C: _Generic; C++: templates).
 * Part of shmlog.h, which includes it: include <shmlog.h>, not this file.
 */
#ifndef SHMLOG_KV_H
#define SHMLOG_KV_H

#ifndef SHMLOG_H
#error "include <shmlog.h>, which includes shmlog_kv.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- structured fields: the machinery of SHMLOG_*_KV ---- */

#ifndef __cplusplus
/* A value's field kind; no default branch, so any other type does not compile. */
#define SHMLOG__FKIND(v)                                                                                   \
	_Generic((v), char: SHMLOG__F_I64, signed char: SHMLOG__F_I64, short: SHMLOG__F_I64,              \
		int: SHMLOG__F_I64, long: SHMLOG__F_I64, long long: SHMLOG__F_I64,                        \
		unsigned char: SHMLOG__F_U64, unsigned short: SHMLOG__F_U64, unsigned int: SHMLOG__F_U64, \
		unsigned long: SHMLOG__F_U64, unsigned long long: SHMLOG__F_U64, float: SHMLOG__F_F64,    \
		double: SHMLOG__F_F64, _Bool: SHMLOG__F_BOOL, char *: SHMLOG__F_STRING,                   \
		const char *: SHMLOG__F_STRING)

/* Bytes a value may take in a record. */
#define SHMLOG__FWORST(v)                                                                                  \
	_Generic((v), char: 8u, signed char: 8u, short: 8u, int: 8u, long: 8u, long long: 8u,             \
		unsigned char: 8u, unsigned short: 8u, unsigned int: 8u, unsigned long: 8u,               \
		unsigned long long: 8u, float: 8u, double: 8u, _Bool: 1u, char *: 2u + SHMLOG_MAX_STRING, \
		const char *: 2u + SHMLOG_MAX_STRING)

/* The inline path's store for a value. */
#define SHMLOG__FPUT(v)                                                                                    \
	_Generic((v), char: shmlog__put_i64, signed char: shmlog__put_i64, short: shmlog__put_i64,        \
		int: shmlog__put_i64, long: shmlog__put_i64, long long: shmlog__put_i64,                  \
		unsigned char: shmlog__put_u64, unsigned short: shmlog__put_u64,                          \
		unsigned int: shmlog__put_u64, unsigned long: shmlog__put_u64,                            \
		unsigned long long: shmlog__put_u64, float: shmlog__put_f64, double: shmlog__put_f64,     \
		_Bool: shmlog__put_bool, char *: shmlog__put_str, const char *: shmlog__put_str)

/* The general path reads field values from its va_list as these exact types. */
static inline long long shmlog__fv_i64(long long v) { return v; }
static inline unsigned long long shmlog__fv_u64(unsigned long long v) { return v; }
static inline double shmlog__fv_f64(double v) { return v; }
static inline int shmlog__fv_bool(_Bool v) { return v; }
static inline const char *shmlog__fv_str(const char *v) { return v; }

#define SHMLOG__FARG(v)                                                                                    \
	_Generic((v), char: shmlog__fv_i64, signed char: shmlog__fv_i64, short: shmlog__fv_i64,           \
		int: shmlog__fv_i64, long: shmlog__fv_i64, long long: shmlog__fv_i64,                     \
		unsigned char: shmlog__fv_u64, unsigned short: shmlog__fv_u64,                            \
		unsigned int: shmlog__fv_u64, unsigned long: shmlog__fv_u64,                              \
		unsigned long long: shmlog__fv_u64, float: shmlog__fv_f64, double: shmlog__fv_f64,        \
		_Bool: shmlog__fv_bool, char *: shmlog__fv_str, const char *: shmlog__fv_str)(v)

#define SHMLOG__FK_(k, v) SHMLOG__FKIND(v),
#define SHMLOG__FW_(k, v) +SHMLOG__FWORST(v)
#define SHMLOG__FP_(k, v) shmlog__p_ = SHMLOG__FPUT(v)(shmlog__p_, (v));
#define SHMLOG__FA_(k, v) , SHMLOG__FARG(v)
#else
/* C++: a value's field kind, as SHMLOG__FKIND and SHMLOG__FWORST give it in C. */
extern "C++" {
namespace shmlog__cxx {
template <class A> constexpr kind field_kind()
{
	if constexpr (std::is_same_v<A, bool>) {
		return {SHMLOG__F_BOOL, 1u};
	} else if constexpr (is_text<A> || is_cstr<A>) {
		return string_kind(SHMLOG__F_STRING);
	} else if constexpr (std::is_integral_v<A>) {
		static_assert(sizeof(A) <= 8, "a SHMLOG_*_KV integer value has at most 64 bits");
		return {std::is_same_v<A, char> || std::is_signed_v<A> ? SHMLOG__F_I64 : SHMLOG__F_U64, 8u};
	} else {
		static_assert(std::is_same_v<A, float> || std::is_same_v<A, double>,
			      "a SHMLOG_*_KV value is an integer, float, double, bool, a C string, "
			      "std::string or std::string_view");
		return {SHMLOG__F_F64, 8u};
	}
}

template <class T> __attribute__((always_inline)) inline uint8_t *fput(uint8_t *p, const T &v)
{
	using A = arg_t<const T &>;
	constexpr int k = field_kind<A>().id;
	if constexpr (k == SHMLOG__F_STRING)
		return put_string(p, v);
	else if constexpr (k == SHMLOG__F_BOOL)
		return shmlog__put_bool(p, v);
	else if constexpr (k == SHMLOG__F_I64)
		return shmlog__put_i64(p, static_cast<long long>(v));
	else if constexpr (k == SHMLOG__F_U64)
		return shmlog__put_u64(p, static_cast<unsigned long long>(v));
	else
		return shmlog__put_f64(p, static_cast<double>(v));
}

/* A value as the general path reads it from its va_list (shmlog__fv_* in C). */
template <class T> inline auto farg(const T &v, std::string &&tmp)
{
	using A = arg_t<const T &>;
	constexpr int k = field_kind<A>().id;
	if constexpr (k == SHMLOG__F_STRING)
		return static_cast<const char *>(varg(v, static_cast<std::string &&>(tmp)));
	else if constexpr (k == SHMLOG__F_BOOL)
		return static_cast<int>(v);
	else if constexpr (k == SHMLOG__F_I64)
		return static_cast<long long>(v);
	else if constexpr (k == SHMLOG__F_U64)
		return static_cast<unsigned long long>(v);
	else
		return static_cast<double>(v);
}
} /* namespace shmlog__cxx */
}

#define SHMLOG__FK_(k, v) shmlog__cxx::field_kind<shmlog__cxx::arg_t<decltype((v))>>().id,
#define SHMLOG__FW_(k, v) +shmlog__cxx::field_kind<shmlog__cxx::arg_t<decltype((v))>>().worst
#define SHMLOG__FP_(k, v) shmlog__p_ = shmlog__cxx::fput(shmlog__p_, (v));
#define SHMLOG__FA_(k, v) , shmlog__cxx::farg((v), std::string())
#endif

/* Per-pair pieces, applied by SHMLOG__KV_EACH below. A key pasted between
 * two empty literals is a string literal or a syntax error. */
#define SHMLOG__FCHK_(k, v)                                                                                \
	SHMLOG__STATIC_ASSERT(sizeof("" k "") > 1 && sizeof("" k "") <= 256,                                      \
		       "a SHMLOG_*_KV key is a non-empty string literal of at most 255 bytes");
#define SHMLOG__FKEY_(k, v) "" k "",

/* Elements of a parenthesised list (up to 40, so that 17 pairs still count
 * and are refused by the static assert), and a per-pair map of up to 16. */
#define SHMLOG__KVN(...) SHMLOG__KVN_(__VA_ARGS__, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define SHMLOG__KVN_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, n, ...) n
#define SHMLOG__UNPAREN(...) __VA_ARGS__
#define SHMLOG__KV_EACH(M, kv) SHMLOG__KV_EACH_(SHMLOG__CAT(SHMLOG__PAIRS_, SHMLOG__KVN kv), M, SHMLOG__UNPAREN kv)
#define SHMLOG__KV_EACH_(F, M, ...) F(M, __VA_ARGS__)
#define SHMLOG__PAIRS_2(M, k, v) M(k, v)
#define SHMLOG__PAIRS_4(M, k, v, ...) M(k, v) SHMLOG__PAIRS_2(M, __VA_ARGS__)
#define SHMLOG__PAIRS_6(M, k, v, ...) M(k, v) SHMLOG__PAIRS_4(M, __VA_ARGS__)
#define SHMLOG__PAIRS_8(M, k, v, ...) M(k, v) SHMLOG__PAIRS_6(M, __VA_ARGS__)
#define SHMLOG__PAIRS_10(M, k, v, ...) M(k, v) SHMLOG__PAIRS_8(M, __VA_ARGS__)
#define SHMLOG__PAIRS_12(M, k, v, ...) M(k, v) SHMLOG__PAIRS_10(M, __VA_ARGS__)
#define SHMLOG__PAIRS_14(M, k, v, ...) M(k, v) SHMLOG__PAIRS_12(M, __VA_ARGS__)
#define SHMLOG__PAIRS_16(M, k, v, ...) M(k, v) SHMLOG__PAIRS_14(M, __VA_ARGS__)
#define SHMLOG__PAIRS_18(M, k, v, ...) M(k, v) SHMLOG__PAIRS_16(M, __VA_ARGS__)
#define SHMLOG__PAIRS_20(M, k, v, ...) M(k, v) SHMLOG__PAIRS_18(M, __VA_ARGS__)
#define SHMLOG__PAIRS_22(M, k, v, ...) M(k, v) SHMLOG__PAIRS_20(M, __VA_ARGS__)
#define SHMLOG__PAIRS_24(M, k, v, ...) M(k, v) SHMLOG__PAIRS_22(M, __VA_ARGS__)
#define SHMLOG__PAIRS_26(M, k, v, ...) M(k, v) SHMLOG__PAIRS_24(M, __VA_ARGS__)
#define SHMLOG__PAIRS_28(M, k, v, ...) M(k, v) SHMLOG__PAIRS_26(M, __VA_ARGS__)
#define SHMLOG__PAIRS_30(M, k, v, ...) M(k, v) SHMLOG__PAIRS_28(M, __VA_ARGS__)
#define SHMLOG__PAIRS_32(M, k, v, ...) M(k, v) SHMLOG__PAIRS_30(M, __VA_ARGS__)

/* SHMLOG__LOG with fields: the same steps, the values stored after the
 * arguments (inline) or passed after them, converted (general path). */
#define SHMLOG__LOG_KV(lg, lvl, kv, fmt_, ...)                                                                \
	do {                                                                                               \
		SHMLOG__STATIC_ASSERT(SHMLOG__KVN kv % 2 == 0 && SHMLOG__KVN kv <= 2 * SHMLOG__MAX_FIELDS,       \
			       "SHMLOG_*_KV takes 1 to 16 (key, value) pairs");                            \
		SHMLOG__KV_EACH(SHMLOG__FCHK_, kv)                                                         \
		static const struct shmlog__fields shmlog__fields_ = {                                     \
			SHMLOG__KVN kv / 2, {SHMLOG__KV_EACH(SHMLOG__FK_, kv)},                            \
			{SHMLOG__KV_EACH(SHMLOG__FKEY_, kv)}};                                             \
		static struct shmlog__site shmlog__site_ =                                                 \
			SHMLOG__SITE_INIT(fmt_, lvl, &shmlog__fields_, ##__VA_ARGS__);                      \
		struct shmlog *shmlog__lg_ = (lg);                                                         \
		struct shmlog__tls *shmlog__t_ = shmlog__slot(shmlog__lg_);                                \
		if (__builtin_expect(shmlog__enabled(shmlog__lg_, shmlog__t_, (lvl)), 1)) {                \
			if (0)                                                                             \
				shmlog__check_format(fmt_ SHMLOG__EACH(SHMLOG__V_, ##__VA_ARGS__));        \
			struct shmlog__ring *shmlog__rp_;                                                  \
			uint64_t shmlog__ts_;                                                              \
			uint8_t *shmlog__p_ = shmlog__begin(                                               \
				shmlog__t_, &shmlog__site_,                                                \
				16u SHMLOG__EACH(SHMLOG__W_, ##__VA_ARGS__) SHMLOG__KV_EACH(SHMLOG__FW_, kv), \
				&shmlog__rp_, &shmlog__ts_);                                               \
			if (__builtin_expect(shmlog__p_ != (uint8_t *)0, 1)) {                             \
				uint8_t *shmlog__start_ = shmlog__p_ - 16;                                 \
				SHMLOG__EACH(SHMLOG__P_, ##__VA_ARGS__)                                    \
				SHMLOG__KV_EACH(SHMLOG__FP_, kv)                                           \
				shmlog__end(shmlog__rp_, shmlog__start_, shmlog__p_, shmlog__ts_);         \
			} else {                                                                           \
				shmlog__log(shmlog__lg_, &shmlog__site_ SHMLOG__EACH(SHMLOG__V_, ##__VA_ARGS__) \
					    SHMLOG__KV_EACH(SHMLOG__FA_, kv));                             \
			}                                                                                  \
		}                                                                                          \
	} while (0)

/*
 * Log at a level with structured fields: the first group is a parenthesised
 * list of alternating keys and values, then the format and its arguments as
 * for SHMLOG_INFO:
 *
 *   SHMLOG_INFO_KV(lg, ("user_id", uid, "ip", ip, "admin", is_admin), "user %s logged in", name);
 *
 * 1 to 16 pairs (more, an odd count or none do not compile). A key is a
 * string literal of 1 to 255 bytes (anything else does not compile), stored
 * once per call site in the segment, never per record. A value is typed by
 * its C type: signed integers of every width (char included) are stored as
 * int64, unsigned ones as uint64, float and double as double, bool as bool
 * (the constants true and false are ints in C: a bool variable or a cast),
 * char * and const char * by value as %s is (up to SHMLOG_MAX_STRING bytes,
 * then cut and marked truncated; NULL allowed). Any other type (a pointer, a
 * struct, long double) does not compile. Each value is evaluated exactly once,
 * only when the level passes. The output shows the message, then the fields:
 * " key=value" in the text format, a "fields" object in JSON (docs/fields.md).
 */
#define SHMLOG_TRACE_KV(lg, kv, fmt, ...) SHMLOG__LOG_KV(lg, SHMLOG_LEVEL_TRACE, kv, fmt, ##__VA_ARGS__)
#define SHMLOG_DEBUG_KV(lg, kv, fmt, ...) SHMLOG__LOG_KV(lg, SHMLOG_LEVEL_DEBUG, kv, fmt, ##__VA_ARGS__)
#define SHMLOG_INFO_KV(lg, kv, fmt, ...) SHMLOG__LOG_KV(lg, SHMLOG_LEVEL_INFO, kv, fmt, ##__VA_ARGS__)
#define SHMLOG_WARN_KV(lg, kv, fmt, ...) SHMLOG__LOG_KV(lg, SHMLOG_LEVEL_WARN, kv, fmt, ##__VA_ARGS__)
#define SHMLOG_ERROR_KV(lg, kv, fmt, ...) SHMLOG__LOG_KV(lg, SHMLOG_LEVEL_ERROR, kv, fmt, ##__VA_ARGS__)
#define SHMLOG_CRITICAL_KV(lg, kv, fmt, ...) SHMLOG__LOG_KV(lg, SHMLOG_LEVEL_CRITICAL, kv, fmt, ##__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
