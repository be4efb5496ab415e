import { posix } from 'node:path';
import type { Runtime } from '../../environments/environments.types.js';

/** Where a bot's files live on its host, and the command line that starts it. */
export interface BotLayout {
  /** `<workDir>/instances/<id>`: config, coin lists, log, pid and exit files. */
  dir: string;
  config: string;
  approvedCoins: string;
  ignoredCoins: string;
  log: string;
  /** Remote hosts: the detached wrapper's pid and the bot's exit code. */
  pidFile: string;
  exitFile: string;
  /** Passivbot reads api-keys.json from its working directory. */
  cwd: string;
  apiKeys: string;
  argv: string[];
}

export type RuntimeShape = Runtime['kind'];

/** What running any Passivbot process needs (a bot, a backtest, an optimization). */
export type ProcessLayout = Pick<BotLayout, 'dir' | 'log' | 'cwd' | 'argv'>;

/** The passivbot console command of a CLI install: next to the venv's python, else on PATH. */
export function cliCommand(pythonPath: string): string {
  return pythonPath.includes('/') ? posix.join(posix.dirname(pythonPath), 'passivbot') : 'passivbot';
}

/**
 * `workDir` must be absolute (the host resolves it once): the config path is handed to a
 * process whose working directory is the Passivbot checkout.
 */
export function botLayout(runtime: Pick<Runtime, 'passivbotDir' | 'pythonPath'>, shape: RuntimeShape, workDir: string, instanceId: string): BotLayout {
  const dir = posix.join(workDir, 'instances', instanceId);
  const cwd = runtime.passivbotDir || workDir;
  const config = posix.join(dir, 'config.json');
  const argv =
    shape === 'cli'
      ? [cliCommand(runtime.pythonPath), 'live', config]
      : [runtime.pythonPath, '-u', posix.join(runtime.passivbotDir, 'src', 'main.py'), config];
  return {
    dir,
    config,
    approvedCoins: posix.join(dir, 'approved_coins.json'),
    ignoredCoins: posix.join(dir, 'ignored_coins.json'),
    log: posix.join(dir, 'bot.log'),
    pidFile: posix.join(dir, 'pid'),
    exitFile: posix.join(dir, 'exit'),
    cwd,
    apiKeys: posix.join(cwd, 'api-keys.json'),
    argv,
  };
}

export interface BotFile {
  path: string;
  content: string;
  mode: number;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The files a bot is started with. Inline coin lists (a list or `{long, short}`) are moved
 * into files the bot re-reads while running (CONTRACT.md §4), so a coin change can be applied
 * without a restart; a coin list that already names a file is left alone.
 */
export function botFiles(config: Record<string, unknown>, layout: BotLayout): BotFile[] {
  const live = isObject(config.live) ? { ...config.live } : {};
  const files: BotFile[] = [];
  for (const [key, path] of [
    ['approved_coins', layout.approvedCoins],
    ['ignored_coins', layout.ignoredCoins],
  ] as const) {
    const value = live[key];
    if (Array.isArray(value) || isObject(value)) {
      files.push({ path, content: `${JSON.stringify(value)}\n`, mode: 0o640 });
      live[key] = path;
    }
  }
  files.push({ path: layout.config, content: `${JSON.stringify({ ...config, live }, null, 2)}\n`, mode: 0o640 });
  return files;
}

/** Only the coin-list files: what a running bot needs to pick up a coin change. */
export function coinListFiles(config: Record<string, unknown>, layout: BotLayout): BotFile[] {
  return botFiles(config, layout).filter((f) => f.path !== layout.config);
}
