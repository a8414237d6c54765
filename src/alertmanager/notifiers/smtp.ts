/**
 * A small SMTP client with Go net/smtp's behaviour, which Alertmanager's
 * e-mail notifier uses: EHLO (falling back to HELO), STARTTLS, AUTH PLAIN
 * (refused over an unencrypted connection except to localhost), LOGIN and
 * CRAM-MD5, MAIL FROM with BODY=8BITMIME / SMTPUTF8 when offered, RCPT TO,
 * DATA with dot-stuffing, QUIT. Also the MIME pieces the notifier needs:
 * quoted-printable and RFC 2047 Q-encoding as Go's mime packages write
 * them, and mail address list parsing.
 */
import { createHmac } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";

/** An SMTP reply: code and text lines. */
interface Reply {
  code: number;
  lines: string[];
}

/** An error answer from the server. */
export class SMTPError extends Error {
  constructor(readonly code: number, message: string) {
    super(`${code} ${message}`);
  }
}

/** One SMTP session over a socket; commands run one at a time. */
export class SMTPClient {
  private buffer = "";
  private waiting: ((line: string | Error) => void) | undefined;
  private lines: string[] = [];
  private failure: Error | undefined;
  private ext: Map<string, string> | undefined;
  private didHello = false;
  private localName = "localhost";
  tls: boolean;

  private constructor(private socket: Socket | TLSSocket, readonly serverName: string, tls: boolean) {
    this.tls = tls;
    this.attach(socket);
  }

  /** Connects (implicit TLS when `tls` is given) and reads the 220 greeting. */
  static async connect(host: string, port: number, opts: { tls?: ConnectionOptions; signal?: AbortSignal }): Promise<SMTPClient> {
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ host, port, ...opts.tls }, () => resolve(s))
        : netConnect({ host, port }, () => resolve(s));
      s.once("error", reject);
      opts.signal?.addEventListener("abort", () => {
        s.destroy();
        reject(opts.signal!.reason ?? new Error("aborted"));
      }, { once: true });
    });
    const c = new SMTPClient(socket, host, Boolean(opts.tls));
    opts.signal?.addEventListener("abort", () => c.close(), { once: true });
    const greeting = await c.reply();
    if (greeting.code !== 220) {
      c.close();
      throw new SMTPError(greeting.code, greeting.lines.join("\n"));
    }
    return c;
  }

  private detach: (() => void) | undefined;

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    const onData = (chunk: Buffer) => {
      this.buffer += chunk.toString("latin1");
      let i: number;
      while ((i = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, i).replace(/\r$/, "");
        this.buffer = this.buffer.slice(i + 1);
        this.push(line);
      }
    };
    socket.on("data", onData);
    const fail = (e: Error) => {
      this.failure ??= e;
      const w = this.waiting;
      this.waiting = undefined;
      w?.(e);
    };
    const onClose = () => fail(new Error("connection closed"));
    socket.on("error", fail);
    socket.on("close", onClose);
    this.detach = () => {
      socket.removeListener("data", onData);
      socket.removeListener("error", fail);
      socket.removeListener("close", onClose);
    };
  }

  private push(line: string): void {
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w(line);
    } else {
      this.lines.push(line);
    }
  }

  private nextLine(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = (x) => (x instanceof Error ? reject(x) : resolve(x));
    });
  }

  private async reply(): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.nextLine();
      const m = /^(\d{3})([ -]?)(.*)$/.exec(line);
      if (!m) throw new Error(`short response: ${line}`);
      lines.push(m[3]!);
      if (m[2] !== "-") return { code: Number(m[1]), lines };
    }
  }

  private write(s: string): void {
    this.socket.write(Buffer.from(s, "utf8"));
  }

  /** Sends a command and checks the reply code's first digit(s) against `expect`. */
  async cmd(expect: number, line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    const r = await this.reply();
    const ok = expect < 10 ? Math.floor(r.code / 100) === expect : r.code === expect;
    if (!ok) throw new SMTPError(r.code, r.lines.join("\n"));
    return r;
  }

  /** Sets the name for EHLO/HELO; only before any other command (Go's Client.Hello). */
  async hello(name: string): Promise<void> {
    if (this.didHello) throw new Error("smtp: Hello called after other methods");
    this.localName = name;
    await this.ensureHello();
  }

  private async ensureHello(): Promise<void> {
    if (this.didHello) return;
    this.didHello = true;
    try {
      const r = await this.cmd(250, `EHLO ${this.localName}`);
      this.ext = new Map();
      for (const l of r.lines.slice(1)) {
        const [k, ...rest] = l.split(" ");
        this.ext.set(k!.toUpperCase(), rest.join(" "));
      }
    } catch (e) {
      if (!(e instanceof SMTPError)) throw e;
      await this.cmd(250, `HELO ${this.localName}`);
    }
  }

  /** Whether the server offers an extension, and its parameters. */
  async extension(name: string): Promise<[boolean, string]> {
    await this.ensureHello();
    const v = this.ext?.get(name.toUpperCase());
    return [v !== undefined, v ?? ""];
  }

  /** STARTTLS, the TLS handshake, then EHLO again. */
  async startTLS(opts: ConnectionOptions): Promise<void> {
    await this.ensureHello();
    await this.cmd(220, "STARTTLS");
    const plain = this.socket as Socket;
    this.detach?.();
    const secured = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, ...opts }, () => resolve(s));
      s.once("error", reject);
    });
    this.tls = true;
    this.buffer = "";
    this.lines = [];
    this.attach(secured);
    this.ext = undefined;
    this.didHello = false;
    await this.ensureHello();
  }

  /** AUTH with one mechanism; `respond` answers each server challenge (decoded). */
  async auth(mech: string, initial: string | undefined, respond: (challenge: string) => string): Promise<void> {
    await this.ensureHello();
    let r = await this.cmdAny(`AUTH ${mech}${initial !== undefined ? ` ${Buffer.from(initial).toString("base64")}` : ""}`);
    for (let i = 0; r.code === 334 && i < 10; i++) {
      const challenge = Buffer.from(r.lines.join(""), "base64").toString("latin1");
      let answer: string;
      try {
        answer = respond(challenge);
      } catch (e) {
        this.write("*\r\n");
        await this.reply().catch(() => undefined);
        throw e;
      }
      r = await this.cmdAny(Buffer.from(answer).toString("base64"));
    }
    if (r.code !== 235) throw new SMTPError(r.code, r.lines.join("\n"));
  }

  private async cmdAny(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** MAIL FROM, with BODY=8BITMIME / SMTPUTF8 when the server offers them. */
  async mail(from: string): Promise<void> {
    await this.ensureHello();
    let line = `MAIL FROM:<${from}>`;
    if (this.ext?.has("8BITMIME")) line += " BODY=8BITMIME";
    if (this.ext?.has("SMTPUTF8")) line += " SMTPUTF8";
    await this.cmd(250, line);
  }

  async rcpt(to: string): Promise<void> {
    await this.cmd(25, `RCPT TO:<${to}>`).catch(async (e) => {
      if (e instanceof SMTPError && (e.code === 250 || e.code === 251)) return;
      throw e;
    });
  }

  /** DATA: sends `message` (CRLF lines) dot-stuffed and ended with `.`. */
  async data(message: string): Promise<void> {
    await this.cmd(354, "DATA");
    const normalized = message.replace(/\r?\n/g, "\r\n");
    const stuffed = normalized.replace(/(^|\r\n)\./g, "$1..");
    this.write(stuffed.endsWith("\r\n") ? `${stuffed}.\r\n` : `${stuffed}\r\n.\r\n`);
    const r = await this.reply();
    if (r.code !== 250) throw new SMTPError(r.code, r.lines.join("\n"));
  }

  async quit(): Promise<void> {
    try {
      await this.cmd(221, "QUIT");
    } finally {
      this.close();
    }
  }

  close(): void {
    this.failure ??= new Error("connection closed");
    const w = this.waiting;
    this.waiting = undefined;
    w?.(this.failure);
    this.socket.destroy();
  }
}

/** The CRAM-MD5 answer: `user hex(hmac-md5(secret, challenge))`. */
export function cramMD5(username: string, secret: string, challenge: string): string {
  return `${username} ${createHmac("md5", secret).update(Buffer.from(challenge, "latin1")).digest("hex")}`;
}

const LINE_MAX = 76;
const HEX = "0123456789ABCDEF";

/** Go's mime/quotedprintable Writer in text mode: CRLF line ends, soft breaks at 76, trailing blanks encoded. */
export function quotedPrintable(input: string): string {
  const bytes = Buffer.from(input, "utf8");
  let out = "";
  let line: number[] = [];
  let cr = false;
  const flush = () => {
    out += String.fromCharCode(...line);
    line = [];
  };
  const crlf = () => {
    line.push(13, 10);
    flush();
  };
  const softBreak = () => {
    line.push(61);
    crlf();
  };
  const encode = (b: number) => {
    if (LINE_MAX - 1 - line.length < 3) softBreak();
    line.push(61, HEX.charCodeAt(b >> 4), HEX.charCodeAt(b & 15));
  };
  const checkLast = () => {
    const last = line[line.length - 1];
    if (last === 32 || last === 9) {
      line.pop();
      encode(last);
    }
  };
  const writeRaw = (b: number) => {
    if (b === 10 || b === 13) {
      if (cr && b === 10) {
        cr = false;
        return;
      }
      if (b === 13) cr = true;
      checkLast();
      crlf();
      return;
    }
    if (line.length === LINE_MAX - 1) softBreak();
    line.push(b);
    cr = false;
  };
  for (const b of bytes) {
    if ((b >= 33 && b <= 126 && b !== 61) || b === 32 || b === 9 || b === 10 || b === 13) writeRaw(b);
    else encode(b);
  }
  checkLast();
  flush();
  return out;
}

/** Go's mime.QEncoding.Encode("utf-8", s): unchanged when printable ASCII, else `=?utf-8?q?…?=` words of at most 75 characters. */
export function qEncodeHeader(s: string): string {
  if (![...s].some((c) => (c < " " || c > "~") && c !== "\t")) return s;
  const prefix = "=?utf-8?q?";
  const maxContent = 75 - prefix.length - 2;
  const words: string[] = [];
  let cur = "";
  for (const ch of s) {
    let enc = "";
    for (const b of Buffer.from(ch, "utf8")) {
      const c = String.fromCharCode(b);
      if (c === " ") enc += "_";
      else if (b >= 33 && b <= 126 && c !== "=" && c !== "?" && c !== "_") enc += c;
      else enc += "=" + HEX[b >> 4] + HEX[b & 15];
    }
    if (cur.length + enc.length > maxContent) {
      words.push(cur);
      cur = "";
    }
    cur += enc;
  }
  words.push(cur);
  return words.map((w) => `${prefix}${w}?=`).join(" ");
}

/** Addresses of an RFC 5322 address list (`Name <a@b>, c@d`), as Go's mail.ParseAddressList accepts them. */
export function parseAddressList(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = "";
  const take = () => {
    const item = cur.trim();
    cur = "";
    if (item === "") throw new Error("mail: no address");
    const angle = /<([^<>]*)>\s*$/.exec(item);
    const addr = (angle ? angle[1]! : item).trim();
    if (!/^[^@\s<>]+@[^@\s<>]+$/.test(addr)) throw new Error(angle ? "mail: invalid address" : "mail: missing '@' or angle-addr");
    out.push(addr);
  };
  for (const c of s) {
    if (c === '"' && depth === 0) quoted = !quoted;
    else if (!quoted && c === "<") depth++;
    else if (!quoted && c === ">") depth--;
    if (c === "," && !quoted && depth === 0) take();
    else cur += c;
  }
  take();
  return out;
}
