// Reads a request body within two limits: the function's own (maxBodyBytes,
// 413) and the gateway's memory budget for all bodies at once (503 when it is
// full, 413 for a body that could never fit), each body counted at the
// memory it will cost (limits.ts, MEMORY_PER_BODY_BYTE). A declared Content-Length is
// judged and reserved before one byte is read; a body without one is
// reserved chunk by chunk. The caller gives the reservation back with
// release() once the response is sent; a refused or aborted read gives it
// back itself.
import type { IncomingMessage } from 'node:http';
import type { BodyBudget } from './body-budget.ts';
import { MEMORY_PER_BODY_BYTE } from './limits.ts';
import {
  bodyMemoryFull,
  bodyOverMemoryLimit,
  clientAborted,
  payloadTooLarge,
  type GatewayError,
} from './errors.ts';

export interface BodyRead {
  body: Buffer;
  /** Gives the body's bytes back to the budget; safe to call more than once. */
  release(): void;
}

const EMPTY = Buffer.alloc(0);

export function readBody(
  req: IncomingMessage,
  options: { limitBytes: number; budget: BodyBudget },
): Promise<BodyRead> {
  const { limitBytes, budget } = options;
  let reserved = 0;
  const release = () => {
    budget.release(reserved);
    reserved = 0;
  };
  /** Makes the reservation cover a body of `bodyBytes`. */
  const reserve = (bodyBytes: number): GatewayError | undefined => {
    const memory = bodyBytes * MEMORY_PER_BODY_BYTE;
    if (memory > budget.limitBytes) return bodyOverMemoryLimit(bodyBytes, budget.limitBytes);
    if (!budget.tryReserve(memory - reserved)) return bodyMemoryFull(budget.limitBytes);
    reserved = memory;
    return undefined;
  };

  // HTTP/1.1: a request with neither Content-Length nor Transfer-Encoding
  // has no body (RFC 9112, 6.3). Most invocations are such GETs: they skip
  // the stream's events, and the turn of the event loop its end would take.
  if (
    req.headers['content-length'] === undefined &&
    req.headers['transfer-encoding'] === undefined
  ) {
    req.resume();
    return Promise.resolve({ body: EMPTY, release });
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) return Promise.reject(payloadTooLarge(limitBytes));
  if (declared > 0) {
    const refused = reserve(declared);
    if (refused) return Promise.reject(refused);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: GatewayError) => {
      if (settled) return;
      settled = true;
      release();
      // Keep none of the rest: it is discarded as it arrives, or the
      // connection closes after the response (413).
      req.removeAllListeners('data');
      req.resume();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return fail(payloadTooLarge(limitBytes));
      if (size * MEMORY_PER_BODY_BYTE > reserved) {
        const refused = reserve(size);
        if (refused) return fail(refused);
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), release });
    });
    req.on('error', () => fail(clientAborted()));
    req.on('close', () => {
      if (!req.complete) fail(clientAborted());
    });
  });
}
