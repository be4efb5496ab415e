import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { pagination, responses } from '../../http/schemas.js';
import type { DashboardService, IncomeItem } from './dashboard.service.js';
import { DashboardIncome, DashboardPerformance, DashboardPositions, DashboardStats, IncomeQuery, PerformanceQuery, PositionsQuery } from './dashboard.schemas.js';

const tags = ['dashboard'];

const CSV_COLUMNS: (keyof IncomeItem)[] = ['time', 'account', 'exchange', 'symbol', 'side', 'positionSide', 'orderType', 'qty', 'price', 'pnl', 'fee', 'netPnl', 'status', 'fillId', 'source'];

/** RFC 4180 quoting; a leading = + - @ is prefixed so a spreadsheet never runs a cell as a formula. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function* csvLines(items: AsyncIterable<IncomeItem>): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\n`;
  for await (const item of items) yield `${CSV_COLUMNS.map((c) => csvCell(item[c])).join(',')}\n`;
}

export const dashboardRoutes: FastifyPluginAsyncTypebox<{ dashboard: DashboardService }> = async (app, { dashboard }) => {
  app.get(
    '/dashboard/stats',
    { config: { auth: 'viewer' }, schema: { operationId: 'getDashboardStats', tags, summary: "Bots, environments, accounts, balance, equity, realised and unrealised PnL, open positions, jobs, and how reading each bot's files goes", response: responses({ 200: DashboardStats }) } },
    async () => dashboard.stats(),
  );

  app.get(
    '/dashboard/performance',
    {
      config: { auth: 'viewer' },
      schema: {
        operationId: 'getDashboardPerformance',
        tags,
        summary: 'Balance and equity series, realised PnL per day or hour with the cumulative line, average daily gain, max drawdown, PnL per symbol and top symbols',
        querystring: PerformanceQuery,
        response: responses({ 200: DashboardPerformance }),
      },
    },
    async (request) => dashboard.performance(request.query),
  );

  app.get(
    '/dashboard/positions',
    { config: { auth: 'viewer' }, schema: { operationId: 'listDashboardPositions', tags, summary: 'Every open position with its next entry and next close from the open orders', querystring: PositionsQuery, response: responses({ 200: DashboardPositions }) } },
    async (request) => dashboard.positions(request.query),
  );

  app.get(
    '/dashboard/income',
    {
      config: { auth: 'viewer' },
      schema: {
        operationId: 'listDashboardIncome',
        tags,
        summary: 'Realised PnL events (fills), newest first: a page as JSON, or all of them as CSV (format=csv)',
        querystring: IncomeQuery,
        response: responses({
          200: {
            description: 'A page of fills (JSON), or every matching fill (CSV attachment)',
            content: { 'application/json': { schema: DashboardIncome }, 'text/csv': { schema: Type.Unsafe<string | Readable>(Type.String()) } },
          },
        }),
      },
    },
    async (request, reply) => {
      const { page = 1, limit = 50, format = 'json', ...selection } = request.query;
      if (format === 'csv') {
        const items = await dashboard.incomeAll(selection);
        return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="income.csv"').send(Readable.from(csvLines(items)));
      }
      const { total, items } = await dashboard.income(selection, page, limit);
      return reply.header('content-type', 'application/json; charset=utf-8').send({ items, pagination: pagination(page, limit, total) });
    },
  );
};
