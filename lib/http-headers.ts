// The rules for headers the gateway sends on someone else's behalf (a
// function's result, a deployment's fallback): one place, so that the CRD's
// validation, the gateway's check of a result and its reading of a fallback
// cannot drift apart.
import { validateHeaderName, validateHeaderValue } from 'node:http';

/**
 * Headers that say how the connection or the message is framed: the gateway
 * sets them itself, so a function's own are dropped rather than sent, where
 * a content-length or transfer-encoding of its choosing would let it frame
 * the gateway's response (and smuggle another to whatever sits in front).
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Whether Node can send this header: a token for its name, and values without CR, LF or NUL. */
export function isValidHeader(name: string, value: string | string[]): boolean {
  try {
    validateHeaderName(name);
    for (const v of [value].flat()) validateHeaderValue(name, v);
    return true;
  } catch {
    return false;
  }
}
