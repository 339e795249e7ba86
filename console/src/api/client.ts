// The one way the console reaches the product: a client typed by docs/openapi.yaml (src/api/schema.d.ts is
// generated from it).
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { session } from "../session";

function client(baseUrl: string) {
  const c = createClient<paths>({ baseUrl });
  c.use({
    onRequest({ request }) {
      const token = session.token();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  return c;
}

export let api = client(new URL("api", document.baseURI).href);

/** On AWS the console's `config.json` names the API's own address (called with CORS); locally there is none and
 * the API is under /api on the console's origin. */
export async function configureApi(): Promise<void> {
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    if (!r.ok) return;
    const { apiBase } = (await r.json()) as { apiBase?: string };
    if (apiBase) api = client(apiBase.replace(/\/$/, ""));
  } catch {
    // no config: keep /api
  }
}

/** An answer other than 2xx: the API's error code and message, shown as they are. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly wechatErrcode?: number,
    readonly alipaySubCode?: string,
  ) {
    super(message);
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or an ApiError; a 401 ends the session (the token expired or was revoked). */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (e) {
    throw new ApiError(0, "NETWORK", e instanceof Error ? e.message : String(e));
  }
  const { data, error, response } = answer;
  if (!response.ok) {
    const body = (error ?? {}) as {
      error?: { code?: string; message?: string; wechatErrcode?: number; alipaySubCode?: string };
      message?: string;
    };
    if (response.status === 401 && session.get()) session.set(null);
    throw new ApiError(
      response.status,
      body.error?.code ?? `HTTP_${response.status}`,
      body.error?.message ?? body.message ?? response.statusText,
      body.error?.wechatErrcode,
      body.error?.alipaySubCode,
    );
  }
  return data as T;
}

/** Loose rows of the API's list answers (the contract types their required fields only). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Row = Record<string, any>;
