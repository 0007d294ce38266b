/*
 * grow.h — room for one more element at the end of an array that grows by
 * doubling: the one way the collector and the tools grow their arrays.
 */
#ifndef SHMLOG_GROW_H
#define SHMLOG_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Room for element n of the array whose pointer is at slot, holding *cap
 * elements of size bytes: when n has reached *cap, the array is reallocated
 * to twice that (first elements the first time). Returns 0, or -ENOMEM with
 * the array and *cap as they were.
 */
static inline int grow_array(void *slot, uint32_t *cap, uint32_t n, size_t size, uint32_t first)
{
	if (n < *cap)
		return 0;
	uint32_t c = *cap ? 2 * *cap : first;
	void *old, *p;
	memcpy(&old, slot, sizeof old);
	if (!(p = realloc(old, (size_t)c * size)))
		return -ENOMEM;
	memcpy(slot, &p, sizeof p);
	*cap = c;
	return 0;
}

/* grow_array() for the array pointer arr (an lvalue), its element count n and its capacity cap. */
#define GROW(arr, n, cap, first) grow_array(&(arr), &(cap), (n), sizeof *(arr), (first))

#endif
