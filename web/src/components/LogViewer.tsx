/**
 * A live log: the backlog the hub sends on subscription, then live lines. Built to stay
 * responsive at tens of thousands of lines a second: hub messages are only queued; once per
 * animation frame the queue is folded into a bounded buffer and React renders once; only the
 * visible rows exist in the DOM (TanStack Virtual, fixed row height).
 */
import { ActionIcon, Badge, Button, Group, Select, Text, TextInput, Tooltip } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode, type WheelEvent } from 'react';
import { useHubTopic, type HubMessage } from '../lib/hub';
import { BoundedList, isFiltering, isLogBatch, lineMatches, LogBuffer, LOG_LEVELS, NO_FILTER, type LogFilter, type LogLevel, type LogLine } from './log-buffer';
import classes from './LogViewer.module.css';

const ROW_HEIGHT = 18;
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

const Row = memo(function Row({ line, needle, start }: { line: LogLine; needle: string; start: number }) {
  const kind = line.seq < 0 ? classes.note : line.error ? classes.error : line.level === 'DEBUG' || line.level === 'TRACE' ? classes.debug : line.level === 'WARNING' ? classes.warning : '';
  return (
    <div className={`${classes.row} ${kind}`} style={{ transform: `translateY(${start}px)` }} data-error={line.error || undefined} data-seq={line.seq}>
      <Highlighted text={line.text} needle={needle} />
    </div>
  );
});

export function LogViewer({ topic, downloadHref, capacity = 20_000, height = 420, label = 'Log' }: LogViewerProps) {
  const buffer = useMemo(() => new LogBuffer(capacity), [capacity]);
  // Lines passing the filter, bounded like the buffer; rebuilt when the filter changes.
  const shown = useRef(new BoundedList<LogLine>(capacity));
  const pending = useRef<unknown[]>([]);
  const frame = useRef(0);
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

  const flush = useCallback(() => {
    frame.current = 0;
    const batches = pending.current;
    pending.current = [];
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
  }, [buffer]);

  const onMessage = useCallback(
    (message: HubMessage) => {
      if (message.type !== 'log') return;
      pending.current.push(message.payload);
      frame.current ||= requestAnimationFrame(flush);
    },
    [flush],
  );
  useHubTopic([topic], onMessage);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

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

  const lines = frozen ?? shown.current.view();
  // Not memoised by a compiler here: the virtualiser is read fresh on every render.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  });

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
        <Button size="xs" variant={follow ? 'filled' : 'light'} onClick={() => setFollow(!follow)} aria-pressed={follow}>
          {follow ? 'Pause' : 'Follow'}
        </Button>
        {!follow && newWhilePaused > 0 && (
          <Badge variant="light" color="blue">
            {newWhilePaused.toLocaleString()} new
          </Badge>
        )}
        <Select
          size="xs"
          w={140}
          aria-label="Lowest level shown"
          placeholder="All levels"
          clearable
          data={LOG_LEVELS.map((l) => ({ value: l, label: `${l} and above` }))}
          value={level}
          onChange={(value) => setLevel(value ?? null)}
          comboboxProps={{ withinPortal: true }}
        />
        <TextInput size="xs" w={180} aria-label="Search the log" placeholder="Search" value={query} onChange={(e) => setQuery(e.currentTarget.value)} />
        <Text size="xs" c="dimmed" aria-live="off">
          {filtering ? `${lines.length.toLocaleString()} of ${buffer.lines.length.toLocaleString()} lines` : `${lines.length.toLocaleString()} lines`}
        </Text>
        {downloadHref && (
          <Tooltip label="The whole log file">
            <ActionIcon component="a" href={downloadHref} download variant="light" size="md" aria-label="Download the log">
              <span aria-hidden="true">⤓</span>
            </ActionIcon>
          </Tooltip>
        )}
      </Group>
      <div
        ref={scroller}
        className={classes.scroller}
        style={{ height }}
        role="log"
        aria-label={label}
        aria-live="off"
        tabIndex={0}
        data-received={buffer.received}
        onWheel={onWheel}
        onKeyDown={onKeyDown}
      >
        {lines.length === 0 ? (
          <div className={classes.empty}>{filtering ? 'No line matches.' : 'No lines yet.'}</div>
        ) : (
          <div className={classes.inner} style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const line = lines[item.index];
              return line ? <Row key={item.key} line={line} needle={needle} start={item.start} /> : null;
            })}
          </div>
        )}
      </div>
    </div>
  );
}

export default LogViewer;
