import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { makePassivbotCheckout, standinConfig, standinEnv, STANDIN_ENV, writeApiKeys, type PassivbotCheckout } from './helpers/passivbot.js';

// CONTRACT.md's log line: "<timestamp> <LEVEL padded to 8> <message>", UTC with a trailing Z.
const LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z (DEBUG|INFO|WARNING|ERROR) +(\S.*)$/;
const HEALTH =
  /^\S+Z INFO {5}\[bybit\] \[health\] uptime=\S+ \| loop=\d+\.\ds \| positions=(\d+) long, (\d+) short \| balance=(\d+\.\d{2}) USDT \| orders=\+(\d+)\/-(\d+) \| fills=(\d+)(?: \(pnl=([+-]\d+\.\d{2})\))? \| errors=(\d+)\/(\d+) \| ws_reconnects=\d+ \| rate_limits=\d+ \| rss=\d+MB$/;
const FILL = /^\S+Z INFO {5}\[bybit\] \[fill\] (\S+) ([A-Z0-9]+) (long|short) ((?:entry|close)_\w+_(?:long|short)) ([+-]?\d+(?:\.\d+)?) @ (\d+(?:\.\d+)?), pnl=([+-]\d+(?:\.\d+)?) USDT id=\S+$/;
const ORDER = /^\S+Z INFO {5}\[bybit\] \[order\] (posting|cancel) ([A-Z0-9]+) \| (buy|sell) (long|short) (\d+(?:\.\d+)?)@(\d+(?:\.\d+)?) ((?:entry|close)_\w+)$/;
const BALANCE = /\[bybit\] \[balance\] raw (\d+\.\d{2}) -> (\d+\.\d{2}) \| .*equity: (\d+\.\d{2}) USDT/;
const FLOOD = /^\S+Z DEBUG {4}\[bybit\] \[flood\] seq=(\d+) t=(\d+) /;
const TIMEOUT_MS = 10_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned stand-in command with its output collected as it arrives. */
class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();

  constructor(command: string, args: string[], cwd: string, switches?: Record<string, unknown>) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(switches && standinEnv(switches)) };
    if (!switches) delete env[STANDIN_ENV];
    this.child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
    running.add(this);
    void this.exited.finally(() => running.delete(this)).catch(() => undefined);
  }

  get lines(): string[] {
    return this.stderr.split('\n').filter(Boolean);
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves once `count` stderr lines match; fails on timeout or exit, with the output. */
  async waitFor(pattern: RegExp, count = 1, timeoutMs = TIMEOUT_MS): Promise<RegExpMatchArray[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const matches = this.lines.map((line) => line.match(pattern)).filter((m): m is RegExpMatchArray => m !== null);
        if (matches.length >= count) finish(() => resolve(matches));
        else if (this.exit) finish(() => reject(new Error(`exited ${JSON.stringify(this.exit)} before ${count}x ${pattern}\n${this.stderr}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${count}x ${pattern} within ${timeoutMs}ms\n${this.stderr}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  async waitForExit(timeoutMs = TIMEOUT_MS): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not exit within ${timeoutMs}ms\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(signal);
  }
}

const running = new Set<Proc>();
const checkouts: string[] = [];

afterAll(async () => {
  for (const proc of running) proc.signal('SIGKILL');
  await Promise.all([...running].map((proc) => proc.exited.catch(() => undefined)));
  for (const dir of checkouts) rmSync(dir, { recursive: true, force: true });
});

/** A fresh checkout with api-keys.json for bybit_01, and `config` written to config.json. */
async function checkout(config: Record<string, unknown> = standinConfig()): Promise<PassivbotCheckout> {
  const pb = await makePassivbotCheckout();
  checkouts.push(pb.dir);
  await writeApiKeys(pb.dir);
  writeFileSync(join(pb.dir, 'config.json'), JSON.stringify(config));
  return pb;
}

/** `python -u src/<script> config.json ...args` in the checkout (the v7 shape). */
function script(pb: PassivbotCheckout, name: string, args: string[] = [], switches?: Record<string, unknown>): Proc {
  return new Proc(pb.python, ['-u', join(pb.dir, 'src', name), 'config.json', ...args], pb.dir, switches);
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe.concurrent('stand-in live bot', () => {
  it('boots to READY and prints [health], [order], [fill], [balance] lines in the contract formats; SIGINT stops it with exit 0', async () => {
    const pb = await checkout();
    const bot = script(pb, 'main.py');
    const [pidLine] = await bot.waitFor(/\[boot\] passivbot stand-in pid=(\d+) argv=(.*)$/);
    expect(Number(pidLine![1])).toBe(bot.child.pid);
    expect(JSON.parse(pidLine![2]!)).toEqual([join(pb.dir, 'src', 'main.py'), 'config.json']);
    await bot.waitFor(/^\S+Z INFO {5}\[bybit\] \[boot\] READY - /);
    await bot.waitFor(FILL, 3);
    await bot.waitFor(ORDER, 2);
    const healths = await bot.waitFor(HEALTH, 3);
    bot.signal('SIGINT');
    expect(await bot.waitForExit()).toEqual({ code: 0, signal: null });

    for (const line of bot.lines) expect(line).toMatch(LINE);
    expect(bot.stdout).toBe('');
    const fills = bot.lines.map((line) => line.match(FILL)).filter((m) => m !== null);
    const beforeLastHealth = bot.lines.slice(0, bot.lines.lastIndexOf(healths.at(-1)![0]));
    const fillsBefore = beforeLastHealth.map((line) => line.match(FILL)).filter((m) => m !== null);
    const health = healths.at(-1)!;
    expect(Number(health[1])).toBeGreaterThanOrEqual(1); // positions long
    expect(Number(health[6])).toBe(fillsBefore.length);
    const pnl = fillsBefore.reduce((sum, m) => sum + Number(m[7]), 0);
    expect(Math.abs(Number(health[7] ?? 0) - pnl)).toBeLessThan(0.02);
    expect(fills.every((m) => ['BTC', 'ETH'].includes(m[2]!))).toBe(true);
    expect(bot.lines.some((line) => BALANCE.test(line))).toBe(true);
    expect(bot.lines.some((line) => /\[bybit\] \[pos\] (BTC|ETH) long size=/.test(line))).toBe(true);
    expect(bot.lines).toContainEqual(expect.stringMatching(/^\S+Z INFO {5}\[bybit\] \[shutdown\] received SIGINT, shutting down bot\.\.\.$/));
    expect(bot.lines.at(-1)).toMatch(/^\S+Z INFO {5}\[bybit\] \[shutdown\] bot stopped$/);
  });

  it('exits 1 with the real traceback when the user is missing from api-keys.json', async () => {
    const pb = await checkout(standinConfig({ user: 'nobody' }));
    const bot = script(pb, 'main.py');
    expect(await bot.waitForExit()).toEqual({ code: 1, signal: null });
    expect(bot.stderr).toContain('Traceback (most recent call last):');
    expect(bot.stderr.trimEnd().split('\n').at(-1)).toBe('Exception: user nobody not found in api-keys.json');
  });

  it('exits 1 when api-keys.json is missing', async () => {
    const pb = await checkout();
    rmSync(join(pb.dir, 'api-keys.json'));
    const bot = script(pb, 'main.py');
    expect(await bot.waitForExit()).toEqual({ code: 1, signal: null });
    expect(bot.stderr.trimEnd().split('\n').at(-1)).toMatch(/^Exception: error loading api keys file api-keys\.json .*No such file/);
  });

  it('exits 1 with a traceback for a config that is not JSON or has a wrong type', async () => {
    const pb = await checkout();
    writeFileSync(join(pb.dir, 'broken.json'), '{"live": ');
    writeFileSync(join(pb.dir, 'typed.json'), JSON.stringify({ live: { leverage: 'ten' } }));
    const broken = new Proc(pb.python, ['-u', 'src/main.py', 'broken.json'], pb.dir);
    const typed = new Proc(pb.python, ['-u', 'src/main.py', 'typed.json'], pb.dir);
    expect(await broken.waitForExit()).toEqual({ code: 1, signal: null });
    expect(await typed.waitForExit()).toEqual({ code: 1, signal: null });
    expect(broken.stderr).toMatch(/Traceback \(most recent call last\):[\s\S]*json\.decoder\.JSONDecodeError: /);
    expect(typed.stderr).toMatch(/Traceback \(most recent call last\):[\s\S]*TypeError: config live\.leverage: expected int, got str/);
  });

  it('a second SIGINT during the shutdown exits 130', async () => {
    const pb = await checkout(standinConfig({ standin: { shutdown_s: 5 } }));
    const bot = script(pb, 'main.py');
    await bot.waitFor(/\[boot\] READY - /);
    bot.signal('SIGINT');
    await bot.waitFor(/\[shutdown\] received SIGINT, shutting down bot/);
    bot.signal('SIGINT');
    expect(await bot.waitForExit(3000)).toEqual({ code: 130, signal: null });
    expect(bot.stderr).not.toContain('bot stopped');
  });

  it('ignore_sigint: SIGINT is logged and ignored, only SIGKILL ends it', async () => {
    const pb = await checkout(standinConfig({ standin: { ignore_sigint: true } }));
    const bot = script(pb, 'main.py');
    await bot.waitFor(/\[boot\] READY - /);
    bot.signal('SIGINT');
    await bot.waitFor(/^\S+Z WARNING {2}\[bybit\] .*ignoring SIGINT/);
    bot.signal('SIGINT');
    const healthsBefore = (await bot.waitFor(HEALTH)).length;
    await bot.waitFor(HEALTH, healthsBefore + 2);
    expect(bot.exit).toBeUndefined();
    expect(bot.lines.filter((line) => line.includes('ignoring SIGINT'))).toHaveLength(1);
    bot.signal('SIGKILL');
    expect(await bot.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('SIGTERM kills it without a shutdown (no handler installed)', async () => {
    const pb = await checkout();
    const bot = script(pb, 'main.py');
    await bot.waitFor(HEALTH);
    bot.signal('SIGTERM');
    expect(await bot.waitForExit()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(bot.stderr).not.toContain('[shutdown]');
  });

  it('crash_after_s: an ERROR line, a traceback ending in RuntimeError, exit 1', async () => {
    const pb = await checkout(standinConfig({ standin: { crash_after_s: 0.4 } }));
    const bot = script(pb, 'main.py');
    expect(await bot.waitForExit()).toEqual({ code: 1, signal: null });
    expect(bot.stderr).toMatch(/^\S+Z ERROR {4}\[bybit\] .*crash_after_s/m);
    expect(bot.stderr).toContain('Traceback (most recent call last):');
    expect(bot.stderr.trimEnd().split('\n').at(-1)).toMatch(/^RuntimeError: /);
  });

  it('exit_zero_after_s: gives up like Passivbot (restarting bot..., max_n_restarts_per_day exceeded), exit 0', async () => {
    const pb = await checkout();
    const bot = script(pb, 'main.py', [], { exit_zero_after_s: 0.4 });
    expect(await bot.waitForExit()).toEqual({ code: 0, signal: null });
    expect(bot.stderr).toMatch(/ERROR {4}\[bybit\] passivbot error /);
    expect(bot.stderr).toMatch(/WARNING {2}\[bybit\] restarting bot\.\.\./);
    expect(bot.stderr).toMatch(/WARNING {2}\[bybit\] max_n_restarts_per_day exceeded/);
  });

  it('exit_code_on_sigint: the older v7 exit after a graceful stop (traceback, exit 1)', async () => {
    const pb = await checkout(standinConfig({ standin: { exit_code_on_sigint: 1 } }));
    const bot = script(pb, 'main.py');
    await bot.waitFor(/\[boot\] READY - /);
    bot.signal('SIGINT');
    expect(await bot.waitForExit()).toEqual({ code: 1, signal: null });
    expect(bot.stderr).toMatch(/bot stopped\n[\s\S]*Traceback[\s\S]*KeyboardInterrupt\n$/);
  });

  it('re-reads an approved coins file and logs the change', async () => {
    const pb = await checkout(standinConfig({ coins: 'configs/fleet_coins.json', standin: { fill_interval_s: 0.05 } }));
    writeFileSync(join(pb.dir, 'configs', 'fleet_coins.json'), JSON.stringify(['BTC']));
    const bot = script(pb, 'main.py');
    await bot.waitFor(/\[boot\] approved coins \(configs\/fleet_coins\.json\): long=\[BTC\] short=\[BTC\]/);
    await bot.waitFor(/\[boot\] READY - trading 1 coins/);
    writeFileSync(join(pb.dir, 'configs', 'fleet_coins.json'), JSON.stringify({ long: ['ETH', 'SOL'], short: [] }));
    await bot.waitFor(/^\S+Z INFO {5}\[bybit\] \[coins\] approved coins changed: long=\[ETH,SOL\] short=\[\]$/, 1, 5000);
    const changedAt = bot.lines.findIndex((line) => line.includes('approved coins changed'));
    await bot.waitFor(/\[fill\] \S+ (ETH|SOL) long entry_initial_normal_long/);
    // Entries only on approved coins after the change (BTC can still be closed).
    const entries = bot.lines.slice(changedAt).map((line) => line.match(FILL)).filter((m) => m !== null && m[4]!.startsWith('entry'));
    expect(entries.every((m) => m![2] !== 'BTC')).toBe(true);
    bot.signal('SIGINT');
    expect((await bot.waitForExit()).code).toBe(0);
  });

  it('flood_lines_per_s: numbered DEBUG lines without gaps, stamped with the write time', async () => {
    const pb = await checkout();
    const before = Date.now();
    const bot = script(pb, 'main.py', [], { flood_lines_per_s: 5000, health_interval_s: 0.5 });
    await bot.waitFor(FLOOD, 2500);
    bot.signal('SIGINT');
    expect((await bot.waitForExit()).code).toBe(0);
    const after = Date.now();
    const floods = bot.lines.filter((line) => line.includes('[flood]'));
    expect(floods.every((line) => FLOOD.test(line) && line.length >= 110 && line.length <= 130)).toBe(true);
    const seqs = floods.map((line) => Number(line.match(FLOOD)![1]));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const times = floods.map((line) => Number(line.match(FLOOD)![2]));
    expect(times.every((t, i) => t >= before && t <= after && (i === 0 || t >= times[i - 1]!))).toBe(true);
  });

  it('timestamps "local": the v7.8.4 style without Z; env switches win over the config', async () => {
    const pb = await checkout(standinConfig({ standin: { timestamps: 'utc', health_interval_s: 60 } }));
    const bot = script(pb, 'main.py', [], { timestamps: 'local', health_interval_s: 0.1 });
    await bot.waitFor(/\[health\] /, 3);
    bot.signal('SIGINT');
    await bot.waitForExit();
    expect(bot.lines.every((line) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2} (INFO|DEBUG|WARNING|ERROR) /.test(line))).toBe(true);
  });

  it('the CLI: --version, live (-u overrides live.user), unknown commands', async () => {
    const pb = await checkout(standinConfig({ user: 'nobody' }));
    const version = new Proc(pb.cli, ['--version'], pb.dir);
    expect(await version.waitForExit()).toEqual({ code: 0, signal: null });
    expect(version.stdout).toBe('passivbot 8.1.0\n');
    const unknown = new Proc(pb.cli, ['trade', 'config.json'], pb.dir);
    expect(await unknown.waitForExit()).toEqual({ code: 2, signal: null });
    expect(unknown.stderr).toContain('usage: passivbot');

    const bot = new Proc(pb.cli, ['live', join(pb.dir, 'config.json'), '-u', 'bybit_01'], pb.dir);
    const [pidLine] = await bot.waitFor(/\[boot\] passivbot stand-in pid=(\d+) /);
    expect(Number(pidLine![1])).toBe(bot.child.pid);
    await bot.waitFor(HEALTH);
    bot.signal('SIGINT');
    expect(await bot.waitForExit()).toEqual({ code: 0, signal: null });
    expect(bot.stderr).toContain('[shutdown] bot stopped');
  });

  it('the checkout copy is world-readable and its commands world-executable', async () => {
    const pb = await checkout();
    expect(statSync(pb.dir).mode & 0o777).toBe(0o755);
    expect(statSync(pb.python).mode & 0o777).toBe(0o755);
    expect(statSync(pb.cli).mode & 0o777).toBe(0o755);
    expect(statSync(join(pb.dir, 'src', 'main.py')).mode & 0o777).toBe(0o644);
    expect(existsSync(join(pb.dir, 'configs', 'template.json'))).toBe(true);
  });
});

describe.concurrent('stand-in backtest', () => {
  const expectedFillsColumns = [
    '', 'timestamp', 'coin', 'pnl', 'fee_paid', 'usd_total_balance', 'btc_cash_wallet', 'usd_cash_wallet', 'btc_price', 'qty', 'price',
    'psize', 'pprice', 'type', 'wallet_exposure', 'twe_long', 'twe_short', 'twe_net', 'minute', 'btc_total_balance',
  ];

  it('writes <base_dir>/<exchange>/<ts>/ with analysis, config, fills, balance_and_equity and plots; progress on stderr', async () => {
    const pb = await checkout();
    const run = script(pb, 'backtest.py', ['-e', 'binance,bybit', '-s', 'BTC,ETH,SOL', '-sd', '2024-01-01', '-ed', '2024-03-01', '-sb', '5000']);
    expect(await run.waitForExit()).toEqual({ code: 0, signal: null });
    expect(run.stdout).toBe('');
    const [stamp] = listDir(join(pb.dir, 'backtests', 'combined'));
    expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}$/);
    expect(run.stderr).not.toContain(stamp);
    const out = join(pb.dir, 'backtests', 'combined', stamp!);
    expect(listDir(out)).toEqual(['analysis.json', 'balance_and_equity.csv.gz', 'balance_and_equity.png', 'config.json', 'fills.csv', 'fills_plots']);
    expect(listDir(join(out, 'fills_plots'))).toEqual(['BTC.png', 'ETH.png', 'SOL.png']);
    expect(readFileSync(join(out, 'balance_and_equity.png')).subarray(1, 4).toString()).toBe('PNG');

    for (const exchange of ['binance', 'bybit']) {
      expect(run.lines).toContain(`  0% | ${exchange} fetching candles 0/3`);
      expect(run.lines.some((line) => new RegExp(`^ 33% \\| ${exchange} fetching candles 1/3 current=ETH ETA \\d+s$`).test(line))).toBe(true);
      expect(run.lines.some((line) => new RegExp(`^100% \\| ${exchange} fetching candles done 3/3 in \\d+\\.\\ds$`).test(line))).toBe(true);
    }
    expect(run.lines).toContain('Backtesting combined...');
    expect(run.lines.at(-1)).toMatch(/^seconds elapsed for backtest: \d+\.\d{2}$/);

    const analysisText = readFileSync(join(out, 'analysis.json'), 'utf8');
    const analysis = JSON.parse(analysisText) as Record<string, number>;
    expect(Object.keys(analysis)).toEqual(Object.keys(analysis).sort());
    for (const key of [
      'adg_usd', 'adg_btc', 'adg_w_usd', 'mdg_usd', 'gain_usd', 'gain_btc', 'drawdown_worst_usd', 'drawdown_worst_btc', 'sharpe_ratio_usd',
      'sortino_ratio_usd', 'omega_ratio_usd', 'calmar_ratio_usd', 'expected_shortfall_1pct_usd', 'sharpe_ratio_w_btc', 'adg_pnl', 'adg_pnl_w',
      'mdg_pnl_w', 'loss_profit_ratio', 'position_held_hours_max', 'position_held_hours_mean', 'position_held_hours_median',
      'positions_held_per_day', 'peak_recovery_hours_pnl', 'total_wallet_exposure_max', 'total_wallet_exposure_mean', 'volume_pct_per_day_avg',
    ]) {
      expect(typeof analysis[key], key).toBe('number');
    }
    expect(analysis.gain_usd).toBeGreaterThan(0.5);
    expect(analysis.drawdown_worst_usd).toBeGreaterThan(0);
    expect(analysis.drawdown_worst_usd).toBeLessThan(1);

    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { backtest: Record<string, unknown>; bot: { long: Record<string, number> } };
    expect(config.backtest).toMatchObject({ start_date: '2024-01-01', end_date: '2024-03-01', starting_balance: 5000, exchanges: ['binance', 'bybit'] });
    expect(Object.keys(config.bot.long)).toHaveLength(37);
    expect(config).not.toHaveProperty('_standin');

    const fills = readFileSync(join(out, 'fills.csv'), 'utf8').trimEnd().split('\n');
    expect(fills[0]!.split(',')).toEqual(expectedFillsColumns);
    expect(fills).toHaveLength(201);
    const rows = fills.slice(1).map((line) => line.split(','));
    expect(rows.map((r) => Number(r[0]))).toEqual(rows.map((_, i) => i));
    expect(new Set(rows.map((r) => r[2]))).toEqual(new Set(['BTC', 'ETH', 'SOL']));
    expect(rows.every((r) => /^(entry_(initial|grid)_normal|close_(grid|trailing|unstuck))_long$/.test(r[13]!))).toBe(true);
    const start = Date.parse('2024-01-01T00:00:00Z');
    const end = Date.parse('2024-03-01T00:00:00Z');
    expect(rows.every((r, i) => Number(r[1]) >= start && Number(r[1]) <= end && (i === 0 || Number(r[1]) >= Number(rows[i - 1]![1])))).toBe(true);
    const pnlAndFees = rows.reduce((sum, r) => sum + Number(r[3]) + Number(r[4]), 0);
    expect(Number(rows.at(-1)![5])).toBeCloseTo(5000 + pnlAndFees, 1);

    const equity = gunzipSync(readFileSync(join(out, 'balance_and_equity.csv.gz'))).toString().trimEnd().split('\n');
    expect(equity[0]).toBe(',usd_cash_wallet,usd_total_balance,usd_total_equity,btc_cash_wallet,btc_total_balance,btc_total_equity');
    expect(equity).toHaveLength(1001);
    expect(equity[1]).toMatch(/^2024-01-01 00:00:00,5000,5000,[\d.]+,0\.0,[\d.]+,[\d.]+$/);
    expect(equity.at(-1)).toMatch(/^2024-03-01 00:00:00,/);
  });

  it('-dp: no plots; a single exchange names the directory; n_fills and equity_points switches', async () => {
    const pb = await checkout();
    const run = script(pb, 'backtest.py', ['-dp'], { n_fills: 20_000, equity_points: 50 });
    expect(await run.waitForExit()).toEqual({ code: 0, signal: null });
    expect(run.lines).toContain('Backtesting binance...');
    const [stamp] = listDir(join(pb.dir, 'backtests', 'binance'));
    const out = join(pb.dir, 'backtests', 'binance', stamp!);
    expect(listDir(out)).toEqual(['analysis.json', 'balance_and_equity.csv.gz', 'config.json', 'fills.csv']);
    expect(readFileSync(join(out, 'fills.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(20_001);
    expect(gunzipSync(readFileSync(join(out, 'balance_and_equity.csv.gz'))).toString().trimEnd().split('\n')).toHaveLength(51);
  });

  it('old_format: fewer fills columns, plain balance_and_equity.csv, unsuffixed metrics', async () => {
    const pb = await checkout();
    const run = new Proc(pb.cli, ['backtest', 'config.json', '-dp'], pb.dir, { old_format: true });
    expect(await run.waitForExit()).toEqual({ code: 0, signal: null });
    const [stamp] = listDir(join(pb.dir, 'backtests', 'binance'));
    const out = join(pb.dir, 'backtests', 'binance', stamp!);
    expect(listDir(out)).toEqual(['analysis.json', 'balance_and_equity.csv', 'config.json', 'fills.csv']);
    const header = readFileSync(join(out, 'fills.csv'), 'utf8').split('\n')[0]!.split(',');
    expect(header).toEqual(['', 'timestamp', 'coin', 'pnl', 'fee_paid', 'balance', 'equity', 'qty', 'price', 'psize', 'pprice', 'type']);
    expect(readFileSync(join(out, 'balance_and_equity.csv'), 'utf8').split('\n')[0]).toBe(',balance,equity');
    const analysis = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as Record<string, number>;
    expect(analysis).toHaveProperty('adg');
    expect(analysis).toHaveProperty('drawdown_worst');
    expect(analysis).not.toHaveProperty('adg_usd');
  });

  it('fail: "Backtest failed: ..." and exit 1, no results', async () => {
    const pb = await checkout();
    const run = script(pb, 'backtest.py', [], { fail: 'no candles for BTC on binance' });
    expect(await run.waitForExit()).toEqual({ code: 1, signal: null });
    expect(run.lines.at(-1)).toBe('Backtest failed: no candles for BTC on binance');
    expect(listDir(join(pb.dir, 'backtests'))).toEqual([]);
  });

  it('SIGINT exits 130', async () => {
    const pb = await checkout();
    const run = script(pb, 'backtest.py', [], { slow_s: 20 });
    await run.waitFor(/^ {2}0% \| binance fetching candles 0\/2$/);
    run.signal('SIGINT');
    expect(await run.waitForExit()).toEqual({ code: 130, signal: null });
    expect(run.stderr).toMatch(/KeyboardInterrupt\n$/);
  });
});

describe.concurrent('stand-in optimize', () => {
  const OPT_DIR = /^\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2}_binance_91days_BTC-ETH_[0-9a-f]{8}$/;
  const GEN = /^\S+Z INFO {5}Gen (\d+) complete \| evals=(\d+) \| total=(\d+) \| front=(\d+) \| best=\S+ \| elapsed=\d+\.\ds$/;

  it('writes all_results.bin and pareto/<hash>.json with metrics; progress lines up to iters', async () => {
    const pb = await checkout();
    const run = script(pb, 'optimize.py', ['-i', '45', '-ps', '10', '-c', '2']);
    expect(await run.waitForExit()).toEqual({ code: 0, signal: null });
    const [name] = listDir(join(pb.dir, 'optimize_results'));
    expect(name).toMatch(OPT_DIR);
    const out = join(pb.dir, 'optimize_results', name!);
    expect(statSync(join(out, 'all_results.bin')).size).toBeGreaterThan(45 * 10);

    expect(run.stderr).toMatch(/INFO {5}Evaluating initial population \(10 candidates\)\.\.\./);
    const gens = run.lines.map((line) => line.match(GEN)).filter((m) => m !== null);
    expect(gens.map((m) => Number(m[3]))).toEqual([10, 20, 30, 40, 45]);
    expect(gens.map((m) => Number(m[1]))).toEqual([0, 1, 2, 3, 4]);
    expect(run.lines.some((line) => /INFO {5}Pareto update \| eval=\d+ \| front=\d+ \| /.test(line))).toBe(true);
    expect(run.lines.at(-1)).toMatch(/INFO {5}Optimization complete\.$/);

    const pareto = listDir(join(out, 'pareto'));
    expect(pareto).toHaveLength(Number(gens.at(-1)![4]));
    expect(pareto.every((file) => /^[0-9a-f]{16}\.json$/.test(file))).toBe(true);
    const member = JSON.parse(readFileSync(join(out, 'pareto', pareto[0]!), 'utf8')) as {
      bot: { long: Record<string, number> };
      live: Record<string, unknown>;
      optimize: { scoring: string[]; bounds: Record<string, number[]> };
      metrics: { stats: Record<string, { mean: number; min: number; max: number; std: number }>; objectives: Record<string, number>; constraint_violation: number };
    };
    expect(member.live.user).toBe('bybit_01');
    const { scoring, bounds } = member.optimize;
    for (const metric of scoring) {
      const stats = member.metrics.stats[metric]!;
      expect(stats.min).toBeLessThanOrEqual(stats.mean);
      expect(stats.max).toBeGreaterThanOrEqual(stats.mean);
    }
    for (const metric of ['adg_pnl', 'mdg_usd', 'loss_profit_ratio', 'drawdown_worst_usd']) expect(member.metrics.stats).toHaveProperty(metric);
    expect(Object.keys(member.metrics.objectives)).toEqual(scoring.map((_, i) => `w_${i}`));
    expect(typeof member.metrics.constraint_violation).toBe('number');
    const [low, high] = bounds.long_ema_span_0!;
    expect(member.bot.long.ema_span_0).toBeGreaterThanOrEqual(low!);
    expect(member.bot.long.ema_span_0).toBeLessThanOrEqual(high!);
  });

  it('SIGINT keeps the results written so far and exits 130', async () => {
    const pb = await checkout();
    const run = new Proc(pb.cli, ['optimize', 'config.json', '-i', '1000', '-ps', '10'], pb.dir, { slow_s: 0.3, n_pareto: 4 });
    await run.waitFor(GEN);
    run.signal('SIGINT');
    expect(await run.waitForExit()).toEqual({ code: 130, signal: null });
    expect(run.stderr).not.toContain('Optimization complete.');
    const [name] = listDir(join(pb.dir, 'optimize_results'));
    expect(listDir(join(pb.dir, 'optimize_results', name!, 'pareto'))).toHaveLength(4);
  });

  it('seeds from -t and fail', async () => {
    const pb = await checkout();
    writeFileSync(join(pb.dir, 'seed.json'), JSON.stringify(standinConfig()));
    const seeded = script(pb, 'optimize.py', ['-t', 'seed.json', '-i', '10', '-ps', '10']);
    const failing = script(pb, 'optimize.py', [], { fail: 'out of memory' });
    expect(await seeded.waitForExit()).toEqual({ code: 0, signal: null });
    expect(seeded.stderr).toContain('Loaded 1 seed configs from seed.json');
    expect(await failing.waitForExit()).toEqual({ code: 1, signal: null });
    expect(failing.stderr).toContain('Traceback (most recent call last):');
    expect(failing.stderr.trimEnd().split('\n').at(-1)).toBe('RuntimeError: out of memory');
  });
});
