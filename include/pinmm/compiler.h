/* SPDX-License-Identifier: MIT */
/*
 * What the public headers need from the language, so that a program can include <pinmm/pinmm.h>
 * as strict ISO C11 (no feature macros, -pedantic-errors) or as C++ (C++11 and later):
 *
 *   - atomics: C's <stdatomic.h>; in C++, <atomic>'s std::atomic_int ... and
 *     std::atomic_load_explicit ... brought into the global namespace, as C++23's <stdatomic.h>
 *     does. std::atomic<T> has T's size and alignment on the targets pinmm builds for (x86-64
 *     and aarch64 with GCC or Clang), so struct page keeps its 64 bytes in both languages.
 *     C++ refuses a member with a constructor in an anonymous struct, which struct page's
 *     unions are made of: those members are declared PINMM_ANON_ATOMIC(T), in C++ a plain
 *     struct around a T with the atomic operations the headers use on it (GCC's __atomic
 *     builtins, which are what std::atomic is made of).
 *   - PINMM_NORETURN (_Noreturn / [[noreturn]]) and PINMM_STATIC_ASSERT.
 *   - pinmm_spinlock_t and pinmm_rwlock_t, the lock fields of the public structures: POSIX's
 *     pthread_spinlock_t and pthread_rwlock_t, which glibc declares only when a feature macro
 *     (_POSIX_C_SOURCE >= 200112L, _GNU_SOURCE ...) asks for them. Without one, the same types
 *     are spelt here as glibc spells them, so the structures are compatible types in every
 *     translation unit. The library itself takes them with pthread_spin_lock() and friends.
 *   - loff_t, which glibc declares only with _DEFAULT_SOURCE.
 *
 * The rule that is easy to break: an atomic field is declared with a typedef (atomic_int,
 * atomic_ulong, ...), never with the _Atomic qualifier, which C++ does not have; and a header
 * includes this one (and any system header) before it opens its extern "C" block.
 */
#ifndef PINMM_COMPILER_H
#define PINMM_COMPILER_H

#include <pthread.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C++" {
#include <atomic>
}
using std::atomic_bool;
using std::atomic_int;
using std::atomic_long;
using std::atomic_llong;
using std::atomic_uint;
using std::atomic_ulong;
using std::atomic_compare_exchange_strong_explicit;
using std::atomic_compare_exchange_weak_explicit;
using std::atomic_exchange_explicit;
using std::atomic_fetch_add_explicit;
using std::atomic_fetch_and_explicit;
using std::atomic_fetch_or_explicit;
using std::atomic_fetch_sub_explicit;
using std::atomic_load_explicit;
using std::atomic_store_explicit;
using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;

extern "C++" {
template <typename T> struct pinmm_anon_atomic {
	T __value;
};
template <typename T>
inline T atomic_load_explicit(const pinmm_anon_atomic<T> *a, std::memory_order order)
{
	return __atomic_load_n(&a->__value, (int)order);
}
template <typename T>
inline void atomic_store_explicit(pinmm_anon_atomic<T> *a, T v, std::memory_order order)
{
	__atomic_store_n(&a->__value, v, (int)order);
}
template <typename T>
inline T atomic_fetch_add_explicit(pinmm_anon_atomic<T> *a, T v, std::memory_order order)
{
	return __atomic_fetch_add(&a->__value, v, (int)order);
}
template <typename T>
inline T atomic_fetch_sub_explicit(pinmm_anon_atomic<T> *a, T v, std::memory_order order)
{
	return __atomic_fetch_sub(&a->__value, v, (int)order);
}
}
#define PINMM_ANON_ATOMIC(T) pinmm_anon_atomic<T>
#define PINMM_NORETURN [[noreturn]]
#define PINMM_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PINMM_ANON_ATOMIC(T) _Atomic(T)
#include <stdatomic.h>
#define PINMM_NORETURN _Noreturn
#define PINMM_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if defined(__cplusplus) || (defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L)
typedef pthread_spinlock_t pinmm_spinlock_t;
typedef pthread_rwlock_t pinmm_rwlock_t;
#elif defined(__GLIBC__)
typedef volatile int pinmm_spinlock_t;
typedef union {
	struct __pthread_rwlock_arch_t __data;
	char __size[__SIZEOF_PTHREAD_RWLOCK_T];
	long int __align;
} pinmm_rwlock_t;
#else
#error "pinmm: without _POSIX_C_SOURCE >= 200112L, only glibc's lock types are known"
#endif

#if !defined(__cplusplus) && defined(__GLIBC__) && !defined(__USE_MISC)
typedef __loff_t loff_t;
#endif

#endif /* PINMM_COMPILER_H */
