/**
 * Go's strconv.FormatFloat(v, fmt, prec, 64), written once for every room
 * that must print floats as Prometheus, Alertmanager or Go's templates do
 * (the API's sample values, PromQL's printer and messages, count_values
 * labels, rule API values, template `printf`).
 *
 * Floats are rounded from their exact binary value, half to even, as
 * strconv does; precision -1 gives the shortest digits that read back as
 * the same float. Signs follow Go: `-0` prints as "-0", "-0e+00".
 */

/** strconv's format bytes this supports. */
export type GoFloatFormat = "e" | "E" | "f" | "g" | "G";

interface Digits {
  /** Decimal digits without leading or trailing zeros ("" for zero). */
  d: string;
  /** Position of the decimal point relative to the start of `d`. */
  dp: number;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The exact decimal expansion of a finite non-negative float. */
function exactDigits(v: number): Digits {
  if (v === 0) return { d: "", dp: 0 };
  f64[0] = v;
  const bits = u64[0]!;
  const biasedExp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let exp: number;
  if (biasedExp === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biasedExp - 1075;
  }
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  return trimDigits({ d: digits, dp });
}

function trimDigits(x: Digits): Digits {
  let d = x.d;
  let dp = x.dp;
  let start = 0;
  while (start < d.length && d[start] === "0") start++;
  dp -= start;
  d = d.slice(start).replace(/0+$/, "");
  if (d === "") dp = 0;
  return { d, dp };
}

/** Rounds to `nd` digits, half to even on the exact value. */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0) return { d: "", dp: 0 };
  if (nd >= x.d.length) return x;
  const next = x.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === x.d.length) up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = next >= 5;
  if (!up) return trimDigits({ d: x.d.slice(0, nd), dp: x.dp });
  const arr = x.d.slice(0, nd).split("");
  let i = nd - 1;
  while (i >= 0 && arr[i] === "9") {
    arr[i] = "0";
    i--;
  }
  if (i < 0) return { d: "1", dp: x.dp + 1 };
  arr[i] = String.fromCharCode(arr[i]!.charCodeAt(0) + 1);
  return trimDigits({ d: arr.join(""), dp: x.dp });
}

/** Shortest digits that read back as the same float (what Go's precision -1 uses). */
function shortestDigits(v: number): Digits {
  if (v === 0) return { d: "", dp: 0 };
  const [mant, e] = v.toExponential().split("e");
  return trimDigits({ d: mant!.replace(".", ""), dp: Number(e) + 1 });
}

function digitAt(x: Digits, i: number): string {
  return i >= 0 && i < x.d.length ? x.d[i]! : "0";
}

function fmtE(x: Digits, prec: number, e: string): string {
  let out = digitAt(x, 0);
  if (prec > 0) {
    out += ".";
    for (let i = 1; i <= prec; i++) out += digitAt(x, i);
  }
  const exp = x.d === "" ? 0 : x.dp - 1;
  const abs = Math.abs(exp);
  return `${out}${e}${exp < 0 ? "-" : "+"}${abs < 10 ? "0" : ""}${abs}`;
}

function fmtF(x: Digits, prec: number): string {
  let out = "";
  if (x.dp > 0) for (let i = 0; i < x.dp; i++) out += digitAt(x, i);
  else out = "0";
  if (prec > 0) {
    out += ".";
    for (let i = 0; i < prec; i++) out += digitAt(x, x.dp + i);
  }
  return out;
}

/**
 * Go's `strconv.FormatFloat(v, fmt, prec, 64)` for fmt `e`, `E`, `f`, `g`,
 * `G`; `prec` -1 means the shortest representation that round-trips.
 *
 * @example formatGoFloat(1234567, "g", -1) // "1.234567e+06"
 * @example formatGoFloat(0.001234, "g", 4) // "0.001234"
 */
export function formatGoFloat(v: number, fmt: GoFloatFormat, prec: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  const shortest = prec < 0;
  let digs: Digits;
  let body: string;
  switch (fmt) {
    case "e":
    case "E": {
      digs = shortest ? shortestDigits(abs) : roundDigits(exactDigits(abs), prec + 1);
      body = fmtE(digs, shortest ? Math.max(digs.d.length - 1, 0) : prec, fmt);
      break;
    }
    case "f": {
      if (shortest) {
        digs = shortestDigits(abs);
        body = fmtF(digs, Math.max(digs.d.length - digs.dp, 0));
      } else {
        const exact = exactDigits(abs);
        digs = roundDigits(exact, exact.dp + prec);
        body = fmtF(digs, prec);
      }
      break;
    }
    default: {
      let p = prec;
      if (p === 0) p = 1;
      digs = shortest ? shortestDigits(abs) : roundDigits(exactDigits(abs), p);
      let eprec = shortest ? 6 : p;
      if (!shortest && eprec > digs.d.length && digs.d.length >= digs.dp) eprec = digs.d.length;
      if (shortest) p = digs.d.length;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (p > digs.d.length) p = digs.d.length;
        body = fmtE(digs, Math.max(p - 1, 0), fmt === "G" ? "E" : "e");
      } else {
        if (p > digs.dp) p = digs.d.length;
        body = fmtF(digs, Math.max(p - digs.dp, 0));
      }
    }
  }
  return neg ? `-${body}` : body;
}

/**
 * strconv.FormatFloat(v, 'f', -1, 64): the shortest digits, never in
 * exponent form.
 *
 * @example formatGoFloatF(1e-7) // "0.0000001"
 * @example formatGoFloatF(1e21) // "1000000000000000000000"
 */
export function formatGoFloatF(v: number): string {
  // Fast paths: zero, and JS prints the same shortest digits without an exponent for 1e-7 <= |v| < 1e21.
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  if (Number.isFinite(v)) {
    const text = String(v);
    if (!text.includes("e")) return text;
  }
  return formatGoFloat(v, "f", -1);
}

/**
 * strconv.FormatFloat(v, 'e', -1, 64): shortest digits, exponent with a
 * sign and at least two digits.
 *
 * @example formatGoFloatE(3.5e-8) // "3.5e-08"
 * @example formatGoFloatE(-0)     // "-0e+00"
 */
export function formatGoFloatE(v: number): string {
  return formatGoFloat(v, "e", -1);
}

/**
 * strconv.FormatFloat(v, 'g', -1, 64), which is also Go's `%v` of a float:
 * exponent form when the decimal exponent is < -4 or >= 6.
 *
 * @example formatGoFloatG(1e6)   // "1e+06"
 * @example formatGoFloatG(0.5)   // "0.5"
 */
export function formatGoFloatG(v: number): string {
  return formatGoFloat(v, "g", -1);
}
