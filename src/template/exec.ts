/**
 * Executes parsed templates over template values (values.ts) with Go's
 * text/template semantics. Execution is async so that functions may return
 * Promises (Prometheus's `query` runs the PromQL engine); everything else
 * runs in order, one template at a time.
 */

import type { ArgNode, CommandNode, ControlNode, ListNode, Node, NumberNode, PipeNode, TemplateNode, Tree } from "./ast.ts";
import { nodeString } from "./ast.ts";
import { TemplateError } from "./errors.ts";
import { formatPlain, quote } from "./fmt.ts";
import { BUILTINS, paramTypeName, type ExecContext, type ParamType, type TemplateFunc } from "./funcs.ts";
import { goTypeName, isMapValue, isPlainObject, isTrue, mapGet, mapHas, sortedEntries, utf8Length } from "./values.ts";

/** Limit on nested `{{template}}` calls (Go allows 100000; JS stacks are smaller). */
export const MAX_EXEC_DEPTH = 1000;

/** What the executor needs from a template set. */
export interface ExecEnv {
  trees: ReadonlyMap<string, Tree>;
  funcs: ReadonlyMap<string, TemplateFunc>;
  /** "error" makes a missing map key an execution error (Go's `missingkey=error`). */
  missingKey: "default" | "error";
  /** Rewrites each printed action value (html/template mode marks values for contextual escaping). */
  printed?: (value: unknown, text: string) => string;
}

const MISSING: unique symbol = Symbol("missing");
type Final = unknown;

class LoopSignal {
  constructor(readonly kind: "break" | "continue") {}
}

const BUILTIN_PROTOS: readonly object[] = [Object.prototype, Array.prototype, Map.prototype, Function.prototype, Error.prototype];

/**
 * Finds a method (a function on a user prototype) or a getter of an object.
 * As in Go, only exported (capitalised) names are methods, so a map key
 * like `record` is never shadowed by an internal helper.
 */
function findMember(obj: object, name: string): { method?: Function; getter?: () => unknown } | undefined {
  const first = name[0];
  if (first === undefined || first === first.toLowerCase()) return undefined;
  let proto = Object.getPrototypeOf(obj);
  while (proto && !BUILTIN_PROTOS.includes(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d) {
      if (typeof d.value === "function" && name !== "constructor") return { method: d.value };
      if (d.get) return { getter: d.get };
      return undefined;
    }
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

class State implements ExecContext {
  private vars: { name: string; value: unknown }[];
  private node: ArgNode | CommandNode | Node | ListNode | null = null;
  private depth = 0;
  readonly out: string[] = [];

  constructor(
    private readonly env: ExecEnv,
    private tree: Tree,
    data: unknown,
  ) {
    this.vars = [{ name: "$", value: data }];
  }

  async executeTemplate(name: string, data: unknown): Promise<string> {
    const tree = this.env.trees.get(name);
    if (!tree) throw new Error(`template: no template ${quote(name)} associated with template ${quote(this.tree.name)}`);
    const s = new State(this.env, tree, data);
    s.depth = this.depth + 1;
    await s.walk(data, tree.root);
    return s.out.join("");
  }

  private at(n: ArgNode | CommandNode | Node | ListNode): void {
    this.node = n;
  }

  errorf(msg: string): never {
    const name = this.tree.name;
    if (!this.node) throw new TemplateError(`template: ${name}: ${msg}`, "exec");
    const pos = this.node.pos;
    const before = this.tree.text.slice(0, pos);
    const lastNL = before.lastIndexOf("\n");
    const col = lastNL < 0 ? utf8Length(before) : utf8Length(before.slice(lastNL + 1));
    let line = 1;
    for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++;
    let context = nodeString(this.node);
    const runes = [...context];
    if (runes.length > 20) context = `${runes.slice(0, 20).join("")}...`;
    throw new TemplateError(`template: ${this.tree.parseName}:${line}:${col}: executing ${quote(name)} at <${context}>: ${msg}`, "exec");
  }

  // Variables.

  private mark(): number {
    return this.vars.length;
  }
  private pop(mark: number): void {
    this.vars.length = mark;
  }
  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private setTopVar(n: number, value: unknown): void {
    this.vars[this.vars.length - n]!.value = value;
  }
  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.errorf(`undefined variable: ${name}`);
  }

  // Walking the tree.

  async walk(dot: unknown, node: Node | ListNode): Promise<void> {
    this.at(node);
    switch (node.kind) {
      case "list":
        for (const n of node.nodes) await this.walk(dot, n);
        return;
      case "text":
        this.out.push(node.text);
        return;
      case "comment":
        return;
      case "action": {
        const val = await this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case "break":
      case "continue":
        throw new LoopSignal(node.kind);
      case "if":
      case "with": {
        const mark = this.mark();
        const val = await this.evalPipeline(dot, node.pipe);
        if (isTrue(val)) await this.walk(node.kind === "with" ? val : dot, node.list);
        else if (node.elseList) await this.walk(dot, node.elseList);
        this.pop(mark);
        return;
      }
      case "range":
        return this.walkRange(dot, node);
      case "template":
        return this.walkTemplate(dot, node);
    }
  }

  private printValue(node: Node, v: unknown): void {
    this.at(node);
    if (typeof v === "function") this.errorf(`can't print ${nodeString(node)} of type func`);
    const text = v === undefined || v === null ? "<no value>" : formatPlain(v);
    this.out.push(this.env.printed ? this.env.printed(v, text) : text);
  }

  private async walkRange(dot: unknown, r: ControlNode): Promise<void> {
    this.at(r);
    const outer = this.mark();
    const val = await this.evalPipeline(dot, r.pipe);
    const mark = this.mark();
    const decl = r.pipe.decl;
    const oneIteration = async (index: unknown, elem: unknown): Promise<boolean> => {
      if (decl.length > 0) {
        if (r.pipe.isAssign) this.setVar(decl[0]!.ident[0]!, decl.length > 1 ? index : elem);
        else this.setTopVar(1, elem);
      }
      if (decl.length > 1) {
        if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0]!, elem);
        else this.setTopVar(2, index);
      }
      try {
        await this.walk(elem, r.list);
      } catch (e) {
        if (!(e instanceof LoopSignal)) throw e;
        if (e.kind === "break") return false;
      } finally {
        this.pop(mark);
      }
      return true;
    };
    let ranged = false;
    if (Array.isArray(val)) {
      const items = [...val];
      ranged = items.length > 0;
      for (let i = 0; i < items.length; i++) {
        await yieldIfBusy();
        if (!(await oneIteration(BigInt(i), items[i]))) break;
      }
    } else if (isMapValue(val)) {
      const entries = sortedEntries(val);
      ranged = entries.length > 0;
      for (const [k, v] of entries) {
        await yieldIfBusy();
        if (!(await oneIteration(k, v))) break;
      }
    } else if (typeof val === "bigint") {
      if (decl.length > 1) this.errorf(`can't use ${val} to iterate over more than one variable`);
      ranged = val > 0n;
      for (let i = 0n; i < val; i++) if (!(await oneIteration(i, i))) break;
    } else if (val !== undefined && val !== null) {
      this.errorf(`range can't iterate over ${formatPlain(val)}`);
    }
    if (!ranged && r.elseList) await this.walk(dot, r.elseList);
    this.pop(outer);
  }

  private async walkTemplate(dot: unknown, t: TemplateNode): Promise<void> {
    this.at(t);
    const tree = this.env.trees.get(t.name);
    if (!tree) this.errorf(`template ${quote(t.name)} not defined`);
    if (this.depth >= MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    const newDot = t.pipe ? await this.evalPipeline(dot, t.pipe) : undefined;
    const saved = { vars: this.vars, tree: this.tree, depth: this.depth };
    this.vars = [{ name: "$", value: newDot }];
    this.tree = tree;
    this.depth++;
    try {
      await this.walk(newDot, tree.root);
    } finally {
      this.vars = saved.vars;
      this.tree = saved.tree;
      this.depth = saved.depth;
    }
  }

  // Evaluation.

  private async evalPipeline(dot: unknown, pipe: PipeNode): Promise<unknown> {
    this.at(pipe);
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) value = await this.evalCommand(dot, cmd, value);
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d.ident[0]!, value);
      else this.vars.push({ name: d.ident[0]!, value });
    }
    return value;
  }

  private notAFunction(args: readonly ArgNode[] | null, final: Final): void {
    if ((args && args.length > 1) || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args![0]!)}`);
  }

  private async evalCommand(dot: unknown, cmd: CommandNode, final: Final): Promise<unknown> {
    const first = cmd.args[0]!;
    switch (first.kind) {
      case "field":
        return this.evalFieldNode(dot, first, cmd.args, final);
      case "chain":
        return this.evalChainNode(dot, first, cmd.args, final);
      case "identifier":
        return this.evalFunction(dot, first, cmd.args, final);
      case "pipe":
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case "variable":
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case "bool":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        this.errorf("nil is not a command");
      case "number":
        return this.idealConstant(first);
      case "string":
        return first.text;
    }
  }

  private idealConstant(n: NumberNode): unknown {
    this.at(n);
    const floatLiteral = n.isFloat && !/^[+-]?0[xX]/.test(n.text) && !n.isRune && /[.eEpP]/.test(n.text);
    if (floatLiteral) return n.float;
    if (n.isInt) return n.int;
    this.errorf(`${n.text} overflows int`);
  }

  private async evalFieldNode(dot: unknown, field: Extract<ArgNode, { kind: "field" }>, args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private async evalChainNode(dot: unknown, chain: Extract<ArgNode, { kind: "chain" }>, args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    this.at(chain);
    if (chain.node.kind === "nil") this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = await this.evalArg(dot, "value", chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private async evalVariableNode(dot: unknown, v: Extract<ArgNode, { kind: "variable" }>, args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private async evalFieldChain(dot: unknown, receiver: unknown, node: ArgNode, ident: readonly string[], args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    let r = receiver;
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) r = await this.evalField(dot, ident[i]!, node, null, MISSING, r);
    return this.evalField(dot, ident[n - 1]!, node, args, final, r);
  }

  private async evalField(dot: unknown, fieldName: string, node: ArgNode, args: readonly ArgNode[] | null, final: Final, receiver: unknown): Promise<unknown> {
    if (receiver === undefined || receiver === null) {
      if (this.env.missingKey === "error") this.errorf(`nil data; no entry for key ${quote(fieldName)}`);
      return undefined;
    }
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (typeof receiver === "object" && !isPlainObject(receiver) && !(receiver instanceof Map)) {
      const member = findMember(receiver, fieldName);
      if (member?.method) {
        const method = member.method;
        const bound = Object.assign((...a: unknown[]) => method.apply(receiver, a), { signature: (method as TemplateFunc).signature });
        return this.evalCall(dot, bound, node, fieldName, args, final);
      }
      if (member?.getter && !isMapValue(receiver)) {
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
        return member.getter.call(receiver);
      }
    }
    if (isMapValue(receiver)) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      if (this.env.missingKey === "error" && !mapHas(receiver, fieldName)) this.errorf(`map has no entry for key ${quote(fieldName)}`);
      return mapGet(receiver, fieldName);
    }
    if (typeof receiver === "object" && !Array.isArray(receiver) && Object.prototype.hasOwnProperty.call(receiver, fieldName)) {
      if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
      const v = (receiver as Record<string, unknown>)[fieldName];
      return v === undefined ? null : v;
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${goTypeName(receiver)}`);
  }

  private async evalFunction(dot: unknown, node: Extract<ArgNode, { kind: "identifier" }>, args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    this.at(node);
    const fn = this.env.funcs.get(node.name) ?? BUILTINS[node.name];
    if (!fn) this.errorf(`${quote(node.name)} is not a defined function`);
    const lazy = (node.name === "and" || node.name === "or") && !this.env.funcs.has(node.name);
    return lazy ? this.evalAndOr(dot, node, node.name, args, final) : this.evalCall(dot, fn, node, node.name, args, final);
  }

  private checkArgCount(name: string, fn: TemplateFunc, numIn: number): void {
    const sig = fn.signature;
    if (!sig) return;
    const fixed = sig.params.length;
    if (sig.variadic !== undefined) {
      if (numIn < fixed) this.errorf(`wrong number of args for ${name}: want at least ${fixed} got ${numIn}`);
    } else if (numIn !== fixed) {
      this.errorf(`wrong number of args for ${name}: want ${fixed} got ${numIn}`);
    }
  }

  private paramType(fn: TemplateFunc, i: number): ParamType {
    const sig = fn.signature;
    if (!sig) return "any";
    return i < sig.params.length ? sig.params[i]! : (sig.variadic ?? "any");
  }

  /** `and`/`or` evaluate arguments left to right and stop at the first that decides the result. */
  private async evalAndOr(dot: unknown, node: ArgNode, name: string, args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    const argNodes = args ? args.slice(1) : [];
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    if (numIn < 1) {
      this.at(node);
      this.errorf(`wrong number of args for ${name}: want at least 1 got ${numIn}`);
    }
    let v: unknown;
    for (const a of argNodes) {
      v = await this.evalArg(dot, "value", a);
      if (isTrue(v) === (name === "or")) return v;
    }
    if (final !== MISSING) v = final;
    return v;
  }

  private async evalCall(dot: unknown, fn: TemplateFunc, node: ArgNode, name: string, args: readonly ArgNode[] | null, final: Final): Promise<unknown> {
    const argNodes = args ? args.slice(1) : [];
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    this.checkArgCount(name, fn, numIn);
    const values: unknown[] = [];
    for (let i = 0; i < argNodes.length; i++) values.push(await this.evalArg(dot, this.paramType(fn, i), argNodes[i]!));
    if (final !== MISSING) values.push(this.validateType(final, this.paramType(fn, numIn - 1)));
    let result: unknown;
    try {
      result = fn.apply(this, values);
      if (result instanceof Promise) result = await result;
    } catch (e) {
      this.at(node);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return result;
  }

  private validateType(value: unknown, typ: ParamType): unknown {
    if (typ === "value") return value;
    if (value === undefined || value === null) {
      if (typ === "any" || typ === "[]string" || typeof typ === "object") return null;
      this.errorf(`invalid value; expected ${paramTypeName(typ)}`);
    }
    let ok: boolean;
    switch (typ) {
      case "any":
        return value;
      case "string":
        ok = typeof value === "string";
        break;
      case "float64":
        ok = typeof value === "number";
        break;
      case "int":
        ok = typeof value === "bigint";
        break;
      case "bool":
        ok = typeof value === "boolean";
        break;
      case "[]string":
        ok = Array.isArray(value) && value.every((x) => typeof x === "string");
        break;
      default:
        ok = typ.test(value);
    }
    if (!ok) this.errorf(`wrong type for value; expected ${paramTypeName(typ)}; got ${goTypeName(value)}`);
    return value;
  }

  private async evalArg(dot: unknown, typ: ParamType, n: ArgNode): Promise<unknown> {
    this.at(n);
    switch (n.kind) {
      case "dot":
        return this.validateType(dot, typ);
      case "nil":
        if (typ === "any" || typ === "value" || typ === "[]string" || typeof typ === "object") return null;
        this.errorf(`cannot assign nil to ${paramTypeName(typ)}`);
      case "field":
        return this.validateType(await this.evalFieldNode(dot, n, [n], MISSING), typ);
      case "variable":
        return this.validateType(await this.evalVariableNode(dot, n, null, MISSING), typ);
      case "pipe":
        return this.validateType(await this.evalPipeline(dot, n), typ);
      case "identifier":
        return this.validateType(await this.evalFunction(dot, n, null, MISSING), typ);
      case "chain":
        return this.validateType(await this.evalChainNode(dot, n, null, MISSING), typ);
    }
    switch (typ) {
      case "bool":
        if (n.kind !== "bool") this.errorf(`expected bool; found ${nodeString(n)}`);
        return n.value;
      case "string":
        if (n.kind !== "string") this.errorf(`expected string; found ${nodeString(n)}`);
        return n.text;
      case "int":
        if (n.kind !== "number" || !n.isInt) this.errorf(`expected integer; found ${nodeString(n)}`);
        return n.int;
      case "float64":
        if (n.kind !== "number" || !n.isFloat) this.errorf(`expected float; found ${nodeString(n)}`);
        return n.float;
      case "any":
      case "value":
        if (n.kind === "number") return this.idealConstant(n);
        return n.kind === "bool" ? n.value : n.text;
      default:
        this.errorf(`can't handle ${nodeString(n)} for arg of type ${paramTypeName(typ)}`);
    }
  }
}

/**
 * Runs the template `name` of `env` over `data` (the initial dot and `$`).
 * Throws {@link TemplateError} (kind "exec") with Go's message and position.
 */
/** When the last event-loop turn began, as far as template execution knows. */
let turnStarted = performance.now();

/**
 * Lets the event loop turn when a long `range` has run for more than 5ms
 * since the last turn (big notification templates over many alerts would
 * otherwise hold it: awaiting settled promises never yields).
 */
async function yieldIfBusy(): Promise<void> {
  const now = performance.now();
  if (now - turnStarted < 5) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  turnStarted = performance.now();
}

export async function executeTree(env: ExecEnv, name: string, data: unknown, setName: string): Promise<string> {
  const tree = env.trees.get(name);
  if (!tree) throw new TemplateError(`template: no template ${quote(name)} associated with template ${quote(setName)}`, "exec");
  const s = new State(env, tree, data);
  try {
    await s.walk(data, tree.root);
  } catch (e) {
    if (e instanceof LoopSignal) s.errorf(`{{${e.kind}}} outside {{range}}`);
    if (e instanceof RangeError) throw new TemplateError(`template: ${name}: execution nests too deeply: ${e.message}`, "exec");
    throw e;
  }
  return s.out.join("");
}
