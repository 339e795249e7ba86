// The logged-in user, kept in this tab's session storage only: closing the tab logs out, and no token is ever
// written to local storage, cookies or the URL.
export type Role = "admin" | "developer" | "operator" | "merchant";

export interface Session {
  token: string;
  account: string;
  role: Role;
  tenant: string;
  componentAppid: string | null;
  components: string[];
  expiresAt: number;
}

const KEY = "wxtpl.session";
const listeners = new Set<() => void>();

function read(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Session | null;
    return s && s.expiresAt * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

let current = read();

export const session = {
  get: () => current,
  token: () => current?.token ?? null,
  set(s: Session | null) {
    current = s;
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => void listeners.delete(l);
  },
};
