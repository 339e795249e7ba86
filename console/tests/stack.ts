// The running local stack, as `make up` wrote it down (.local/stack.env, .local/users.json), and the WeChat
// sandbox's control calls the tests play WeChat with.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const local = join(dirname(fileURLToPath(import.meta.url)), "..", "..", ".local");

function readEnv(): Record<string, string> {
  try {
    return Object.fromEntries(
      readFileSync(join(local, "stack.env"), "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  } catch {
    throw new Error("the local stack is not up: run `make up` first");
  }
}

export const stack = readEnv();

export interface User {
  account: string;
  password: string;
  role: string;
}

export function seededUser(role: string): User {
  const users = JSON.parse(readFileSync(join(local, "users.json"), "utf8")) as User[];
  return users.find((u) => u.role === role)!;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function sandbox(path: string, body: unknown = {}): Promise<any> {
  const r = await fetch(`${stack.SANDBOX_URL}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  if (!r.ok) throw new Error(`sandbox ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function apiAs(user: User, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const login = await fetch(`${stack.API_URL}/auth/login`, { method: "POST", body: JSON.stringify({ account: user.account, password: user.password }) });
  const { token } = await login.json();
  const r = await fetch(`${stack.API_URL}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}` },
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
