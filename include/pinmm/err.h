/* SPDX-License-Identifier: MIT */
/* Error pointers, as Linux's: a pointer-returning call returns ERR_PTR(-errno) on failure. */
#ifndef PINMM_ERR_H
#define PINMM_ERR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAX_ERRNO 4095

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO;
}

static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return !ptr || IS_ERR(ptr);
}

#ifdef __cplusplus
}
#endif

#endif /* PINMM_ERR_H */
