/* Freestanding stand-in for <stdlib.h>: libsecp256k1 includes it for malloc/free/abort, which the
 * context-allocating API uses. medvault's glue never calls that API (its one context is preallocated in
 * static memory), so these are defined to trap; see umbral-secp256k1.c. */
#ifndef MEDVAULT_SHIM_STDLIB_H
#define MEDVAULT_SHIM_STDLIB_H
#include <stddef.h>
void *malloc(size_t size);
void free(void *ptr);
__attribute__((noreturn)) void abort(void);
#endif
