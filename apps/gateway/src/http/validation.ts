import { AppError, ErrorCode } from '@hongbao/contracts';
import { z } from 'zod';
import type { GatewayConfig } from '../config';

/** Parses input with a strict zod schema; any problem is a 400 VALIDATION.FAILED naming the fields. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : what}: ${i.message}`);
  throw new AppError(ErrorCode.ValidationFailed, `invalid ${what}: ${issues.join('; ')}`);
}

const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,128}$/;
const ENVELOPE_ID = /^[1-9][0-9]{0,19}$/;

/** `Idempotency-Key`: 1-128 printable ASCII characters, required on money-moving POSTs. */
export function idempotencyKey(header: unknown): string {
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
    throw new AppError(ErrorCode.ValidationFailed, 'Idempotency-Key header is required: 1-128 printable characters');
  }
  return header;
}

/** Envelope ids are 64-bit decimal strings; anything else is not one of ours. */
export function envelopeId(raw: unknown): string {
  if (typeof raw !== 'string' || !ENVELOPE_ID.test(raw) || BigInt(raw) >= 2n ** 63n) {
    throw new AppError(ErrorCode.ValidationFailed, 'envelope id must be a decimal id');
  }
  return raw;
}

/** Request schemas, built from the configured limits. Strict: unknown fields are refused. */
export function schemas(c: GatewayConfig) {
  const cents = (max: number) => z.number().int('must be an integer number of cents').positive('must be positive').max(max, `must be at most ${max}`);
  return {
    topup: z.strictObject({ amount: cents(c.MAX_AMOUNT) }),
    createEnvelope: z
      .strictObject({
        amount: cents(c.MAX_AMOUNT),
        count: z.number().int('must be an integer').min(1, 'must be at least 1').max(c.MAX_COUNT, `must be at most ${c.MAX_COUNT}`),
        mode: z.enum(['random', 'equal']),
        greeting: z.string().max(c.MAX_GREETING_LENGTH, `must be at most ${c.MAX_GREETING_LENGTH} characters`).optional(),
        ttlSeconds: z.number().int('must be an integer').min(1).max(c.MAX_TTL_SECONDS).optional(),
      })
      .refine((b) => b.amount >= b.count, { message: 'amount must be at least count (every share gets at least 1 cent)', path: ['amount'] })
      .refine((b) => b.mode !== 'equal' || b.amount % b.count === 0, { message: 'equal mode needs amount divisible by count', path: ['amount'] }),
    /** grab takes no body: absent or {} */
    empty: z.union([z.undefined(), z.null(), z.strictObject({})]),
    transactionsQuery: z.strictObject({
      limit: z
        .string()
        .regex(/^[0-9]{1,3}$/, 'must be an integer 1..100')
        .transform(Number)
        .refine((n) => n >= 1 && n <= 100, 'must be an integer 1..100')
        .optional(),
      cursor: z.string().min(1).max(200).optional(),
    }),
    degradation: z.strictObject({ mode: z.enum(['auto', 'on', 'off']) }),
  };
}
export type Schemas = ReturnType<typeof schemas>;
