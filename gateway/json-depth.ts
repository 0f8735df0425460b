// How deeply a JSON text nests, found by one pass over its characters with no
// recursion. The gateway parses JSON only for CloudEvents, and a text nested
// thousands deep overflows the stack of whatever walks it afterwards (the
// CloudEvents SDK's validation, JSON.stringify): it is refused as input
// (400) before anything walks it.

/** JSON nested deeper than this is refused; real events nest a few levels. */
export const MAX_JSON_DEPTH = 128;

/** The deepest nesting of arrays and objects in `text`; malformed input is left to JSON.parse. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}
