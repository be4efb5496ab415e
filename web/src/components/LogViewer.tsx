/**
 * A live log: the backlog the hub sends on subscription, then live lines. Built to stay
 * responsive at tens of thousands of lines a second: hub messages are only queued; once per
 * animation frame the queue is folded into a bounded buffer and React renders once; only the
 * visible rows exist in the DOM (TanStack Virtual, fixed row height).
 */
import { ActionIcon, Badge, Button, Group, Select, TextInput, Tooltip } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode, type WheelEvent } from 'react';
import { useHubTopic, type HubMessage } from '../lib/hub';
import { BoundedList, isFiltering, isLogBatch, levelOf, lineMatches, LogBuffer, LOG_LEVELS, NO_FILTER, type LogFilter, type LogLevel, type LogLine } from './log-buffer';
import classes from './LogViewer.module.css';

const ROW_HEIGHT = 18;
/** At most this often the viewer redraws (20 Hz): a flood costs the page a bounded share of its frames. */
const MIN_COMMIT_MS = 50;
/** Characters of one line drawn (the download has them all). */
const MAX_DRAWN = 1000;

export interface LogViewerProps {
  /** Hub topic whose messages carry log batches ({seq, lines, errors}), e.g. `instance:<id>:logs`. */
  topic: string;
  /** Where the whole log can be downloaded (same-origin, cookie-authenticated). */
  downloadHref?: string;
  /** Lines kept in memory (default 20,000). */
  capacity?: number;
  /** Height of the line area (CSS). */
  height?: number | string;
  /** Accessible name of the log region. */
  label?: string;
}

function Highlighted({ text, needle }: { text: string; needle: string }): ReactNode {
  const shown = text.length > MAX_DRAWN ? `${text.slice(0, MAX_DRAWN)}…` : text;
  if (!needle) return shown;
  const lower = shown.toLowerCase();
  const parts: ReactNode[] = [];
  let at = 0;
  for (let hit = lower.indexOf(needle); hit >= 0 && parts.length < 40; hit = lower.indexOf(needle, at)) {
    if (hit > at) parts.push(shown.slice(at, hit));
    parts.push(
      <mark key={hit} className={classes.mark}>
        {shown.slice(hit, hit + needle.length)}
      </mark>,
    );
    at = hit + needle.length;
  }
  parts.push(shown.slice(at));
  return parts;
}

function kindOf(line: LogLine): string {
  if (line.seq < 0) return classes.note ?? '';
  if (line.error) return classes.error ?? '';
  const level = levelOf(line);
  return (level === 'DEBUG' || level === 'TRACE' ? classes.debug : level === 'WARNING' ? classes.warning : '') ?? '';
}

/** One line; `start` positions it inside the virtualised (paused) list, none stacks it in the tail. */
const Row = memo(function Row({ line, needle, start }: { line: LogLine; needle: string; start?: number }) {
  return (
    <div
      className={`${start === undefined ? classes.line : classes.row} ${kindOf(line)}`}
      style={start === undefined ? undefined : { transform: `translateY(${start}px)` }}
      data-error={line.error || undefined}
      data-seq={line.seq}
    >
      <Highlighted text={line.text} needle={needle} />
    </div>
  );
});

interface ToolbarProps {
  follow: boolean;
  onFollow: (on: boolean) => void;
  newCount: number;
  level: LogLevel | null;
  onLevel: (level: LogLevel | null) => void;
  query: string;
  onQuery: (query: string) => void;
  downloadHref: string | undefined;
}

const LEVEL_OPTIONS = LOG_LEVELS.map((l) => ({ value: l, label: `${l} and above` }));

/** The controls; memoised (setters are stable), so a redraw of the lines does not re-render them. */
const Toolbar = memo(
  function Toolbar({ follow, onFollow, newCount, level, onLevel, query, onQuery, downloadHref }: ToolbarProps) {
    return (
      <>
        <Button size="xs" variant={follow ? 'filled' : 'default'} onClick={() => onFollow(!follow)} aria-pressed={follow}>
          {follow ? 'Pause' : 'Follow'}
        </Button>
        {!follow && newCount > 0 && (
          <Badge variant="light" color="blue">
            {newCount.toLocaleString()} new
          </Badge>
        )}
        <Select size="xs" w={140} aria-label="Lowest level shown" placeholder="All levels" clearable data={LEVEL_OPTIONS} value={level} onChange={(value) => onLevel(value ?? null)} />
        <TextInput size="xs" w={180} aria-label="Search the log" placeholder="Search" value={query} onChange={(e) => onQuery(e.currentTarget.value)} />
        {downloadHref && (
          <Tooltip label="The whole log file">
            <ActionIcon component="a" href={downloadHref} download variant="light" size="md" aria-label="Download the log">
              <span aria-hidden="true">⤓</span>
            </ActionIcon>
          </Tooltip>
        )}
      </>
    );
  },
  (a, b) => a.follow === b.follow && a.newCount === b.newCount && a.level === b.level && a.query === b.query && a.downloadHref === b.downloadHref && a.onFollow === b.onFollow,
);

export function LogViewer({ topic, downloadHref, capacity = 20_000, height = 420, label = 'Log' }: LogViewerProps) {
  const buffer = useMemo(() => new LogBuffer(capacity), [capacity]);
  // Lines passing the filter, bounded like the buffer; rebuilt when the filter changes.
  const shown = useRef(new BoundedList<LogLine>(capacity));
  const filterRef = useRef<LogFilter>(NO_FILTER);
  const followRef = useRef(true);
  const [, setTick] = useState(0);
  const [follow, setFollowState] = useState(true);
  /** While paused, the lines on screen stay as they were (new lines are counted). */
  const [frozen, setFrozen] = useState<LogLine[] | null>(null);
  const [newWhilePaused, setNewWhilePaused] = useState(0);
  const [level, setLevel] = useState<LogLevel | null>(null);
  const [query, setQuery] = useState('');
  const needle = query.trim().toLowerCase();
  const scroller = useRef<HTMLDivElement>(null);
  /** Rows that fit in the line area: all the tail view draws while following. */
  const [fit, setFit] = useState(30);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setFit(Math.ceil(el.clientHeight / ROW_HEIGHT) + 1));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Hub messages are only queued; at most every MIN_COMMIT_MS, on an animation frame, the queue
  // is folded into the buffer and React renders once.
  const pipe = useMemo(() => {
    let queue: unknown[] = [];
    let frameId = 0;
    let last = 0;
    const run = (now: number) => {
      frameId = 0;
      if (now - last < MIN_COMMIT_MS) {
        frameId = requestAnimationFrame(run);
        return;
      }
      last = now;
      const batches = queue;
      queue = [];
      const filter = filterRef.current;
      let added = 0;
      for (const batch of batches) {
        if (!isLogBatch(batch)) continue;
        for (const line of buffer.append(batch)) {
          if (!lineMatches(line, filter)) continue;
          shown.current.push(line);
          added += 1;
        }
      }
      if (added === 0) return;
      if (followRef.current) setTick((t) => t + 1);
      else setNewWhilePaused((n) => n + added);
    };
    return {
      push(payload: unknown) {
        queue.push(payload);
        frameId ||= requestAnimationFrame(run);
      },
      cancel: () => cancelAnimationFrame(frameId),
    };
  }, [buffer]);

  const onMessage = useCallback(
    (message: HubMessage) => {
      if (message.type === 'log') pipe.push(message.payload);
    },
    [pipe],
  );
  useHubTopic([topic], onMessage);
  useEffect(() => () => pipe.cancel(), [pipe]);

  const setFollow = useCallback((on: boolean) => {
    followRef.current = on;
    setFollowState(on);
    setNewWhilePaused(0);
    setFrozen(on ? null : shown.current.view().slice());
  }, []);

  // A new filter applies to the lines already kept, too.
  useEffect(() => {
    const filter: LogFilter = { level, needle };
    filterRef.current = filter;
    const rebuilt = new BoundedList<LogLine>(capacity);
    for (const line of buffer.lines.view()) if (!isFiltering(filter) || lineMatches(line, filter)) rebuilt.push(line);
    shown.current = rebuilt;
    if (!followRef.current) setFrozen(rebuilt.view().slice());
    setTick((t) => t + 1);
  }, [level, needle, buffer, capacity]);

  // Following: only the last lines that fit are drawn, stacked from the bottom (no scrolling, no
  // layout of a tall list per frame). Paused: the kept lines, virtualised and scrollable.
  const kept = shown.current;
  const shownCount = frozen ? frozen.length : kept.length;
  const tail = frozen ? [] : kept.items.slice(Math.max(kept.start, kept.items.length - fit));
  // Not memoised by a compiler here: the virtualiser is read fresh on every render.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: frozen?.length ?? 0,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  // Pausing shows the same last lines, now scrollable from the bottom up.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (frozen && el) el.scrollTop = frozen.length * ROW_HEIGHT;
  }, [frozen]);

  /** Scrolling up while following pauses (the lines stay put to be read). */
  const onWheel = (event: WheelEvent) => {
    if (event.deltaY < 0 && followRef.current) setFollow(false);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if ((event.key === 'ArrowUp' || event.key === 'PageUp' || event.key === 'Home') && followRef.current) setFollow(false);
    if (event.key === 'End' && !followRef.current) setFollow(true);
  };

  const filtering = level !== null || needle !== '';
  return (
    <div>
      <Group gap="xs" mb="xs" wrap="wrap">
        <Toolbar follow={follow} onFollow={setFollow} newCount={newWhilePaused} level={level} onLevel={setLevel} query={query} onQuery={setQuery} downloadHref={downloadHref} />
        <span className={classes.count}>{filtering ? `${shownCount.toLocaleString()} of ${buffer.lines.length.toLocaleString()} lines` : `${shownCount.toLocaleString()} lines`}</span>
      </Group>
      <div
        ref={scroller}
        className={classes.scroller}
        style={{ height, overflowY: frozen ? 'auto' : 'hidden' }}
        role="log"
        aria-label={label}
        aria-live="off"
        tabIndex={0}
        data-received={buffer.received}
        onWheel={onWheel}
        onKeyDown={onKeyDown}
      >
        {shownCount === 0 ? (
          <div className={classes.empty}>{filtering ? 'No line matches.' : 'No lines yet.'}</div>
        ) : frozen ? (
          <div className={classes.inner} style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const line = frozen[item.index];
              return line ? <Row key={item.key} line={line} needle={needle} start={item.start} /> : null;
            })}
          </div>
        ) : (
          <div className={classes.tail} style={shownCount >= fit - 1 ? { bottom: 0 } : { top: 0 }}>
            {tail.map((line, i) => (
              <Row key={i} line={line} needle={needle} />
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

export default LogViewer;
