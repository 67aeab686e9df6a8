/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private: cache prefetch hints. A prefetch never faults and never changes what the program
 * computes; it only starts a line's transfer early.
 *
 * These are instructions the compiler must keep, not __builtin_prefetch() where it can be
 * avoided: GCC treats a function whose only effects are loads and __builtin_prefetch() calls as
 * free of side effects and deletes calls to it (GCC 12 at -O2 removed the device's whole
 * read-ahead helper that way). An asm volatile statement is a side effect, so it stays wherever
 * it is written.
 *
 * For writing, x86-64 has PREFETCHW (the line comes over owned, so the store that follows does
 * not need a second transfer); it is used when the compiler is told the processor has it
 * (-mprfchw, or an -march that includes it: the CMake option XCV_X86_PREFETCHW), and a read
 * prefetch is used otherwise. AArch64 has PRFM PSTL1KEEP. Other targets use the builtin.
 */
#ifndef XCV_SRC_COMMON_PREFETCH_H
#define XCV_SRC_COMMON_PREFETCH_H

/* Start moving the line holding @p towards this core, for reading. */
static inline void xcv_prefetch_read(const void *p)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ volatile("prefetcht0 (%0)" : : "r"(p));
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ volatile("prfm pldl1keep, [%0]" : : "r"(p));
#else
    __builtin_prefetch(p, 0);
#endif
}

/* Start moving the line holding @p towards this core, for writing. */
static inline void xcv_prefetch_write(const void *p)
{
#if defined(__x86_64__) && defined(__PRFCHW__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ volatile("prefetchw (%0)" : : "r"(p));
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ volatile("prefetcht0 (%0)" : : "r"(p));
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ volatile("prfm pstl1keep, [%0]" : : "r"(p));
#else
    __builtin_prefetch(p, 1);
#endif
}

#endif /* XCV_SRC_COMMON_PREFETCH_H */
