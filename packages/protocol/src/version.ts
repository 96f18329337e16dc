/** Protocol versions this package speaks, highest last. */
export const PROTOCOL_VERSIONS: readonly number[] = Object.freeze([1]);

/** The current protocol version. */
export const PROTOCOL_VERSION = 1;

/**
 * Version negotiation (docs/protocol.md §4.1): the device lists the versions it speaks in
 * `hello.versions`; the hub answers with the highest version both speak, or undefined
 * when there is none (close UNSUPPORTED_VERSION).
 */
export function negotiateVersion(
  offered: readonly number[],
  supported: readonly number[] = PROTOCOL_VERSIONS,
): number | undefined {
  let best: number | undefined;
  for (const version of offered) {
    if (supported.includes(version) && (best === undefined || version > best)) best = version;
  }
  return best;
}
