/**
 * Parser for Go's text/template: actions, pipelines, variables, control
 * structures (`if`/`else if`/`with`/`else with`/`range`/`break`/`continue`),
 * `define`/`template`/`block`. Follows Go's grammar and its error messages:
 * `template: NAME:LINE: MESSAGE`.
 */

import type { ArgNode, CommandNode, ListNode, Node, PipeNode, Tree } from "./ast.ts";
import { nodeString } from "./ast.ts";
import { TemplateError } from "./errors.ts";
import { isKeyword, lex, type Token, type TokenType } from "./lexer.ts";
import { parseNumber, unquote } from "./literals.ts";

type EndNode = { kind: "end"; pos: number } | { kind: "else"; pos: number; line: number };

function tokenString(t: Token): string {
  if (t.type === "eof") return "EOF";
  if (t.type === "error") return t.val;
  if (isKeyword(t.type)) return `<${t.val}>`;
  if (t.val.length > 10) return `${JSON.stringify(t.val.slice(0, 10))}...`;
  return JSON.stringify(t.val);
}

/** Reports whether a list holds only whitespace text and comments (a template "with no content"). */
export function isEmptyList(list: ListNode): boolean {
  return list.nodes.every((n) => n.kind === "comment" || (n.kind === "text" && n.text.trim() === ""));
}

/** Deepest nesting of parentheses, and separately of control structures, the parser accepts (bounds its recursion). */
export const MAX_PARSE_DEPTH = 1000;

class Parser {
  private idx = 0;
  private parenDepth = 0;
  private controlDepth = 0;
  private furthest = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;
  private actionLine = 0;
  readonly trees = new Map<string, Tree>();

  constructor(
    private readonly tokens: Token[],
    private readonly parseName: string,
    private readonly text: string,
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  private fetch(i: number): Token {
    const t = this.tokens[Math.min(i, this.tokens.length - 1)]!;
    if (i > this.furthest) this.furthest = Math.min(i, this.tokens.length - 1);
    return t;
  }
  private next(): Token {
    return this.fetch(this.idx++);
  }
  private peek(): Token {
    return this.fetch(this.idx);
  }
  private backup(n = 1): void {
    this.idx -= n;
  }
  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === "space") t = this.next();
    return t;
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  errorf(msg: string): never {
    const line = this.tokens[this.furthest]?.line ?? 1;
    throw new TemplateError(`template: ${this.parseName}:${line}: ${msg}`, "parse");
  }

  private unexpected(t: Token, context: string): never {
    if (t.type === "error") {
      let extra = "";
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (t.val.endsWith(" action")) extra = extra.slice(" in action".length);
      }
      this.errorf(`${t.val}${extra}`);
    }
    this.errorf(`unexpected ${tokenString(t)} in ${context}`);
  }

  private expect(type: TokenType, context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  /** Parses the whole text: the main template's body plus any `define`s. */
  parse(name: string): void {
    const root: ListNode = { kind: "list", pos: this.peek().pos, nodes: [] };
    while (this.peek().type !== "eof") {
      if (this.peek().type === "leftDelim") {
        const delimIdx = this.idx;
        this.next();
        if (this.nextNonSpace().type === "define") {
          this.parseDefinition();
          continue;
        }
        this.idx = delimIdx;
      }
      const n = this.textOrAction();
      if (n.kind === "end" || n.kind === "else") this.errorf(`unexpected {{${n.kind}}}`);
      root.nodes.push(n);
    }
    this.add(name, root);
  }

  private add(name: string, root: ListNode): void {
    const existing = this.trees.get(name);
    if (existing && !isEmptyList(existing.root)) {
      if (isEmptyList(root)) return;
      this.errorf(`template: multiple definition of template ${JSON.stringify(name)}`);
    }
    this.trees.set(name, { name, parseName: this.parseName, text: this.text, root });
  }

  private parseDefinition(): void {
    const savedVars = this.vars;
    const savedDepth = this.rangeDepth;
    this.vars = ["$"];
    this.rangeDepth = 0;
    const context = "define clause";
    const t = this.nextNonSpace();
    if (t.type !== "string" && t.type !== "rawString") this.unexpected(t, context);
    const name = this.unquoteToken(t);
    this.expect("rightDelim", context);
    const [list, end] = this.itemList();
    if (end.kind !== "end") this.errorf(`unexpected {{${end.kind}}} in ${context}`);
    this.add(name, list);
    this.vars = savedVars;
    this.rangeDepth = savedDepth;
  }

  private unquoteToken(t: Token): string {
    try {
      return unquote(t.val);
    } catch (e) {
      this.errorf((e as Error).message);
    }
  }

  private itemList(): [ListNode, EndNode] {
    const list: ListNode = { kind: "list", pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().type !== "eof") {
      const n = this.textOrAction();
      if (n.kind === "end" || n.kind === "else") return [list, n];
      list.nodes.push(n);
    }
    this.errorf("unexpected EOF");
  }

  private textOrAction(): Node | EndNode {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "text":
        return { kind: "text", pos: t.pos, text: t.val };
      case "comment":
        return { kind: "comment", pos: t.pos };
      case "leftDelim": {
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      default:
        this.unexpected(t, "input");
    }
  }

  private action(): Node | EndNode {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "block":
        return this.blockControl();
      case "break":
      case "continue":
        return this.loopControl(t);
      case "else":
        return this.elseControl();
      case "end":
        return { kind: "end", pos: this.expect("rightDelim", "end").pos };
      case "if":
      case "range":
      case "with":
        return this.control(t.type);
      case "template":
        return this.templateControl();
    }
    this.backup();
    const p = this.peek();
    return { kind: "action", pos: p.pos, line: p.line, pipe: this.pipeline("command", "rightDelim") };
  }

  private loopControl(t: Token): Node {
    const after = this.nextNonSpace();
    if (after.type !== "rightDelim") this.unexpected(after, `{{${t.type}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${t.type}}} outside {{range}}`);
    return { kind: t.type as "break" | "continue", pos: t.pos, line: t.line };
  }

  private elseControl(): EndNode {
    const p = this.peekNonSpace();
    if (p.type === "if" || p.type === "with") return { kind: "else", pos: p.pos, line: p.line };
    const t = this.expect("rightDelim", "else");
    return { kind: "else", pos: t.pos, line: t.line };
  }

  private control(context: "if" | "range" | "with"): Node {
    if (this.controlDepth >= MAX_PARSE_DEPTH) this.errorf("max control structure depth exceeded");
    this.controlDepth++;
    try {
      return this.controlBody(context);
    } finally {
      this.controlDepth--;
    }
  }

  private controlBody(context: "if" | "range" | "with"): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(context, "rightDelim");
    if (context === "range") this.rangeDepth++;
    const [list, next] = this.itemList();
    if (context === "range") this.rangeDepth--;
    let elseList: ListNode | null = null;
    if (next.kind === "else") {
      const p = this.peek();
      if ((context === "if" && p.type === "if") || (context === "with" && p.type === "with")) {
        // `{{else if x}}` is `{{else}}{{if x}}…{{end}}{{end}}` with the inner end shared.
        this.next();
        elseList = { kind: "list", pos: next.pos, nodes: [this.control(context)] };
      } else {
        const [els, end] = this.itemList();
        if (end.kind !== "end") this.errorf(`expected end; found {{${end.kind}}}`);
        elseList = els;
      }
    }
    this.vars.length = mark;
    return { kind: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
  }

  private templateName(t: Token, context: string): string {
    if (t.type === "string" || t.type === "rawString") return this.unquoteToken(t);
    this.unexpected(t, context);
  }

  private templateControl(): Node {
    const context = "template clause";
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().type !== "rightDelim") {
      this.backup();
      pipe = this.pipeline(context, "rightDelim");
    }
    return { kind: "template", pos: t.pos, line: t.line, name, pipe };
  }

  private blockControl(): Node {
    const context = "block clause";
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    const pipe = this.pipeline(context, "rightDelim");
    const savedVars = this.vars;
    const savedDepth = this.rangeDepth;
    this.vars = ["$"];
    this.rangeDepth = 0;
    const [list, end] = this.itemList();
    if (end.kind !== "end") this.errorf(`unexpected {{${end.kind}}} in ${context}`);
    this.add(name, list);
    this.vars = savedVars;
    this.rangeDepth = savedDepth;
    return { kind: "template", pos: t.pos, line: t.line, name, pipe };
  }

  private pipeline(context: string, end: "rightDelim" | "rightParen"): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = { kind: "pipe", pos: first.pos, line: first.line, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== "variable") break;
      const before = this.idx;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === "assign" || next.type === "declare") {
        pipe.isAssign = next.type === "assign";
        this.nextNonSpace();
        pipe.decl.push({ pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        break;
      }
      if (next.type === "char" && next.val === ",") {
        this.nextNonSpace();
        pipe.decl.push({ pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        if (context === "range" && pipe.decl.length < 2) {
          const after = this.peekNonSpace().type;
          if (after === "variable" || after === "rightDelim" || after === "rightParen") continue;
          this.errorf("range can only initialize variables");
        }
        this.errorf(`too many declarations in ${context}`);
      }
      this.idx = before;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.type) {
        case "bool":
        case "charConstant":
        case "dot":
        case "field":
        case "identifier":
        case "number":
        case "nil":
        case "rawString":
        case "string":
        case "variable":
        case "leftParen":
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0]!.kind;
      if (k === "bool" || k === "dot" || k === "nil" || k === "number" || k === "string") {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: "command", pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === "space") continue;
      if (t.type === "rightDelim" || t.type === "rightParen") this.backup();
      else if (t.type !== "pipe") this.unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) this.errorf("empty command");
    return cmd;
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().type !== "field") return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().type === "field") fields.push(this.next().val.slice(1));
    switch (node.kind) {
      case "field":
        return { kind: "field", pos, ident: [...node.ident, ...fields] };
      case "variable":
        return { kind: "variable", pos, ident: [...node.ident, ...fields] };
      case "bool":
      case "string":
      case "number":
      case "nil":
      case "dot":
        this.errorf(`unexpected . after term ${JSON.stringify(nodeString(node))}`);
      default:
        return { kind: "chain", pos, node, field: fields };
    }
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "identifier":
        if (!this.hasFunction(t.val)) this.errorf(`function ${JSON.stringify(t.val)} not defined`);
        return { kind: "identifier", pos: t.pos, name: t.val };
      case "dot":
        return { kind: "dot", pos: t.pos };
      case "nil":
        return { kind: "nil", pos: t.pos };
      case "variable": {
        const parts = t.val.split(".");
        if (!this.vars.includes(parts[0]!)) this.errorf(`undefined variable ${JSON.stringify(parts[0])}`);
        return { kind: "variable", pos: t.pos, ident: parts };
      }
      case "field":
        return { kind: "field", pos: t.pos, ident: [t.val.slice(1)] };
      case "bool":
        return { kind: "bool", pos: t.pos, value: t.val === "true" };
      case "charConstant":
      case "number":
        try {
          return parseNumber(t.pos, t.val, t.type === "charConstant");
        } catch (e) {
          this.errorf((e as Error).message);
        }
      case "leftParen":
        if (this.parenDepth >= MAX_PARSE_DEPTH) this.errorf("max expression depth exceeded");
        this.parenDepth++;
        try {
          return this.pipeline("parenthesized pipeline", "rightParen");
        } finally {
          this.parenDepth--;
        }
      case "string":
      case "rawString":
        return { kind: "string", pos: t.pos, quoted: t.val, text: this.unquoteToken(t) };
    }
    this.backup();
    return null;
  }
}

/**
 * Parses template text into its named trees: the main template under
 * `name`, plus one tree per `{{define}}`/`{{block}}`. `hasFunction` says
 * which identifiers are callable; others are rejected with Go's
 * `function "x" not defined`.
 *
 * Throws {@link TemplateError} (kind "parse") for malformed text.
 */
export function parseTrees(name: string, text: string, hasFunction: (name: string) => boolean): Map<string, Tree> {
  const p = new Parser(lex(text), name, text, hasFunction);
  p.parse(name);
  return p.trees;
}
