/**
 * Shell programs run on a bot's host, each a constant taking its values as positional
 * arguments (never spliced into the text), so hostile names cannot change what runs.
 */

/** The start time of pid $1 (field 22 of /proc/<pid>/stat), or nothing. */
const START_OF = `start_of() { st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; st=\${st##*") "}; set -- $st; shift 19; echo "$1"; }`;

/**
 * Runs "$@" and writes its exit code to the file named by $0: whoever adopts the process after
 * a pbfleet restart can still learn how it ended. `trap : INT` keeps the wrapper alive through
 * the SIGINT meant for the bot, so it can record the bot's answer to it.
 */
export const EXIT_WRAPPER = 'trap : INT; "$@"; echo $? > "$0"';

/**
 * Starts a bot detached: `setsid -f` gives it its own session and process group, so it
 * outlives the SSH session and pbfleet, and a group signal reaches all of it. Not `&`: a
 * non-interactive shell starts background commands with SIGINT ignored, and Passivbot's
 * graceful stop is SIGINT. A wrapper shell writes its pid and, since nobody is the bot's
 * parent once this returns, the exit code. Args: dir cwd log argv... Prints "<pid> <start time>".
 */
export const LAUNCH = `${START_OF}
set -e
dir=$1; cwd=$2; log=$3; shift 3
mkdir -p "$dir"
cd "$cwd"
rm -f "$dir/exit" "$dir/pid"
setsid -f sh -c 'echo $$ > "$0/pid.tmp" && mv "$0/pid.tmp" "$0/pid"; trap : INT; "$@"; echo $? > "$0/exit"' "$dir" "$@" >> "$log" 2>&1 < /dev/null
i=0
while [ ! -s "$dir/pid" ]; do
  i=$((i + 1)); [ "$i" -le 200 ] || { echo "the bot did not start" >&2; exit 3; }
  sleep 0.01
done
pid=$(cat "$dir/pid")
start=$(start_of "$pid") || { echo "the bot ended at once" >&2; exit 3; }
echo "$pid $start"`;

/**
 * For each "id pid start dir" argument prints "id alive", "id exited <code>" or "id gone":
 * alive only when the pid still has that start time and its command line names the bot's dir.
 */
export const PROBE = `${START_OF}
for spec in "$@"; do
  id=\${spec%% *}; rest=\${spec#* }; pid=\${rest%% *}; rest=\${rest#* }; start=\${rest%% *}; dir=\${rest#* }
  if [ "$(start_of "$pid")" = "$start" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir"; then echo "$id alive"
  elif [ -r "$dir/exit" ]; then echo "$id exited $(cat "$dir/exit")"
  else echo "$id gone"; fi
done`;

/**
 * Args: cwd command script dir... Checks the runtime before anything is written (a missing
 * checkout must be a clear error, not a bot crash-looping on "can't open file"), then makes
 * the dirs the bot's files go to.
 */
export const PREPARE = `cwd=$1; cmd=$2; script=$3; shift 3
[ -d "$cwd" ] || { echo "the Passivbot directory $cwd does not exist" >&2; exit 3; }
command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd is not installed or not executable" >&2; exit 3; }
[ -z "$script" ] || [ -f "$script" ] || { echo "$script does not exist: is $cwd a Passivbot checkout?" >&2; exit 3; }
mkdir -p "$@"`;

/** Args: pid start signal. Signals the group only while the pid is still the bot started. */
export const SIGNAL = `${START_OF}
[ "$(start_of "$1")" = "$2" ] || exit 0
kill -s "$3" -- "-$1" 2>/dev/null || kill -s "$3" "$1" 2>/dev/null || true`;

/**
 * Args: max generations log... Copy-then-truncate rotation, as logrotate's copytruncate:
 * the bot keeps its file descriptor (it cannot be told to reopen). Prints rotated paths.
 */
export const ROTATE = `max=$1; n=$2; shift 2
for f in "$@"; do
  size=$(stat -c %s "$f" 2>/dev/null) || continue
  [ "$size" -gt "$max" ] || continue
  i=$n
  while [ "$i" -gt 1 ]; do j=$((i - 1)); if [ -f "$f.$j" ]; then mv -f "$f.$j" "$f.$i"; fi; i=$j; done
  cp "$f" "$f.1" && : > "$f" && echo "$f"
done`;

/**
 * Follows several logs over one SSH channel (sshd allows only ~10 sessions per connection,
 * and a host may run more bots than that). Args: interval, then "id path offset" triples.
 * Frames: "D <id> <offset after> <length>\\n<bytes>", "R <id>\\n" (truncated or replaced:
 * reading restarts at 0), "H\\n" heartbeat (a dead peer ends the program with EPIPE).
 */
export const FOLLOW_PY = `import os, sys, time
out = sys.stdout.buffer
interval = float(sys.argv[1])
args = sys.argv[2:]
files = [[args[i].encode(), args[i + 1], int(args[i + 2]), None] for i in range(0, len(args) - 2, 3)]
last_beat = time.monotonic()
while True:
    busy = False
    for f in files:
        try:
            st = os.stat(f[1])
        except OSError:
            continue
        if (f[3] is not None and st.st_ino != f[3]) or st.st_size < f[2]:
            f[2] = 0
            out.write(b"R " + f[0] + b"\\n")
        f[3] = st.st_ino
        if st.st_size > f[2]:
            with open(f[1], "rb") as h:
                h.seek(f[2])
                data = h.read(min(st.st_size - f[2], 1 << 20))
            if data:
                f[2] += len(data)
                out.write(b"D %s %d %d\\n" % (f[0], f[2], len(data)))
                out.write(data)
                busy = True
    now = time.monotonic()
    if now - last_beat > 5:
        out.write(b"H\\n")
        last_beat = now
    out.flush()
    if not busy:
        time.sleep(interval)
`;
