import { BlockList, isIP } from "node:net";

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
function normalize(address: string): string {
  const trimmed = address.trim();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(trimmed) ? trimmed.slice(7) : trimmed;
}

const family = (address: string): "ipv4" | "ipv6" | undefined => {
  const version = isIP(address);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : undefined;
};

/**
 * The reverse proxies / load balancers whose `X-Forwarded-For` header is believed, so that
 * per-address login limits and logs see the device's address instead of the proxy's. Trust
 * nobody (the default) when devices connect directly: the header is then ignored, because any
 * client can send one.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly entries: readonly string[];

  /**
   * @param entries addresses (`10.0.0.5`, `::1`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
   * @throws Error naming the first entry that is neither.
   */
  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const raw of entries) {
      const [address = "", bits, extra] = raw.trim().split("/");
      const kind = family(normalize(address));
      const prefix = bits === undefined ? undefined : Number(bits);
      const max = kind === "ipv4" ? 32 : 128;
      if (
        !kind ||
        extra !== undefined ||
        (prefix !== undefined && !(/^\d+$/.test(bits as string) && prefix >= 0 && prefix <= max))
      ) {
        throw new Error(`not an IP address or CIDR range: "${raw}"`);
      }
      if (prefix === undefined) this.list.addAddress(normalize(address), kind);
      else this.list.addSubnet(normalize(address), prefix, kind);
    }
  }

  /** Parses a comma-separated list (the server's CLOUDEDGE_TRUST_PROXY); empty trusts nobody. */
  static parse(list: string): TrustedProxies {
    return new TrustedProxies(
      list
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ""),
    );
  }

  get size(): number {
    return this.entries.length;
  }

  trusts(address: string): boolean {
    const normalized = normalize(address);
    const kind = family(normalized);
    return kind !== undefined && this.list.check(normalized, kind);
  }

  /**
   * The client's address. The TCP peer, unless the peer is a trusted proxy: then the
   * rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its left
   * were written by the client and prove nothing). A malformed entry stops the walk at the
   * last trusted hop, so a forged header never yields an address that is not an address.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | readonly string[] | undefined): string {
    let address = normalize(peer ?? "unknown");
    if (forwardedFor === undefined || !this.trusts(address)) return address;
    const hops = (typeof forwardedFor === "string" ? forwardedFor : forwardedFor.join(","))
      .split(",")
      .map(normalize)
      .filter((hop) => hop !== "");
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (family(hop) === undefined) return address;
      address = hop;
      if (!this.trusts(hop)) return address;
    }
    return address;
  }
}
