import { Ajv, str, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldIssue } from '../lib/errors.js';

/**
 * True when a JSON value nests arrays and objects more than `limit` levels deep (`{}` is one
 * level, a scalar none). A loop, not recursion: a body nested thousands of levels must not
 * overflow the stack here, as it would in JSON.stringify and every recursive walker after it.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [node: unknown, level: number][] = [[value, 1]];
  for (let entry = pending.pop(); entry; entry = pending.pop()) {
    const [node, level] = entry;
    if (node === null || typeof node !== 'object') continue;
    if (level > limit) return true;
    for (const child of Array.isArray(node) ? (node as unknown[]) : Object.values(node)) {
      if (child !== null && typeof child === 'object') pending.push([child, level + 1]);
    }
  }
  return false;
}

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, removeAdditional: false, coerceTypes, strict: false });
  addFormats.default(ajv);
  // `maxDepth` on a free-form field (FreeJson in schemas.ts): `body.config: nested deeper than 64 levels`.
  ajv.addKeyword({
    keyword: 'maxDepth',
    schemaType: 'number',
    errors: false,
    validate: (limit: number, data: unknown) => !nestedDeeperThan(data, limit),
    error: { message: (cxt) => str`nested deeper than ${cxt.schema as number} levels` },
  });
  return ajv;
}

/**
 * Bodies are validated strictly (no type coercion: `"5"` is not a number, unknown keys are
 * errors when a schema forbids them). Query strings and params arrive as text, so they coerce.
 */
const strict = makeAjv(false);
const coercing = makeAjv('array');

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : coercing;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** A body of thousands of unknown keys must not earn a response several times its size. */
const MAX_ISSUES = 50;

/**
 * Turns validator errors into one issue per bad field, named by its dotted path (the first
 * MAX_ISSUES), and one line for the message: `body.name: is required`, or just `body: must be
 * object` when the whole part is at fault.
 */
export function describeValidation(errors: readonly Partial<ErrorObject>[], part: string | undefined): { issues: FieldIssue[]; message: string } {
  const where = part ?? 'request';
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  const lines: string[] = [];
  for (const error of errors) {
    const base = (error.instancePath ?? '').split('/').filter(Boolean).join('.');
    const params = (error.params ?? {}) as Record<string, unknown>;
    let field = base;
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      field = [base, String(params.missingProperty)].filter(Boolean).join('.');
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      field = [base, String(params.additionalProperty)].filter(Boolean).join('.');
      message = 'is not an allowed field';
    } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      message = `must be one of ${params.allowedValues.map(String).join(', ')}`;
    }
    const name = field || part || 'body';
    if (seen.has(name)) continue;
    if (issues.length === MAX_ISSUES) break;
    seen.add(name);
    issues.push({ field: name, message });
    // A field of the part is `<part>.<field>`; the part itself is named once.
    lines.push(`${field ? `${where}.${field}` : name}: ${message}`);
  }
  return { issues, message: lines.join('; ') };
}
