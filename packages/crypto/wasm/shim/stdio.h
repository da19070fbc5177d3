/* Freestanding stand-in for <stdio.h>: libsecp256k1 only prints from its default callbacks, which are
 * replaced (USE_EXTERNAL_DEFAULT_CALLBACKS), and from debug helpers that are never called (so printf is
 * declared here but never linked). */
#ifndef MEDVAULT_SHIM_STDIO_H
#define MEDVAULT_SHIM_STDIO_H
int printf(const char *format, ...);
#endif
