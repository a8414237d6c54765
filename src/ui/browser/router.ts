/** Client-side routing over the History API, under the route prefix. */
import { useEffect, useState } from "preact/hooks";
import { config } from "./api.ts";

/** The current path below the prefix, e.g. "/query". */
export function currentPath(): string {
  const p = location.pathname;
  const rest = config.prefix !== "" && p.startsWith(config.prefix) ? p.slice(config.prefix.length) : p;
  return rest === "" ? "/" : rest;
}

/** Goes to a path below the prefix (with query string), adding a history entry unless `replace`. */
export function navigate(to: string, replace = false): void {
  const url = `${config.prefix}${to}`;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("promts:navigate"));
}

/** Re-renders on navigation; returns the current path and query string. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const on = () => setTick((t) => t + 1);
    window.addEventListener("popstate", on);
    window.addEventListener("promts:navigate", on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("promts:navigate", on);
    };
  }, []);
  return { path: currentPath(), search: new URLSearchParams(location.search) };
}

/** Links inside the app navigate without reloading the page. */
export function interceptLinks(): void {
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
    const p = a.pathname;
    if (config.prefix !== "" && !p.startsWith(config.prefix)) return;
    if (p.startsWith(`${config.prefix}/api/`) || p.startsWith(`${config.prefix}/-/`) || p === `${config.prefix}/metrics`) return;
    e.preventDefault();
    navigate(p.slice(config.prefix.length) + a.search);
  });
}
