/**
 * Consul's `filter` query parameter (the go-bexpr language) for the fake
 * Consul: `and`, `or`, `not`, parentheses, and the match operators `==`,
 * `!=`, `in`, `not in`, `contains`, `not contains`, `matches`,
 * `not matches`, `is empty`, `is not empty`. Selectors are dotted paths
 * (`Service.Meta.env`, `Node.Meta["rack"]`); values are "double-quoted",
 * `backquoted` or bare words.
 *
 * @example
 * const f = compileConsulFilter('Service.Meta.env == "prod" and "http" in Service.Tags', ["Node", "Service", "Checks"]);
 * f({ Service: { Meta: { env: "prod" }, Tags: ["http"] } }) // true
 */

type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; inner: Node }
  | { kind: "match"; op: string; negate: boolean; selector: string[]; value: string };

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(==|!=|\(|\)|\[|\]|\.)|([A-Za-z0-9_\-:/]+))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) {
      const at = pos + (/^\s*/.exec(src.slice(pos))?.[0].length ?? 0);
      throw new Error(`filter: unexpected character ${JSON.stringify(src[at])} at position ${at}`);
    }
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
    pos = re.lastIndex;
  }
  return tokens;
}

function unquote(tok: string): string {
  if (tok.startsWith('"')) return JSON.parse(tok) as string;
  if (tok.startsWith("`")) return tok.slice(1, -1);
  return tok;
}

/** Compiles a filter against records whose top-level fields are `fields`; throws on bad syntax or selectors. */
export function compileConsulFilter(src: string, fields: readonly string[]): (record: unknown) => boolean {
  const t = tokenize(src);
  let i = 0;
  const peek = (k = 0) => t[i + k];
  const take = (want?: string): string => {
    const tok = t[i];
    if (tok === undefined || (want !== undefined && tok !== want)) throw new Error(`filter: expected ${want ?? "more input"} at token ${i}, got ${tok ?? "end of input"}`);
    i++;
    return tok;
  };
  const isValue = (tok: string | undefined) => tok !== undefined && (tok.startsWith('"') || tok.startsWith("`"));

  function selector(): string[] {
    const path = [take()];
    if (!fields.includes(path[0]!)) throw new Error(`Selector ${JSON.stringify(path[0])} is not valid`);
    for (;;) {
      if (peek() === ".") {
        take(".");
        path.push(take());
      } else if (peek() === "[") {
        take("[");
        path.push(unquote(take()));
        take("]");
      } else {
        return path;
      }
    }
  }

  function match(): Node {
    if (isValue(peek()) || (peek(1) === "in") || (peek(1) === "not" && peek(2) === "in")) {
      const value = unquote(take());
      const negate = peek() === "not";
      if (negate) take("not");
      take("in");
      return { kind: "match", op: "in", negate, selector: selector(), value };
    }
    const sel = selector();
    const op = take();
    if (op === "is") {
      const negate = peek() === "not";
      if (negate) take("not");
      take("empty");
      return { kind: "match", op: "empty", negate, selector: sel, value: "" };
    }
    if (op === "==" || op === "!=") return { kind: "match", op: "==", negate: op === "!=", selector: sel, value: unquote(take()) };
    const negate = op === "not";
    const realOp = negate ? take() : op;
    if (realOp !== "contains" && realOp !== "matches") throw new Error(`filter: unknown operator ${JSON.stringify(realOp)}`);
    return { kind: "match", op: realOp, negate, selector: sel, value: unquote(take()) };
  }

  function unary(): Node {
    if (peek() === "not" && peek(1) !== "in") {
      take("not");
      return { kind: "not", inner: unary() };
    }
    if (peek() === "(") {
      take("(");
      const e = or();
      take(")");
      return e;
    }
    return match();
  }

  function and(): Node {
    let left = unary();
    while (peek() === "and") {
      take("and");
      left = { kind: "and", left, right: unary() };
    }
    return left;
  }

  function or(): Node {
    let left = and();
    while (peek() === "or") {
      take("or");
      left = { kind: "or", left, right: and() };
    }
    return left;
  }

  const root = or();
  if (i !== t.length) throw new Error(`filter: unexpected ${JSON.stringify(t[i])} at token ${i}`);

  function resolve(record: unknown, path: string[]): unknown {
    let v = record;
    for (const p of path) v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[p] : undefined;
    return v;
  }

  function evaluate(n: Node, record: unknown): boolean {
    if (n.kind === "not") return !evaluate(n.inner, record);
    if (n.kind !== "match") return n.kind === "and" ? evaluate(n.left, record) && evaluate(n.right, record) : evaluate(n.left, record) || evaluate(n.right, record);
    const v = resolve(record, n.selector);
    let result: boolean;
    switch (n.op) {
      case "==": result = String(v ?? "") === n.value; break;
      case "empty": result = v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && Object.keys(v).length === 0); break;
      case "in":
      case "contains":
        if (Array.isArray(v)) result = v.includes(n.value);
        else if (typeof v === "string") result = v.includes(n.value);
        else if (typeof v === "object" && v !== null) result = n.value in v;
        else result = false;
        break;
      default: result = new RegExp(n.value).test(String(v ?? ""));
    }
    return n.negate ? !result : result;
  }

  return (record) => evaluate(root, record);
}
