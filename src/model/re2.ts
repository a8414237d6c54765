/**
 * Translates an RE2 pattern into an anchored JavaScript RegExp.
 * (Placeholder: anchoring only; full RE2 translation is owned by the tsdb/head work.)
 */
export function compileRE2(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`, "su");
  } catch (e) {
    throw new Error(`error parsing regexp: ${(e as Error).message}: \`${pattern}\``);
  }
}
