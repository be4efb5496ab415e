import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { SYSTEM_INFO_SCRIPT, SystemInfoSchema, parseSystemInfo, systemInfoCommand, unavailableSystemInfo } from './system-info.fns.js';

const AT = '2025-01-02T03:04:05.000Z';

/** What a Debian 12 VPS prints, after a chatty login shell. */
const DEBIAN = `Welcome to vps1!
processCount=99

pbfleet-sysinfo:begin
os="Debian GNU/Linux 12 (bookworm)"
kernel=6.1.0-18-amd64
arch=x86_64
cpuCores=4
cpuModel= AMD EPYC 7B13  64-Core Processor
loadAverage=0.52 0.58 1.07
meminfo.MemTotal=8132820
meminfo.MemFree=512000
meminfo.MemAvailable=6012820
meminfo.Buffers=100000
meminfo.Cached=4000000
meminfo.SwapTotal=1048572
meminfo.SwapFree=1047548
meminfo.SReclaimable=200000
uptimeSeconds=864123.45
disk.path=/home/pb/pbfleet
disk.df=/dev/vda1         81000000 23000000  54000000      30% /
pythonVersion=Python 3.11.7
passivbot.kind=v7
passivbot.commit=a1b2c3d
passivbot.describe=v7.8.4
processCount=3
pbfleet-sysinfo:end
`;

const lines = (...body: string[]) => ['pbfleet-sysinfo:begin', ...body, 'pbfleet-sysinfo:end', ''].join('\n');

describe('parseSystemInfo', () => {
  it('reads a realistic Debian report, ignoring what the login shell printed first', () => {
    const info = parseSystemInfo(DEBIAN, AT);
    expect(info).toEqual({
      os: { value: 'Debian GNU/Linux 12 (bookworm)' },
      kernel: { value: '6.1.0-18-amd64' },
      arch: { value: 'x86_64' },
      cpuCores: { value: 4 },
      cpuModel: { value: 'AMD EPYC 7B13 64-Core Processor' },
      loadAverage: { value: { one: 0.52, five: 0.58, fifteen: 1.07 } },
      // used = MemTotal - MemAvailable, not MemTotal - MemFree.
      memory: { value: { totalBytes: 8132820 * 1024, usedBytes: (8132820 - 6012820) * 1024 } },
      swap: { value: { totalBytes: 1048572 * 1024, usedBytes: 1024 * 1024 } },
      disk: { value: { path: '/home/pb/pbfleet', totalBytes: 81000000 * 1024, usedBytes: 23000000 * 1024 } },
      uptimeSeconds: { value: 864123 },
      pythonVersion: { value: '3.11.7' },
      passivbotVersion: { value: { version: '7.8.4', commit: 'a1b2c3d', kind: 'v7' } },
      processCount: { value: 3 },
      collectedAt: AT,
    });
    expect(Value.Check(SystemInfoSchema, info)).toBe(true);
  });

  it('accepts CRLF line ends', () => {
    expect(parseSystemInfo(DEBIAN.replace(/\n/g, '\r\n'), AT)).toEqual(parseSystemInfo(DEBIAN, AT));
  });

  it('turns reported failures into null items with the reason', () => {
    const info = parseSystemInfo(
      lines(
        'os!=no PRETTY_NAME in /etc/os-release or /usr/lib/os-release',
        'arch!=uname is not installed',
        'memory!=/proc/meminfo is not readable',
        'swap!=/proc/meminfo is not readable',
        'disk.path=/srv',
        'disk!=df is not installed',
        'pythonVersion!=python /opt/venv/bin/python does not exist',
        'passivbot.kind=v7',
        'passivbot!=passivbot dir /x does not exist',
        'processCount!=tr is not installed',
      ),
      AT,
    );
    expect(info.os).toEqual({ value: null, reason: 'no PRETTY_NAME in /etc/os-release or /usr/lib/os-release' });
    expect(info.arch).toEqual({ value: null, reason: 'uname is not installed' });
    expect(info.memory).toEqual({ value: null, reason: '/proc/meminfo is not readable' });
    expect(info.swap).toEqual({ value: null, reason: '/proc/meminfo is not readable' });
    expect(info.disk).toEqual({ value: null, reason: 'df is not installed' });
    expect(info.pythonVersion).toEqual({ value: null, reason: 'python /opt/venv/bin/python does not exist' });
    expect(info.passivbotVersion).toEqual({ value: null, reason: 'passivbot dir /x does not exist' });
    expect(info.processCount).toEqual({ value: null, reason: 'tr is not installed' });
    // Items the host did not mention at all.
    expect(info.kernel).toEqual({ value: null, reason: 'not reported by the host' });
    expect(Value.Check(SystemInfoSchema, info)).toBe(true);
  });

  it('rejects values that do not look like what was asked for', () => {
    const info = parseSystemInfo(
      lines('cpuCores=0', 'loadAverage=0.5 high 1', 'uptimeSeconds=-3', 'pythonVersion=pyenv: python3: command not found', 'disk.path=/srv', 'disk.df=df: /srv: Stale file handle', 'processCount=many', 'kernel='),
      AT,
    );
    expect(info.cpuCores).toEqual({ value: null, reason: 'unexpected value: "0"' });
    expect(info.loadAverage.value).toBeNull();
    expect(info.uptimeSeconds.value).toBeNull();
    expect(info.pythonVersion).toEqual({ value: null, reason: 'unexpected value: "pyenv: python3: command not found"' });
    expect(info.disk.reason).toMatch(/^unexpected df output: .*Stale file handle/);
    expect(info.processCount.value).toBeNull();
    expect(info.kernel).toEqual({ value: null, reason: 'the host reported an empty value' });
    expect(Value.Check(SystemInfoSchema, info)).toBe(true);
  });

  it('says when the output stopped early', () => {
    const cut = DEBIAN.slice(0, DEBIAN.indexOf('pythonVersion='));
    const info = parseSystemInfo(cut, AT);
    expect(info.disk.value?.path).toBe('/home/pb/pbfleet');
    expect(info.pythonVersion).toEqual({ value: null, reason: 'the collector stopped before reporting this' });
    expect(info.passivbotVersion).toEqual({ value: null, reason: 'the collector stopped before reporting this' });
  });

  it('makes every item null when the host did not answer with system info', () => {
    for (const output of ['', 'sh: 1: Syntax error: "(" unexpected\n', 'os=Debian\n']) {
      const info = parseSystemInfo(output, AT);
      expect(info.os).toEqual({ value: null, reason: 'the host did not answer with system info' });
      expect(info.processCount.value).toBeNull();
      expect(Value.Check(SystemInfoSchema, info)).toBe(true);
    }
    expect(unavailableSystemInfo('x'.repeat(1000), AT).cpuCores.reason).toHaveLength(301);
  });

  it('does not let a repeated key override the first one', () => {
    expect(parseSystemInfo(lines('processCount=2', 'processCount=99'), AT).processCount.value).toBe(2);
  });

  it('estimates available memory on kernels without MemAvailable', () => {
    const info = parseSystemInfo(lines('meminfo.MemTotal=1000', 'meminfo.MemFree=100', 'meminfo.Buffers=50', 'meminfo.Cached=250', 'meminfo.SwapTotal=0', 'meminfo.SwapFree=0'), AT);
    expect(info.memory.value).toEqual({ totalBytes: 1000 * 1024, usedBytes: 600 * 1024 });
    expect(info.swap.value).toEqual({ totalBytes: 0, usedBytes: 0 });
  });

  it('reads df lines with spaces in the file system or mount point, and says when a parent was measured', () => {
    const info = parseSystemInfo(lines('disk.missing=/srv/new data', 'disk.path=/srv', 'disk.df=//nas/share 2 1000 400 600 40% /mnt/my data'), AT);
    expect(info.disk).toEqual({
      value: { path: '/srv', totalBytes: 1000 * 1024, usedBytes: 400 * 1024 },
      reason: 'data path /srv/new data does not exist; measured its nearest existing parent /srv',
    });
    expect(parseSystemInfo(lines('disk.path=/proc', 'disk.df=proc 0 0 0 - /proc'), AT).disk.value).toEqual({ path: '/proc', totalBytes: 0, usedBytes: 0 });
  });

  it('reads os-release values quoted either way or not at all', () => {
    expect(parseSystemInfo(lines("os='Alpine Linux v3.19'"), AT).os.value).toBe('Alpine Linux v3.19');
    expect(parseSystemInfo(lines('os=Ubuntu 24.04.1 LTS'), AT).os.value).toBe('Ubuntu 24.04.1 LTS');
  });

  describe('Passivbot version', () => {
    const pb = (...body: string[]) => parseSystemInfo(lines(...body), AT).passivbotVersion;

    it('v7: a tag after some commits, and a checkout without tags', () => {
      expect(pb('passivbot.kind=v7', 'passivbot.commit=9f8e7d6', 'passivbot.describe=v7.8.4-12-g9f8e7d6').value).toEqual({ version: '7.8.4-12-g9f8e7d6', commit: '9f8e7d6', kind: 'v7' });
      expect(pb('passivbot.kind=v7', 'passivbot.commit=9f8e7d6', 'passivbot.describe=9f8e7d6').value).toEqual({ version: null, commit: '9f8e7d6', kind: 'v7' });
      // Read from .git without git: the commit only.
      expect(pb('passivbot.kind=v7', 'passivbot.commit=9f8e7d6').value).toEqual({ version: null, commit: '9f8e7d6', kind: 'v7' });
    });

    it('v7: not a git checkout', () => {
      expect(pb('passivbot.kind=v7', 'passivbot.commit!=/opt/pb is not a git checkout')).toEqual({ value: null, reason: '/opt/pb is not a git checkout' });
    });

    it('cli: the version the command prints, with or without a commit', () => {
      expect(pb('passivbot.kind=cli', 'passivbot.version=passivbot 8.1.0', 'passivbot.commit=0123abc').value).toEqual({ version: '8.1.0', commit: '0123abc', kind: 'cli' });
      expect(pb('passivbot.kind=cli', 'passivbot.version=passivbot 7.9.0', 'passivbot.commit!=passivbot dir /x does not exist')).toEqual({
        value: { version: '7.9.0', commit: null, kind: 'cli' },
      });
    });

    it('cli: no command and no checkout gives both reasons', () => {
      expect(pb('passivbot.kind=cli', 'passivbot.version!=/v/bin/passivbot does not exist or is not executable', 'passivbot.commit!=passivbot dir /x does not exist')).toEqual({
        value: null,
        reason: '/v/bin/passivbot does not exist or is not executable; passivbot dir /x does not exist',
      });
      expect(pb('passivbot.kind=cli', 'passivbot.version=Traceback (most recent call last):', 'passivbot.commit!=no').reason).toMatch(/^unexpected passivbot --version output/);
    });

    it('an unknown kind or a commit that is not one', () => {
      expect(pb('passivbot.kind=v6').reason).toBe('unknown runtime kind "v6"');
      expect(pb('passivbot.kind=v7', 'passivbot.commit=fatal: not a git repository').value).toBeNull();
    });
  });
});

describe('the collection command', () => {
  it('passes every user value as a positional parameter of a constant script', () => {
    const hostile = "/tmp/x'; touch /tmp/pwned #";
    const command = systemInfoCommand(hostile, { passivbotDir: '$(id)', pythonPath: '`id`', kind: 'v7' });
    expect(command).toEqual(['sh', '-c', SYSTEM_INFO_SCRIPT, 'pbfleet-sysinfo', hostile, '$(id)', '`id`', 'v7']);
  });

  it('contains nothing a login shell would re-read differently', () => {
    // The SSH user's shell parses the quoted script first; fish treats \\ and \' inside quotes.
    expect(SYSTEM_INFO_SCRIPT).not.toMatch(/\\\\|\\'/);
    expect(SYSTEM_INFO_SCRIPT).not.toContain('\0');
  });
});
