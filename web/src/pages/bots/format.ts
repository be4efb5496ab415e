/** Numbers and times as the bot pages show them. */

export function money(value: number | null | undefined, currency?: string | null): string {
  if (value === null || value === undefined) return '—';
  const text = value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return currency ? `${text} ${currency}` : text;
}

export function signedMoney(value: number | null | undefined, currency?: string | null): string {
  if (value === null || value === undefined) return '—';
  return `${value > 0 ? '+' : ''}${money(value, currency)}`;
}

/** `3d 4h`, `5h 12m`, `42s`: the two largest units. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const units: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  if (first < 0) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

/** Uptime of a running bot from when it started; '—' when it is not running. */
export function uptime(startedAt: string | null, status: string, now = Date.now()): string {
  if (!startedAt || (status !== 'running' && status !== 'starting')) return '—';
  return duration(now - Date.parse(startedAt));
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  return `${duration(now - Date.parse(iso))} ago`;
}

export function positions(long: number | null, short: number | null): string {
  if (long === null && short === null) return '—';
  return `${long ?? 0} L / ${short ?? 0} S`;
}
