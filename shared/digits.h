/*
 * digits.h — decimal digits two at a time, for the collector's per-record
 * formatting (text.c: pids, tids, nanoseconds; fmt.c: %d, %u, %f). One
 * division by 100 and a two-byte copy from a table replace two divisions
 * by 10: the digit loops were a quarter of the collector's instructions
 * per record.
 */
#ifndef SHMLOG_DIGITS_H
#define SHMLOG_DIGITS_H

#include <stdint.h>
#include <string.h>

static const char digit_pairs[201] = "00010203040506070809"
				     "10111213141516171819"
				     "20212223242526272829"
				     "30313233343536373839"
				     "40414243444546474849"
				     "50515253545556575859"
				     "60616263646566676869"
				     "70717273747576777879"
				     "80818283848586878889"
				     "90919293949596979899";

/* Write v as exactly n digits (v < 10^n, leading zeros) ending just before
 * end; returns where they start (end - n). */
static inline char *digits_fixed_back(char *end, uint64_t v, int n)
{
	for (; n >= 2; n -= 2) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (n)
		*--end = (char)('0' + v % 10);
	return end;
}

/* Write the digits of v (no leading zeros; "0" for 0) ending just before
 * end; returns where they start. */
static inline char *digits_back(char *end, uint64_t v)
{
	while (v >= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

/* 10^0 to 10^19: every power of ten a uint64_t holds. */
static const uint64_t digits_pow10[20] = {1ull,
					  10ull,
					  100ull,
					  1000ull,
					  10000ull,
					  100000ull,
					  1000000ull,
					  10000000ull,
					  100000000ull,
					  1000000000ull,
					  10000000000ull,
					  100000000000ull,
					  1000000000000ull,
					  10000000000000ull,
					  100000000000000ull,
					  1000000000000000ull,
					  10000000000000000ull,
					  100000000000000000ull,
					  1000000000000000000ull,
					  10000000000000000000ull};

/* How many digits v has (1 for 0). */
static inline int digits_count(uint64_t v)
{
	/* log10(2) ~ 1233 / 4096: t is the count or one less. v | 1 is on the
	 * same side of every power of ten above 1 (they are even), and makes 0
	 * count as one digit. */
	uint64_t w = v | 1;
	int t = ((64 - __builtin_clzll(w)) * 1233) >> 12;
	return t + (w >= digits_pow10[t]);
}

/*
 * The eight decimal digits of v < 10^8 (leading zeros) as ASCII in a word,
 * the first digit in the lowest byte (stored little-endian, they read in
 * order). Lanes are split in place: 4+4 digits in 32-bit lanes, then 2+2 in
 * 16-bit lanes, then 1+1 in bytes; a division by 100 is (y * 5243) >> 19 for
 * y < 10^4, by 10 is (y * 103) >> 10 for y < 100, and no lane's product
 * reaches the next lane.
 */
static inline uint64_t digits_swar8(uint32_t v)
{
	uint64_t x = (uint64_t)(v / 10000u) | ((uint64_t)(v % 10000u) << 32);
	uint64_t hundreds = ((x * 5243u) >> 19) & 0x0000007F0000007Full;
	x = hundreds | ((x - hundreds * 100u) << 16);
	uint64_t tens = ((x * 103u) >> 10) & 0x000F000F000F000Full;
	x = tens | ((x - tens * 10u) << 8);
	return x | 0x3030303030303030ull;
}

/* Room past the digits that digits_put() and digits_fixed_put() may overwrite. */
#define DIGITS_SLACK 8

/*
 * Write v as exactly n digits (v < 10^n, leading zeros, 1 <= n <= 20) at p,
 * and up to DIGITS_SLACK bytes of junk after them. Returns p + n.
 */
static inline char *digits_fixed_put(char *p, uint64_t v, int n)
{
	if (n > 8) {
		p = digits_fixed_put(p, v / 100000000u, n - 8);
		v %= 100000000u;
		n = 8;
	}
	uint64_t x = digits_swar8((uint32_t)v) >> (8 * (8 - n)); /* drop the leading zeros beyond n */
	memcpy(p, &x, 8);
	return p + n;
}

/*
 * Write the digits of v at p (no leading zeros; "0" for 0), and up to
 * DIGITS_SLACK bytes of junk after them. Returns the end of the digits.
 */
static inline char *digits_put(char *p, uint64_t v)
{
	if (v < 10) { /* the commonest number of all */
		*p = (char)('0' + v);
		return p + 1;
	}
	return digits_fixed_put(p, v, digits_count(v));
}

#endif
