// Hash routes (`#/miniprograms/wx…?tab=release`): the console is static files, so every page must load from any URL.
import { useSyncExternalStore } from "react";

export interface Route {
  path: string[];
  query: URLSearchParams;
}

function current(): string {
  return location.hash.replace(/^#/, "") || "/";
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(
    (cb) => {
      window.addEventListener("hashchange", cb);
      return () => window.removeEventListener("hashchange", cb);
    },
    current,
  );
  const [path, query = ""] = hash.split("?");
  return { path: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

/** A mini-program's own page: WeChat's detail page, or an Alipay one (16 digits) opened in the Alipay table. */
export function openMiniProgram(appid: string) {
  if (/^\d{16}$/.test(appid)) go("/miniprograms", { alipay: appid });
  else go(`/miniprograms/${appid}`);
}

export function go(path: string, query?: Record<string, string | undefined>) {
  const q = new URLSearchParams();
  Object.entries(query ?? {}).forEach(([k, v]) => v !== undefined && v !== "" && q.set(k, v));
  const s = q.toString();
  location.hash = s ? `${path}?${s}` : path;
}
