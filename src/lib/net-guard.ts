import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/**
 * The SSRF guard for requests pbfleet makes on a user's behalf (health checks, HTTP restart
 * and upgrade calls). Link-local and cloud metadata addresses are always refused; loopback
 * and private ranges only when allow-listed (`network.allowTargets`). Checking happens on
 * the resolved address at connect time, so DNS rebinding cannot slip past it.
 */
export class TargetNotAllowedError extends Error {
  override name = 'TargetNotAllowedError';
  readonly code = 'ETARGETNOTALLOWED';
}

const ALWAYS_DENIED = new BlockList();
ALWAYS_DENIED.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 metadata
ALWAYS_DENIED.addSubnet('0.0.0.0', 8, 'ipv4');
ALWAYS_DENIED.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
ALWAYS_DENIED.addSubnet('fe80::', 10, 'ipv6');
ALWAYS_DENIED.addSubnet('ff00::', 8, 'ipv6');
ALWAYS_DENIED.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
ALWAYS_DENIED.addAddress('::', 'ipv6');

const INTERNAL = new BlockList();
INTERNAL.addSubnet('127.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('10.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('172.16.0.0', 12, 'ipv4');
INTERNAL.addSubnet('192.168.0.0', 16, 'ipv4');
INTERNAL.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT, Tailscale
INTERNAL.addAddress('::1', 'ipv6');
INTERNAL.addSubnet('fc00::', 7, 'ipv6');

export interface NetGuard {
  check(address: string): void;
  /** A `lookup` for http.request/net.connect that refuses disallowed addresses. */
  lookup: typeof dnsLookup;
}

/** `allow` holds CIDRs (`127.0.0.0/8`, `10.8.0.0/16`) or single addresses. */
export function createNetGuard(allow: readonly string[]): NetGuard {
  const allowed = new BlockList();
  for (const entry of allow) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) allowed.addAddress(address, family);
    else allowed.addSubnet(address, Number(bits), family);
  }

  function check(address: string): void {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
    if (mapped) return check(mapped);
    if (ALWAYS_DENIED.check(address, family)) throw new TargetNotAllowedError(`${address} is a link-local or metadata address; never allowed`);
    if (INTERNAL.check(address, family) && !allowed.check(address, family)) {
      throw new TargetNotAllowedError(`${address} is a loopback or private address; allow it in network.allowTargets`);
    }
  }

  const lookup = ((hostname: string, options: unknown, callback: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (err: Error | null, address: string | LookupAddress[], family?: number) => void;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean; family?: number };
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      try {
        for (const a of addresses) check(a.address);
      } catch (error) {
        return cb(error as Error, '');
      }
      if (opts.all) return cb(null, addresses);
      const first = addresses[0];
      if (!first) return cb(new Error(`no address for ${hostname}`), '');
      cb(null, first.address, first.family);
    });
  }) as typeof dnsLookup;

  return { check, lookup };
}
