/**
 * @packageDocumentation
 *
 * medvault's cryptographic core (work in progress).
 */
export const placeholder = true
