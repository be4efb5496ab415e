import type { HubClient, Publisher } from '../../hub/hub.js';
import { topics } from '../../hub/topics.js';
import { FINISHED, type JobStatus } from '../jobs.types.js';

/** Lines a subscriber of `job:<id>:logs` gets first. */
export const JOB_LOG_BACKLOG = 500;
const ERROR_LINE = /Traceback|Error|error|failed|Exception/;
const LOGS_TOPIC = /^job:([A-Za-z0-9_-]{1,64}):logs$/;

/** What the log viewer reads (the same shape as a bot's log batch). */
export interface JobLogBatch {
  jobId: string;
  /** Number of the first line (0 = the job's first line since this server started it). */
  seq: number;
  lines: string[];
  /** Indexes within `lines` of error-looking lines. */
  errors: number[];
  backlog?: true;
}

export function jobLogBatch(jobId: string, seq: number, lines: string[], backlog = false): JobLogBatch {
  const errors = lines.flatMap((line, i) => (ERROR_LINE.test(line) ? [i] : []));
  return { jobId, seq, lines, errors, ...(backlog && { backlog: true }) };
}

interface Book {
  next: number;
  lines: string[];
}

/**
 * A job's output on the hub as numbered log batches (`job:<id>:logs`), for the same log viewer as
 * bots. It wraps the publisher the job runners already use: every `job_log` message (from this
 * server's followers or from a worker's reports) is passed on and also numbered here, and the last
 * lines of each running job are kept for a subscriber that arrives late. A job's book is dropped
 * when an update says it finished; its log file is the backlog after that.
 */
export function createJobLogs(publisher: Publisher, fileLines: (jobId: string) => Promise<string[]>) {
  const books = new Map<string, Book>();

  const wrapped: Publisher = {
    publish(topic, type, payload, audience) {
      publisher.publish(topic, type, payload, audience);
      if (type === 'job_log' && topic === topics.job((payload as { id: string }).id)) {
        const { id, lines } = payload as { id: string; lines: string[] };
        let book = books.get(id);
        if (!book) books.set(id, (book = { next: 0, lines: [] }));
        publisher.publish(topics.jobLogs(id), 'log', jobLogBatch(id, book.next, lines), audience);
        book.next += lines.length;
        book.lines.push(...lines);
        if (book.lines.length > JOB_LOG_BACKLOG * 2) book.lines.splice(0, book.lines.length - JOB_LOG_BACKLOG);
      } else if (type === 'job_updated' && topic === topics.jobs) {
        const { id, status } = payload as { id: string; status: JobStatus };
        if (FINISHED.includes(status)) books.delete(id);
      }
    },
  };

  /** The backlog of a running job from memory, else the end of its log file. */
  async function backlog(jobId: string, count = JOB_LOG_BACKLOG): Promise<JobLogBatch | null> {
    const book = books.get(jobId);
    if (book) {
      const lines = book.lines.slice(-count);
      return lines.length ? jobLogBatch(jobId, book.next - lines.length, lines, true) : null;
    }
    const all = await fileLines(jobId);
    const lines = all.slice(-count);
    return lines.length ? jobLogBatch(jobId, all.length - lines.length, lines, true) : null;
  }

  return {
    publisher: wrapped,
    backlog,
    /** For the hub: a new subscriber of `job:<id>:logs` gets the backlog first. */
    sendBacklog(send: (client: HubClient, type: string, payload: unknown, topic: string) => void, client: HubClient, topic: string, onError: (err: unknown) => void): void {
      const jobId = LOGS_TOPIC.exec(topic)?.[1];
      if (!jobId) return;
      backlog(jobId)
        .then((batch) => {
          // The file read takes a moment: the client may have left or unsubscribed meanwhile.
          if (batch && !client.closed && client.topics.has(topic)) send(client, 'log', batch, topic);
        })
        .catch(onError);
    },
  };
}

export type JobLogs = ReturnType<typeof createJobLogs>;
