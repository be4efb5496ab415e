import Type, { type Static, type TSchema } from 'typebox';
import { Timestamp } from '../../http/schemas.js';
import type { Runtime, SystemInfoItem } from './environments.types.js';

export interface SystemInfo {
  /** Distribution and version, e.g. "Debian GNU/Linux 12 (bookworm)". */
  os: SystemInfoItem<string>;
  kernel: SystemInfoItem<string>;
  arch: SystemInfoItem<string>;
  /** Online CPUs. */
  cpuCores: SystemInfoItem<number>;
  cpuModel: SystemInfoItem<string>;
  loadAverage: SystemInfoItem<{ one: number; five: number; fifteen: number }>;
  /** used = MemTotal - MemAvailable: page cache the kernel can drop does not count as used. */
  memory: SystemInfoItem<{ totalBytes: number; usedBytes: number }>;
  swap: SystemInfoItem<{ totalBytes: number; usedBytes: number }>;
  /**
   * The file system holding the data path. `path` is the path measured: the data path, or its
   * nearest existing parent when it does not exist yet (then `reason` says so).
   */
  disk: SystemInfoItem<{ path: string; totalBytes: number; usedBytes: number }>;
  uptimeSeconds: SystemInfoItem<number>;
  pythonVersion: SystemInfoItem<string>;
  /** v7: `git describe` (without a leading v) and the short commit; cli: `passivbot --version`. */
  passivbotVersion: SystemInfoItem<{ version: string | null; commit: string | null; kind: Runtime['kind'] }>;
  /** Passivbot processes: live, backtest and optimize (optimizer workers count too). */
  processCount: SystemInfoItem<number>;
  collectedAt: string;
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Item = <T extends TSchema>(value: T) =>
  Type.Object({ value: Nullable(value), reason: Type.Optional(Type.String({ description: 'why value is null, or a caveat about it' })) });
const Bytes = Type.Integer({ minimum: 0 });
const Usage = Type.Object({ totalBytes: Bytes, usedBytes: Bytes });

export const SystemInfoSchema = Type.Object(
  {
    os: Item(Type.String()),
    kernel: Item(Type.String()),
    arch: Item(Type.String()),
    cpuCores: Item(Type.Integer({ minimum: 1 })),
    cpuModel: Item(Type.String()),
    loadAverage: Item(Type.Object({ one: Type.Number(), five: Type.Number(), fifteen: Type.Number() })),
    memory: Item(Usage),
    swap: Item(Usage),
    disk: Item(Type.Object({ path: Type.String(), totalBytes: Bytes, usedBytes: Bytes })),
    uptimeSeconds: Item(Type.Integer({ minimum: 0 })),
    pythonVersion: Item(Type.String()),
    passivbotVersion: Item(Type.Object({ version: Nullable(Type.String()), commit: Nullable(Type.String()), kind: Type.Enum(['v7', 'cli']) })),
    processCount: Item(Type.Integer({ minimum: 0 })),
    collectedAt: Timestamp,
  },
  { $id: 'SystemInfo', description: 'What a host reported; an item it could not report is null with a reason' },
);

// The interface above is the readable one; this keeps the schema from drifting away from it.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _schemaMatchesType: Same<SystemInfo, Static<typeof SystemInfoSchema>> = true;

export const SYSTEM_INFO_BEGIN = 'pbfleet-sysinfo:begin';
export const SYSTEM_INFO_END = 'pbfleet-sysinfo:end';

/**
 * The collector: one POSIX sh script, constant text. The data path, Passivbot dir, python and
 * runtime kind arrive as $1..$4, never inside the text. Prints `key=value`, or `key!=reason`
 * when an item is unavailable; every tool it uses is optional. Written for dash, bash and
 * busybox ash; no `\\` or `\'` inside (the SSH user's login shell re-reads the quoted text).
 */
export const SYSTEM_INFO_SCRIPT = `
data=$1 pbdir=$2 py=$3 kind=$4
LC_ALL=C
export LC_ALL
unset OMP_NUM_THREADS OMP_THREAD_LIMIT
nl='
'
oneline() {
  o=$1
  r=
  while :; do
    case $o in
      *"$nl"*) r="$r\${o%%"$nl"*} "; o=\${o#*"$nl"} ;;
      *) break ;;
    esac
  done
  printf '%s' "$r$o"
}
put() { printf '%s=%s\\n' "$1" "$(oneline "$2")"; }
fail() { printf '%s!=%s\\n' "$1" "$(oneline "$2")"; }
has() { command -v "$1" >/dev/null 2>&1; }
# One hung tool (df on a dead NFS mount, git on a slow disk) must not cost every other item.
if has timeout && timeout 5 true >/dev/null 2>&1; then
  t() { timeout 5 "$@" </dev/null; }
else
  t() { "$@" </dev/null; }
fi
printf '\\n%s\\n' ${SYSTEM_INFO_BEGIN}

osname=
for f in /etc/os-release /usr/lib/os-release; do
  [ -r "$f" ] || continue
  while IFS='=' read -r k v || [ -n "$k" ]; do
    [ "$k" = PRETTY_NAME ] && osname=$v
    k=
  done <"$f"
  [ -n "$osname" ] && break
done
if [ -n "$osname" ]; then put os "$osname"; else fail os 'no PRETTY_NAME in /etc/os-release or /usr/lib/os-release'; fi

if has uname && v=$(uname -r 2>/dev/null) && [ -n "$v" ]; then put kernel "$v"
elif [ -r /proc/sys/kernel/osrelease ]; then read -r v </proc/sys/kernel/osrelease; put kernel "$v"
else fail kernel 'uname is not installed'; fi

if has uname && v=$(uname -m 2>/dev/null) && [ -n "$v" ]; then put arch "$v"; else fail arch 'uname is not installed'; fi

model=
nproc_info=0
if [ -r /proc/cpuinfo ]; then
  while IFS= read -r line; do
    case $line in
      processor*) nproc_info=$((nproc_info + 1)) ;;
      'model name'*|'Model Name'*|'cpu model'*|'Processor'*) [ -z "$model" ] && model=\${line#*:} ;;
    esac
  done </proc/cpuinfo
fi
if has getconf && v=$(getconf _NPROCESSORS_ONLN 2>/dev/null) && [ "$v" -gt 0 ] 2>/dev/null; then put cpuCores "$v"
elif has nproc && v=$(nproc 2>/dev/null) && [ "$v" -gt 0 ] 2>/dev/null; then put cpuCores "$v"
elif [ "$nproc_info" -gt 0 ]; then put cpuCores "$nproc_info"
else fail cpuCores 'getconf and nproc are not installed and /proc/cpuinfo lists no processor'; fi
if [ -z "$model" ] && has lscpu; then
  v=$(t lscpu 2>/dev/null)
  while IFS= read -r line; do
    case $line in 'Model name:'*) model=\${line#*:}; break ;; esac
  done <<EOF
$v
EOF
fi
if [ -n "$model" ]; then put cpuModel "$model"; else fail cpuModel 'no model name in /proc/cpuinfo or lscpu'; fi

if [ -r /proc/loadavg ]; then read -r a b c rest </proc/loadavg; put loadAverage "$a $b $c"
else fail loadAverage '/proc/loadavg is not readable'; fi

if [ -r /proc/meminfo ]; then
  while read -r k v rest; do
    case $k in
      MemTotal:|MemAvailable:|MemFree:|Buffers:|Cached:|SReclaimable:|SwapTotal:|SwapFree:) put "meminfo.\${k%:}" "$v" ;;
    esac
  done </proc/meminfo
else
  fail memory '/proc/meminfo is not readable'
  fail swap '/proc/meminfo is not readable'
fi

if [ -r /proc/uptime ]; then read -r v rest </proc/uptime; put uptimeSeconds "$v"
else fail uptimeSeconds '/proc/uptime is not readable'; fi

if [ -z "$data" ]; then fail disk 'no data path configured'
else
  p=$data
  case $p in -*) p=./$p ;; esac
  prev=
  while [ ! -e "$p" ] && [ "$p" != "$prev" ]; do
    prev=$p
    case $p in
      */*) p=\${p%/*}; [ -n "$p" ] || p=/ ;;
      *) p=. ;;
    esac
  done
  [ "$p" = "$data" ] || [ "$p" = "./$data" ] || put disk.missing "$data"
  put disk.path "$p"
  if ! has df; then fail disk 'df is not installed'
  elif v=$(t df -Pk "$p" 2>&1); then put disk.df "\${v##*"$nl"}"
  else fail disk "df -Pk $p failed: $v"; fi
fi

pybin=
if [ -z "$py" ]; then fail pythonVersion 'no python path configured'
else
  case $py in
    */*)
      if [ ! -e "$py" ]; then fail pythonVersion "python $py does not exist"
      elif [ ! -x "$py" ] || [ -d "$py" ]; then fail pythonVersion "python $py is not executable"
      else pybin=$py; fi ;;
    *)
      pybin=$(command -v -- "$py" 2>/dev/null)
      case $pybin in /*) ;; *) pybin=; fail pythonVersion "python $py is not on PATH" ;; esac ;;
  esac
  if [ -n "$pybin" ]; then
    if v=$(t "$pybin" --version 2>&1); then put pythonVersion "$v"
    else fail pythonVersion "$py --version failed (exit $?): $v"; fi
  fi
fi

gitinfo() {
  if has git && c=$(t git -C "$pbdir" rev-parse --short HEAD 2>/dev/null); then
    put passivbot.commit "$c"
    if v=$(t git -C "$pbdir" describe --tags --always 2>/dev/null); then put passivbot.describe "$v"; fi
    return
  fi
  # No git, or git refuses (a checkout owned by another user): read the ref files themselves.
  g=$pbdir/.git
  if [ ! -r "$g/HEAD" ]; then fail passivbot.commit "$pbdir is not a git checkout"; return; fi
  read -r head <"$g/HEAD"
  sha=
  case $head in
    'ref: '*)
      ref=\${head#ref: }
      if [ -r "$g/$ref" ]; then read -r sha <"$g/$ref"
      elif [ -r "$g/packed-refs" ]; then
        while read -r s r; do
          if [ "$r" = "$ref" ]; then sha=$s; break; fi
        done <"$g/packed-refs"
      fi ;;
    *) sha=$head ;;
  esac
  if [ -n "$sha" ]; then put passivbot.commit "$(printf '%.7s' "$sha")"; else fail passivbot.commit "cannot resolve HEAD in $pbdir"; fi
}

put passivbot.kind "$kind"
if [ "$kind" = cli ]; then
  if [ -z "$pybin" ]; then fail passivbot.version "no passivbot next to python $py"
  else
    bin=\${pybin%/*}/passivbot
    if [ ! -x "$bin" ]; then fail passivbot.version "$bin does not exist or is not executable"
    elif v=$(t "$bin" --version 2>&1); then put passivbot.version "$v"
    else fail passivbot.version "$bin --version failed (exit $?): $v"; fi
  fi
  if [ -z "$pbdir" ]; then fail passivbot.commit 'no passivbot dir configured'
  elif [ -d "$pbdir" ]; then gitinfo
  else fail passivbot.commit "passivbot dir $pbdir does not exist"; fi
elif [ -z "$pbdir" ]; then fail passivbot 'no passivbot dir configured'
elif [ ! -d "$pbdir" ]; then fail passivbot "passivbot dir $pbdir does not exist"
elif [ ! -f "$pbdir/src/main.py" ]; then fail passivbot "passivbot dir $pbdir has no src/main.py"
else gitinfo; fi

# A Passivbot process runs a Passivbot script or command under an interpreter, possibly a
# wrapper script of one: "python -u .../src/main.py", ".../bin/python .../bin/passivbot live".
# Wrappers such as "sh -c ...", tmux or screen are not counted; neither is this collector.
isbot() {
  while [ $# -gt 0 ]; do
    case \${1##*/} in
      passivbot)
        case \${2-} in live|backtest|optimize) return 0 ;; esac
        return 1 ;;
      python*|pypy*|sh|bash|dash|ash|node)
        shift
        while [ $# -gt 0 ]; do
          case $1 in
            -c) return 1 ;;
            -X|-W) shift; [ $# -gt 0 ] && shift ;;
            -m) shift; break ;;
            -*) shift ;;
            *) break ;;
          esac
        done ;;
      *)
        case $1 in *src/main.py|*src/backtest.py|*src/optimize.py) return 0 ;; esac
        return 1 ;;
    esac
  done
  return 1
}
if [ ! -r /proc/self/cmdline ]; then fail processCount '/proc is not mounted'
elif ! has tr; then fail processCount 'tr is not installed'
else
  if has grep; then
    cands=$(grep -l -s -F -e main.py -e backtest.py -e optimize.py -e passivbot /proc/[0-9]*/cmdline 2>/dev/null)
  else
    cands=$(printf '%s\\n' /proc/[0-9]*/cmdline)
  fi
  n=0
  oldifs=$IFS
  IFS=$nl
  set -f
  for f in $cands; do
    [ "$f" = "/proc/$$/cmdline" ] && continue
    cmd=$(tr '\\000' '\\n' 2>/dev/null <"$f") || continue
    if isbot $cmd; then n=$((n + 1)); fi
  done
  set +f
  IFS=$oldifs
  put processCount "$n"
fi
printf '%s\\n' ${SYSTEM_INFO_END}
`;

/** The one exec a collection needs: user values as positional parameters of a constant script. */
export function systemInfoCommand(dataPath: string, runtime: Pick<Runtime, 'passivbotDir' | 'pythonPath' | 'kind'>): string[] {
  return ['sh', '-c', SYSTEM_INFO_SCRIPT, 'pbfleet-sysinfo', dataPath, runtime.passivbotDir, runtime.pythonPath, runtime.kind];
}

const ITEMS = ['os', 'kernel', 'arch', 'cpuCores', 'cpuModel', 'loadAverage', 'memory', 'swap', 'disk', 'uptimeSeconds', 'pythonVersion', 'passivbotVersion', 'processCount'] as const;

/** Every item null with the same reason: the host answered, but not with system info. */
export function unavailableSystemInfo(reason: string, collectedAt: string): SystemInfo {
  const none = { value: null, reason: clip(reason) };
  return { ...(Object.fromEntries(ITEMS.map((item) => [item, none])) as Omit<SystemInfo, 'collectedAt'>), collectedAt };
}

const clip = (text: string) => {
  const trimmed = text.trim();
  return trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed;
};
const ok = <T>(value: T, reason?: string): SystemInfoItem<T> => (reason === undefined ? { value } : { value, reason });
const no = <T>(reason: string): SystemInfoItem<T> => ({ value: null, reason: clip(reason) });

const INTEGER = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;
const COMMIT = /^[0-9a-f]{4,40}$/;

/**
 * Reads the collector's output. Never throws: an item that is missing, failed or unreadable
 * is null with the reason. Lines before the begin marker (a chatty login shell) are ignored.
 */
export function parseSystemInfo(output: string, collectedAt: string = new Date().toISOString()): SystemInfo {
  const lines = output.split('\n').map((line) => line.replace(/\r$/, ''));
  const begin = lines.indexOf(SYSTEM_INFO_BEGIN);
  if (begin === -1) return unavailableSystemInfo('the host did not answer with system info', collectedAt);
  const values = new Map<string, string>();
  const failures = new Map<string, string>();
  let complete = false;
  for (const line of lines.slice(begin + 1)) {
    if (line === SYSTEM_INFO_END) {
      complete = true;
      break;
    }
    const match = /^([A-Za-z][A-Za-z0-9.]*)(!?)=(.*)$/.exec(line);
    if (!match) continue;
    const [, key = '', failed, value = ''] = match;
    const target = failed ? failures : values;
    if (!target.has(key)) target.set(key, value.trim());
  }
  const unreported = complete ? 'not reported by the host' : 'the collector stopped before reporting this';

  /** The raw value of a single-key item, or the reason it has none. */
  const raw = (key: string): { value: string } | { reason: string } => {
    const failure = failures.get(key);
    if (failure !== undefined) return { reason: failure || 'unavailable' };
    const value = values.get(key);
    if (value === undefined) return { reason: unreported };
    if (value === '') return { reason: 'the host reported an empty value' };
    return { value };
  };
  const item = <T>(key: string, read: (value: string) => T | null): SystemInfoItem<T> => {
    const found = raw(key);
    if ('reason' in found) return no(found.reason);
    const value = read(found.value);
    return value === null ? no(`unexpected value: ${JSON.stringify(found.value)}`) : ok(value);
  };
  const text = (value: string) => value;
  const integer = (value: string) => (INTEGER.test(value) ? Number(value) : null);

  return {
    os: item('os', unquote),
    kernel: item('kernel', text),
    arch: item('arch', text),
    cpuCores: item('cpuCores', (v) => (INTEGER.test(v) && Number(v) > 0 ? Number(v) : null)),
    cpuModel: item('cpuModel', (v) => v.replace(/\s+/g, ' ')),
    loadAverage: item('loadAverage', parseLoad),
    ...parseMemory(values, failures, unreported),
    disk: parseDisk(values, failures, unreported),
    uptimeSeconds: item('uptimeSeconds', (v) => (DECIMAL.test(v) ? Math.floor(Number(v)) : null)),
    pythonVersion: item('pythonVersion', (v) => /Python\s+(\d+\.\d+(?:\.\d+)?\S*)/.exec(v)?.[1] ?? null),
    passivbotVersion: parsePassivbot(values, failures, unreported),
    processCount: item('processCount', integer),
    collectedAt,
  };
}

function unquote(value: string): string | null {
  const inner = /^(["'])(.*)\1$/.exec(value)?.[2] ?? value;
  return inner.trim() || null;
}

function parseLoad(value: string): { one: number; five: number; fifteen: number } | null {
  const [one, five, fifteen] = value.split(/\s+/);
  if (!one || !five || !fifteen || ![one, five, fifteen].every((n) => DECIMAL.test(n))) return null;
  return { one: Number(one), five: Number(five), fifteen: Number(fifteen) };
}

function parseMemory(values: Map<string, string>, failures: Map<string, string>, unreported: string): Pick<SystemInfo, 'memory' | 'swap'> {
  const kib = (key: string) => {
    const value = values.get(`meminfo.${key}`);
    return value !== undefined && INTEGER.test(value) ? Number(value) * 1024 : undefined;
  };
  const total = kib('MemTotal');
  // Kernels before 3.14 lack MemAvailable: estimate it the way the kernel does, roughly.
  const free = kib('MemFree');
  const available = kib('MemAvailable') ?? (free === undefined ? undefined : free + (kib('Buffers') ?? 0) + (kib('Cached') ?? 0) + (kib('SReclaimable') ?? 0));
  const memory: SystemInfo['memory'] =
    failures.has('memory') ? no(failures.get('memory') ?? '')
    : total === undefined || available === undefined ? no(values.has('meminfo.MemTotal') ? 'unexpected /proc/meminfo' : unreported)
    : ok({ totalBytes: total, usedBytes: Math.max(0, total - Math.min(total, available)) });
  const swapTotal = kib('SwapTotal');
  const swapFree = kib('SwapFree');
  const swap: SystemInfo['swap'] =
    failures.has('swap') ? no(failures.get('swap') ?? '')
    : swapTotal === undefined || swapFree === undefined ? no(values.has('meminfo.MemTotal') ? 'no swap figures in /proc/meminfo' : unreported)
    : ok({ totalBytes: swapTotal, usedBytes: Math.max(0, swapTotal - swapFree) });
  return { memory, swap };
}

function parseDisk(values: Map<string, string>, failures: Map<string, string>, unreported: string): SystemInfo['disk'] {
  const failure = failures.get('disk');
  if (failure !== undefined) return no(failure);
  const path = values.get('disk.path');
  const df = values.get('disk.df');
  if (path === undefined || df === undefined) return no(unreported);
  // `df -P`: Filesystem, 1024-blocks, Used, Available, Capacity, Mounted on. Names may hold spaces.
  const match = /(?:^|\s)(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+\S/.exec(df);
  if (!match) return no(`unexpected df output: ${JSON.stringify(df)}`);
  const missing = values.get('disk.missing');
  const value = { path, totalBytes: Number(match[1]) * 1024, usedBytes: Number(match[2]) * 1024 };
  return ok(value, missing === undefined ? undefined : `data path ${missing} does not exist; measured its nearest existing parent ${path}`);
}

function parsePassivbot(values: Map<string, string>, failures: Map<string, string>, unreported: string): SystemInfo['passivbotVersion'] {
  const kindValue = values.get('passivbot.kind');
  if (kindValue === undefined) return no(failures.get('passivbot') ?? unreported);
  if (kindValue !== 'v7' && kindValue !== 'cli') return no(`unknown runtime kind ${JSON.stringify(kindValue)}`);
  const kind: Runtime['kind'] = kindValue;
  const whole = failures.get('passivbot');
  if (whole !== undefined) return no(whole);

  const reasons: string[] = [];
  const commitValue = values.get('passivbot.commit');
  let commit: string | null = null;
  if (commitValue !== undefined && COMMIT.test(commitValue)) commit = commitValue;
  else reasons.push(failures.get('passivbot.commit') ?? (commitValue === undefined ? 'no commit reported' : `unexpected commit ${JSON.stringify(commitValue)}`));

  let version: string | null = null;
  if (kind === 'cli') {
    const output = values.get('passivbot.version');
    version = output === undefined ? null : (/passivbot\s+v?(\d+(?:\.\d+)+\S*)/i.exec(output)?.[1] ?? /\bv?(\d+\.\d+(?:\.\d+)?\S*)/.exec(output)?.[1] ?? null);
    if (version === null) reasons.unshift(failures.get('passivbot.version') ?? (output === undefined ? unreported : `unexpected passivbot --version output: ${JSON.stringify(output)}`));
  } else {
    const described = values.get('passivbot.describe');
    // `describe --always` falls back to the bare commit when no tag is reachable: no version then.
    const tagless = described !== undefined && COMMIT.test(described) && commit !== null && (described.startsWith(commit) || commit.startsWith(described));
    if (described && !tagless) version = described.replace(/^v(?=\d)/, '');
  }
  if (version === null && commit === null) return no(reasons.join('; '));
  return ok({ version, commit, kind });
}
