import { Inject, Injectable } from '@nestjs/common';
import type { EnvelopeDetails } from '@hongbao/contracts';
import { SharedReads } from '@hongbao/resilience';
import { Metrics } from '@hongbao/service-kit';
import type { FastifyReply } from 'fastify';
import { LRUCache } from 'lru-cache';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { SoldOutEdge } from './sold-out-edge';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The gateway's memory of sold-out envelopes' details, kept as the answer's JSON bytes (encoded
 * once: sending a string re-encodes it every time). A sold-out envelope's details are final (no
 * grab can change them, nothing is refunded) and the same for every caller, and after a flash
 * sale the crowd reads the winners' list: the answer for an envelope of 10,000 shares is ~700 KB
 * that the gateway would otherwise take off the RPC connection, parse and serialize again on
 * every read (docs/performance.md, sixth measurement). Bounded by DETAILS_CACHE_BYTES; 0 = off.
 * The first reads arrive together, the moment the envelope sells out: while the details of an
 * envelope this gateway knows is sold out are being fetched, the readers that arrive share that
 * RPC ({@link fetch}).
 */
@Injectable()
export class FinishedDetails {
  private readonly answers?: LRUCache<string, Buffer>;
  private readonly answered: { inc(): void };
  private readonly sharedTotal: { inc(): void };
  private readonly fetching = new SharedReads<EnvelopeDetails>();

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    private readonly soldOut: SoldOutEdge,
    metrics: Metrics,
  ) {
    if (config.DETAILS_CACHE_BYTES > 0) this.answers = new LRUCache({ maxSize: config.DETAILS_CACHE_BYTES, sizeCalculation: (b) => b.length });
    this.answered = metrics.counter('edge_details_answers_total', 'envelope details answered from the gateway\'s memory of sold-out envelopes, without an RPC');
    this.sharedTotal = metrics.counter('edge_details_shared_total', 'envelope details reads of a sold-out envelope that shared another reader\'s RPC, in flight when they arrived');
  }

  /** `load()` (the RPC), or, for an envelope known sold out, the one already in flight for it. */
  fetch(envelopeId: string, load: () => Promise<EnvelopeDetails>): Promise<EnvelopeDetails> {
    if (!this.soldOut.knows(envelopeId)) return load();
    const { value, shared } = this.fetching.read(envelopeId, load);
    if (shared) this.sharedTotal.inc();
    return value;
  }

  /** The remembered answer (JSON bytes, with their content type set on the reply), or undefined. */
  answer(envelopeId: string, reply: FastifyReply): Buffer | undefined {
    const bytes = this.answers?.get(envelopeId);
    if (bytes === undefined) return undefined;
    this.answered.inc();
    void reply.header('content-type', JSON_TYPE);
    return bytes;
  }

  /** Remembers the details if the envelope is sold out, and answers them (as the bytes remembered, so they are serialized once). */
  remember(envelopeId: string, details: EnvelopeDetails, reply: FastifyReply): EnvelopeDetails | Buffer {
    if (!this.answers || details.status !== 'sold_out') return details;
    // Readers that shared one fetch all get here: the first encodes, the others find its bytes.
    let bytes = this.answers.get(envelopeId);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(details));
      this.answers.set(envelopeId, bytes);
    }
    void reply.header('content-type', JSON_TYPE);
    return bytes;
  }
}
