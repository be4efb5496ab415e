/**
 * Passivbot's backtest metrics in words: a plain-language name, a unit and which way is better,
 * by base name (`adg`), whatever the suffix (`_usd`, `_btc`, `_w` for the mean over 10 trailing
 * slices). Keys not listed here are shown raw after the known ones.
 */

export type MetricUnit = 'pct' | 'pct_day' | 'multiple' | 'ratio' | 'hours' | 'per_day' | 'usd' | 'count';

export interface MetricInfo {
  label: string;
  unit: MetricUnit;
  /** Which value is better, for highlighting; undefined when neither is. */
  better?: 'high' | 'low';
  help?: string;
}

const KNOWN: Record<string, MetricInfo> = {
  adg: { label: 'Average daily gain', unit: 'pct_day', better: 'high', help: 'Mean daily change of equity' },
  mdg: { label: 'Median daily gain', unit: 'pct_day', better: 'high' },
  gain: { label: 'Gain', unit: 'multiple', better: 'high', help: 'Final equity / starting equity' },
  drawdown_worst: { label: 'Worst drawdown', unit: 'pct', better: 'low', help: 'Largest peak-to-trough fall of equity' },
  drawdown_worst_mean_1pct: { label: 'Worst 1% drawdowns (mean)', unit: 'pct', better: 'low' },
  sharpe_ratio: { label: 'Sharpe ratio', unit: 'ratio', better: 'high' },
  sortino_ratio: { label: 'Sortino ratio', unit: 'ratio', better: 'high' },
  omega_ratio: { label: 'Omega ratio', unit: 'ratio', better: 'high' },
  calmar_ratio: { label: 'Calmar ratio', unit: 'ratio', better: 'high' },
  sterling_ratio: { label: 'Sterling ratio', unit: 'ratio', better: 'high' },
  expected_shortfall_1pct: { label: 'Expected shortfall (worst 1% of days)', unit: 'pct', better: 'low' },
  equity_balance_diff_neg_max: { label: 'Equity below balance (max)', unit: 'pct', better: 'low' },
  equity_balance_diff_neg_mean: { label: 'Equity below balance (mean)', unit: 'pct', better: 'low' },
  equity_balance_diff_pos_max: { label: 'Equity above balance (max)', unit: 'pct' },
  equity_balance_diff_pos_mean: { label: 'Equity above balance (mean)', unit: 'pct' },
  adg_pnl: { label: 'Average daily gain from realised PnL', unit: 'pct_day', better: 'high' },
  mdg_pnl: { label: 'Median daily gain from realised PnL', unit: 'pct_day', better: 'high' },
  loss_profit_ratio: { label: 'Loss / profit ratio', unit: 'ratio', better: 'low', help: '|sum of losses| / sum of profits' },
  positions_held_per_day: { label: 'Positions opened per day', unit: 'per_day' },
  position_held_hours_max: { label: 'Longest position held', unit: 'hours', better: 'low' },
  position_held_hours_mean: { label: 'Position held (mean)', unit: 'hours', better: 'low' },
  position_held_hours_median: { label: 'Position held (median)', unit: 'hours', better: 'low' },
  position_unchanged_hours_max: { label: 'Longest position unchanged', unit: 'hours', better: 'low' },
  peak_recovery_hours_pnl: { label: 'Longest recovery to a PnL peak', unit: 'hours', better: 'low' },
  peak_recovery_hours_equity: { label: 'Longest recovery to an equity peak', unit: 'hours', better: 'low' },
  total_wallet_exposure_max: { label: 'Total wallet exposure (max)', unit: 'multiple', better: 'low' },
  total_wallet_exposure_mean: { label: 'Total wallet exposure (mean)', unit: 'multiple', better: 'low' },
  volume_pct_per_day_avg: { label: 'Volume per day (mean, % of balance)', unit: 'ratio' },
  equity_choppiness: { label: 'Equity choppiness', unit: 'ratio', better: 'low' },
  equity_jerkiness: { label: 'Equity jerkiness', unit: 'ratio', better: 'low' },
  exponential_fit_error: { label: 'Exponential fit error', unit: 'ratio', better: 'low' },
  flat_btc_balance_hours: { label: 'Hours with flat BTC balance', unit: 'hours' },
  btc_fills_per_day: { label: 'BTC fills per day', unit: 'per_day' },
  n_fills: { label: 'Fills', unit: 'count' },
};

/** The order the common metrics are shown in (the rest follow alphabetically). */
const COMMON = Object.keys(KNOWN);

export interface Described extends MetricInfo {
  key: string;
  base: string;
  /** ` (USD)`, ` (BTC)`, ` (10 slices)`, combined. */
  qualifier: string;
  known: boolean;
}

export function describeMetric(key: string): Described {
  let base = key;
  const parts: string[] = [];
  for (;;) {
    const match = /_(usd|btc|w)$/.exec(base);
    if (!match || KNOWN[base]) break;
    base = base.slice(0, -match[0].length);
    parts.unshift(match[1] === 'w' ? 'mean of 10 trailing slices' : match[1]!.toUpperCase());
  }
  const info = KNOWN[base];
  if (!info) return { key, base: key, qualifier: '', known: false, label: key, unit: 'ratio' };
  return { key, base, qualifier: parts.length ? ` (${parts.join(', ')})` : '', known: true, ...info };
}

/** Known metrics in the common order (USD before BTC), then unknown ones alphabetically. */
export function orderedMetrics(keys: Iterable<string>): Described[] {
  const all = [...new Set(keys)].map(describeMetric);
  const rank = (d: Described) => (d.known ? COMMON.indexOf(d.base) : COMMON.length);
  const suffixRank = (d: Described) => (d.key.includes('_btc') ? 2 : 0) + (/_w(_|$)/.test(d.key) ? 1 : 0);
  return all.sort((a, b) => rank(a) - rank(b) || suffixRank(a) - suffixRank(b) || a.key.localeCompare(b.key));
}

const plain = (n: number, digits = 4) => (Math.abs(n) >= 1e6 || (n !== 0 && Math.abs(n) < 1e-4) ? n.toExponential(3) : n.toLocaleString('en-US', { maximumFractionDigits: digits }));

export function formatMetric(value: number | string | null | undefined, unit: MetricUnit): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  switch (unit) {
    case 'pct':
      return `${plain(value * 100, 2)} %`;
    case 'pct_day':
      return `${plain(value * 100, 3)} %/day`;
    case 'multiple':
      return `×${plain(value, 3)}`;
    case 'hours':
      return `${plain(value, 1)} h`;
    case 'per_day':
      return `${plain(value, 2)}/day`;
    case 'usd':
      return `${plain(value, 2)} USD`;
    case 'count':
      return plain(value, 0);
    default:
      return plain(value);
  }
}

/** Index of the best value in a row (ties: the first), or -1 when the metric has no direction or fewer than two values. */
export function bestIndex(values: (number | string | null | undefined)[], better: 'high' | 'low' | undefined): number {
  if (!better) return -1;
  let best = -1;
  let numbers = 0;
  values.forEach((v, i) => {
    if (typeof v !== 'number') return;
    numbers++;
    const current = values[best];
    if (best < 0 || (better === 'high' ? v > (current as number) : v < (current as number))) best = i;
  });
  return numbers >= 2 ? best : -1;
}

export function money(value: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
