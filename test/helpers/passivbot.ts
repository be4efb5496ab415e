import { chmod, cp, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The stand-in Passivbot checkout (Python 3 standard library only): it follows
 * CONTRACT.md's command lines, files, log lines, signals and exit codes. Behaviour switches:
 * test/fixtures/passivbot/README.md.
 */
export const PASSIVBOT_FIXTURE = fileURLToPath(new URL('../fixtures/passivbot', import.meta.url));

/** The environment variable the stand-in reads its switches from (a JSON object; wins over the config's `_standin`). */
export const STANDIN_ENV = 'PASSIVBOT_STANDIN';

export interface PassivbotCheckout {
  /** The Passivbot directory (the working directory of every command). */
  dir: string;
  /** `<dir>/venv/bin/python`: runs the v7 scripts, e.g. `[python, '-u', join(dir, 'src/main.py'), config]`. */
  python: string;
  /** `<dir>/venv/bin/passivbot`: the v7.9+/v8 CLI (`live|backtest|optimize|download CONFIG`, `--version`). */
  cli: string;
}

/** Run-time leftovers that must not be copied if someone ran the fixture in place. */
const NOT_COPIED = new Set(['__pycache__', 'api-keys.json', 'backtests', 'optimize_results', 'logs']);

/**
 * Copies the fixture into a fresh directory (under `parent`, default the OS temp dir): tests write
 * api-keys.json and results there. Everything is world-readable and directories and the venv/bin
 * commands world-executable, so the checkout can also be run over SSH as another user.
 */
export async function makePassivbotCheckout(parent: string = tmpdir()): Promise<PassivbotCheckout> {
  const dir = await mkdtemp(join(parent, 'pbfleet-passivbot-'));
  await chmod(dir, 0o755);
  await cp(PASSIVBOT_FIXTURE, dir, {
    recursive: true,
    filter: (source) => !relative(PASSIVBOT_FIXTURE, source).split(sep).some((part) => NOT_COPIED.has(part)),
  });
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const executable = entry.isDirectory() || relative(dir, entry.parentPath) === join('venv', 'bin');
    await chmod(path, executable ? 0o755 : 0o644);
  }
  return { dir, python: join(dir, 'venv', 'bin', 'python'), cli: join(dir, 'venv', 'bin', 'passivbot') };
}

/** An api-keys.json entry; the stand-in only reads `exchange`. */
export type ApiKeyEntry = Record<string, unknown> & { exchange: string };

/** Writes `<dir>/api-keys.json` (default: the user `bybit_01` on bybit, as in the template config). */
export async function writeApiKeys(dir: string, users: Record<string, ApiKeyEntry> = { bybit_01: { exchange: 'bybit', key: 'key', secret: 'secret' } }): Promise<string> {
  const path = join(dir, 'api-keys.json');
  await writeFile(path, JSON.stringify(users, null, 4), { mode: 0o644 });
  return path;
}

export interface StandinConfigOverrides {
  /** live.user (default `bybit_01`). */
  user?: string;
  /** live.approved_coins (default BTC, ETH): a list, `{long, short}`, or a path to a JSON file relative to the checkout. */
  coins?: string[] | { long?: string[]; short?: string[] } | string;
  /** Stand-in switches (`_standin`), merged over fast defaults. */
  standin?: Record<string, unknown>;
}

/**
 * A small valid v7 config for the stand-in: the given user and coins, one exchange and three
 * months for backtests, a tiny optimization, and fast intervals via `_standin` (health every
 * 0.2 s, a fill every 0.3 s, an order every 0.2 s, READY after 0.05 s, a 0.1 s SIGINT shutdown).
 * Missing keys are filled from the checkout's configs/template.json, as Passivbot does.
 */
export function standinConfig(overrides: StandinConfigOverrides = {}): Record<string, unknown> {
  return {
    live: { user: overrides.user ?? 'bybit_01', approved_coins: overrides.coins ?? ['BTC', 'ETH'], ignored_coins: [], leverage: 10 },
    backtest: { base_dir: 'backtests', exchanges: ['binance'], start_date: '2024-01-01', end_date: '2024-04-01', starting_balance: 1000 },
    optimize: { iters: 40, population_size: 10, n_cpus: 1 },
    _standin: {
      health_interval_s: 0.2,
      fill_interval_s: 0.3,
      order_interval_s: 0.2,
      boot_s: 0.05,
      shutdown_s: 0.1,
      slow_s: 0.05,
      ...overrides.standin,
    },
  };
}

/** Environment variables that set stand-in switches for one process (they win over the config's `_standin`). */
export function standinEnv(switches: Record<string, unknown>): Record<string, string> {
  return { [STANDIN_ENV]: JSON.stringify(switches) };
}
