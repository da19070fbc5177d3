/* Freestanding stand-in for <string.h>: the four functions libsecp256k1 uses, defined in
 * umbral-secp256k1.c (the compiler may also lower them to WebAssembly bulk-memory instructions). */
#ifndef MEDVAULT_SHIM_STRING_H
#define MEDVAULT_SHIM_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memmove(void *dst, const void *src, size_t n);
#endif
