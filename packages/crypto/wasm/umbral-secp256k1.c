/*
 * medvault's C ABI over libsecp256k1 for the Umbral group backend (MIT, like libsecp256k1).
 *
 * libsecp256k1's public API has no constant-time variable-base multiplication that returns the point
 * (its ECDH module hashes the result, `ec_pubkey_tweak_mul` is the variable-time `ecmult`). Its
 * internal `secp256k1_ecmult_const` is exactly that, so this file includes the library's single
 * compilation unit (src/secp256k1.c, fetched and checksummed by build.sh, never copied here) and exports
 * a few functions over its internals:
 *
 *   secret inputs (constant time)   mv_base_mul (ecmult_gen), mv_mul (ecmult_const), mv_add
 *                                   (gej_add_ge), mv_scalar_inv (safegcd), mv_sign (ecdsa_sign)
 *   public inputs (variable time)   mv_parse, mv_mul_public (ecmult), mv_lin (Strauss ecmult of two
 *                                   points), mv_verify (ecdsa_verify)
 *
 * Points cross the boundary as 64 bytes, x ‖ y big-endian (affine), so a point computed here is never
 * decompressed again (a square root) and a JavaScript caller can compress it by reading y's parity.
 * Only points this module produced (mv_parse validates, every other function outputs valid points) are
 * ever passed back in, so inputs are not re-validated on the constant-time paths. Scalars are 32 bytes
 * big-endian below n. Every function returns 1 on success and 0 for "the point at infinity / invalid".
 *
 * The JavaScript side (packages/crypto/src/umbral/backend-libsecp256k1.ts) writes inputs into the
 * static `io` area and reads results from it.
 */
#include "secp256k1.c"

#define EXPORT(name) __attribute__((export_name(#name))) __attribute__((visibility("default")))

/* ---- freestanding runtime: the few libc symbols the library references ---- */

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--) *--d = *--s;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) {
        if (*x != *y) return *x - *y;
    }
    return 0;
}

/* The allocating API (secp256k1_context_create, scratch spaces) is never called: the context below is
 * preallocated. Reaching one of these is a bug, and trapping is the only safe answer. */
void *malloc(size_t size) { (void)size; __builtin_trap(); }
void free(void *ptr) { (void)ptr; __builtin_trap(); }
__attribute__((noreturn)) void abort(void) { __builtin_trap(); }

/* USE_EXTERNAL_DEFAULT_CALLBACKS: an illegal argument or an internal inconsistency traps (JavaScript
 * sees a RuntimeError) instead of printing. */
void secp256k1_default_illegal_callback_fn(const char *str, void *data) { (void)str; (void)data; __builtin_trap(); }
void secp256k1_default_error_callback_fn(const char *str, void *data) { (void)str; (void)data; __builtin_trap(); }

/* ---- state ---- */

static unsigned char io[1024];
/* secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE) is a few hundred bytes. */
static unsigned char ctx_mem[1024] __attribute__((aligned(16)));
static secp256k1_context *ctx;

EXPORT(mv_io) unsigned char *mv_io(void) { return io; }

/** Creates the context and randomizes ecmult_gen's blinding with 32 fresh random bytes. */
EXPORT(mv_init) int mv_init(const unsigned char *seed32) {
    if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE) > sizeof(ctx_mem)) return 0;
    ctx = secp256k1_context_preallocated_create(ctx_mem, SECP256K1_CONTEXT_NONE);
    return ctx != NULL && secp256k1_context_randomize(ctx, seed32);
}

/* ---- helpers ---- */

static void load_point(secp256k1_ge *r, const unsigned char *in64) {
    secp256k1_fe x, y;
    /* Inputs come from this module's own outputs: always < p. */
    secp256k1_fe_set_b32_mod(&x, in64);
    secp256k1_fe_set_b32_mod(&y, in64 + 32);
    secp256k1_ge_set_xy(r, &x, &y);
}

static void store_point(unsigned char *out64, secp256k1_ge *p) {
    secp256k1_fe_normalize(&p->x);
    secp256k1_fe_normalize(&p->y);
    secp256k1_fe_get_b32(out64, &p->x);
    secp256k1_fe_get_b32(out64 + 32, &p->y);
}

/** Affine form in constant time (ge_set_gej inverts with the constant-time safegcd); 0 at infinity. */
static int store_gej(unsigned char *out64, secp256k1_gej *r) {
    secp256k1_ge g;
    int infinity = secp256k1_gej_is_infinity(r);
    secp256k1_ge_set_gej(&g, r);
    store_point(out64, &g);
    return !infinity;
}

/** Affine form in variable time (public values only). */
static int store_gej_var(unsigned char *out64, secp256k1_gej *r) {
    secp256k1_ge g;
    if (secp256k1_gej_is_infinity(r)) return 0;
    secp256k1_ge_set_gej_var(&g, r);
    store_point(out64, &g);
    return 1;
}

static int load_scalar(secp256k1_scalar *r, const unsigned char *in32) {
    int overflow;
    secp256k1_scalar_set_b32(r, in32, &overflow);
    return !overflow;
}

/* ---- public-input operations (variable time) ---- */

/** Decompresses and validates a 33-byte SEC1 point into x ‖ y; 0 if it is not on the curve. */
EXPORT(mv_parse) int mv_parse(unsigned char *out64, const unsigned char *in33) {
    secp256k1_ge p;
    if (in33[0] != 2 && in33[0] != 3) return 0;
    if (!secp256k1_eckey_pubkey_parse(&p, in33, 33)) return 0;
    store_point(out64, &p);
    return 1;
}

/** k·P with libsecp256k1's variable-time Strauss/wNAF `ecmult`: public scalar and point only. */
EXPORT(mv_mul_public) int mv_mul_public(unsigned char *out64, const unsigned char *p64, const unsigned char *k32) {
    secp256k1_ge p;
    secp256k1_gej pj, rj;
    secp256k1_scalar k;
    if (!load_scalar(&k, k32)) return 0;
    load_point(&p, p64);
    secp256k1_gej_set_ge(&pj, &p);
    secp256k1_ecmult(&rj, &pj, &k, &secp256k1_scalar_zero);
    return store_gej_var(out64, &rj);
}

/**
 * Whether z·P == R + h·Q, i.e. z·P + (−h)·Q − R is the point at infinity, with one shared doubling
 * chain (Strauss over two points). Public values only: proof verification. With `p_is_g` set, P is the
 * generator and its precomputed table is used.
 */
EXPORT(mv_lin) int mv_lin(const unsigned char *p64, int p_is_g, const unsigned char *z32, const unsigned char *q64,
                          const unsigned char *h32, const unsigned char *r64) {
    secp256k1_fe aux[2 * ECMULT_TABLE_SIZE(WINDOW_A)];
    secp256k1_ge pre_a[2 * ECMULT_TABLE_SIZE(WINDOW_A)];
    struct secp256k1_strauss_point_state ps[2];
    struct secp256k1_strauss_state state;
    secp256k1_ge p, q, r;
    secp256k1_gej pts[2], acc;
    secp256k1_scalar z, h, scalars[2];
    if (!load_scalar(&z, z32) || !load_scalar(&h, h32)) return 0;
    secp256k1_scalar_negate(&h, &h);
    load_point(&q, q64);
    load_point(&r, r64);
    state.aux = aux;
    state.pre_a = pre_a;
    state.ps = ps;
    if (p_is_g) {
        secp256k1_gej_set_ge(&pts[0], &q);
        secp256k1_ecmult_strauss_wnaf(&state, &acc, 1, pts, &h, &z);
    } else {
        load_point(&p, p64);
        secp256k1_gej_set_ge(&pts[0], &p);
        secp256k1_gej_set_ge(&pts[1], &q);
        scalars[0] = z;
        scalars[1] = h;
        secp256k1_ecmult_strauss_wnaf(&state, &acc, 2, pts, scalars, &secp256k1_scalar_zero);
    }
    return secp256k1_gej_eq_ge_var(&acc, &r);
}

/** ECDSA verification over a 32-byte prehash (compact r ‖ s); high-S signatures are refused. */
EXPORT(mv_verify) int mv_verify(const unsigned char *sig64, const unsigned char *msg32, const unsigned char *pk64) {
    secp256k1_ecdsa_signature sig;
    secp256k1_pubkey pk;
    secp256k1_ge p;
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, sig64)) return 0;
    load_point(&p, pk64);
    secp256k1_pubkey_save(&pk, &p);
    return secp256k1_ecdsa_verify(ctx, &sig, msg32, &pk);
}

/* ---- secret-input operations (constant time) ---- */

/** k·G with ecmult_gen (signed-digit multi-comb, constant time, blinded by the context). k in [1, n). */
EXPORT(mv_base_mul) int mv_base_mul(unsigned char *out64, const unsigned char *k32) {
    secp256k1_gej rj;
    secp256k1_scalar k;
    int ok = load_scalar(&k, k32) & !secp256k1_scalar_is_zero(&k);
    secp256k1_scalar_cmov(&k, &secp256k1_scalar_one, !ok);
    secp256k1_ecmult_gen(&ctx->ecmult_gen_ctx, &rj, &k);
    ok &= store_gej(out64, &rj);
    secp256k1_scalar_clear(&k);
    return ok;
}

/** k·P with ecmult_const (GLV + signed-digit fixed window, constant time in k and P). k in [0, n). */
EXPORT(mv_mul) int mv_mul(unsigned char *out64, const unsigned char *p64, const unsigned char *k32) {
    secp256k1_ge p;
    secp256k1_gej rj;
    secp256k1_scalar k;
    int ok = load_scalar(&k, k32);
    load_point(&p, p64);
    secp256k1_ecmult_const(&rj, &p, &k);
    ok &= store_gej(out64, &rj);
    secp256k1_scalar_clear(&k);
    return ok;
}

/** A + B in constant time (complete for every pair of valid points, incl. A = ±B); 0 at infinity. */
EXPORT(mv_add) int mv_add(unsigned char *out64, const unsigned char *a64, const unsigned char *b64) {
    secp256k1_ge a, b;
    secp256k1_gej aj, rj;
    load_point(&a, a64);
    load_point(&b, b64);
    secp256k1_gej_set_ge(&aj, &a);
    secp256k1_gej_add_ge(&rj, &aj, &b);
    return store_gej(out64, &rj);
}

/** k⁻¹ mod n in constant time (safegcd); 0 for k = 0 or k ≥ n. */
EXPORT(mv_scalar_inv) int mv_scalar_inv(unsigned char *out32, const unsigned char *k32) {
    secp256k1_scalar k;
    int ok = load_scalar(&k, k32) & !secp256k1_scalar_is_zero(&k);
    secp256k1_scalar_inverse(&k, &k);
    secp256k1_scalar_get_b32(out32, &k);
    secp256k1_scalar_clear(&k);
    return ok;
}

/**
 * ECDSA over a 32-byte prehash with the key `sk32`: RFC 6979 nonces hedged with 32 fresh random bytes
 * (`extra32`), low-S, written as compact r ‖ s.
 */
EXPORT(mv_sign) int mv_sign(unsigned char *out64, const unsigned char *msg32, const unsigned char *sk32,
                            const unsigned char *extra32) {
    secp256k1_ecdsa_signature sig;
    if (!secp256k1_ecdsa_sign(ctx, &sig, msg32, sk32, secp256k1_nonce_function_rfc6979, extra32)) return 0;
    return secp256k1_ecdsa_signature_serialize_compact(ctx, out64, &sig);
}
