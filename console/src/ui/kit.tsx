// Small pieces every page uses: loading an answer, running an action with its outcome shown, an error with its
// code, a JSON editor, times.
import { useCallback, useEffect, useRef, useState } from "react";
import { Alert, App, Button, Input, Space, Typography } from "antd";
import type { ButtonProps } from "antd";
import { ApiError } from "../api/client";
import { useT } from "../i18n";

export function describe(e: unknown): { code: string; message: string } {
  if (e instanceof ApiError) {
    const wechat = e.wechatErrcode !== undefined ? ` (WeChat ${e.wechatErrcode})` : "";
    const alipay = e.alipaySubCode ? ` (Alipay ${e.alipaySubCode})` : "";
    return { code: `${e.status} ${e.code}`, message: e.message + wechat + alipay };
  }
  return { code: "ERROR", message: e instanceof Error ? e.message : String(e) };
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const { code, message } = describe(error);
  return <Alert type="error" showIcon data-testid="error" message={code} description={message} style={{ marginBottom: 12 }} />;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  // Only the latest request's answer is shown: an earlier one that arrives late (a slower page before a filter
  // was typed) must not overwrite it.
  const latest = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const out = await run();
      if (mine === latest.current) {
        setData(out);
        setError(null);
      }
    } catch (e) {
      if (mine === latest.current) setError(e);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }, [run]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload, setData };
}

/** A button that runs an API action: busy while it runs, then a success message or the error's code and message. */
export function Act({
  run,
  done,
  children,
  ...button
}: ButtonProps & { run: () => Promise<unknown>; done?: (out: unknown) => void }) {
  const { message, notification } = App.useApp();
  const t = useT();
  const [busy, setBusy] = useState(false);
  return (
    <Button
      {...button}
      loading={busy}
      onClick={async () => {
        setBusy(true);
        try {
          const out = await run();
          message.success(t("Done"));
          done?.(out);
        } catch (e) {
          const { code, message: text } = describe(e);
          notification.error({ message: code, description: text, duration: 8, className: "api-error" });
        } finally {
          setBusy(false);
        }
      }}
    >
      {children}
    </Button>
  );
}

/** A JSON text area: `onValid` hears every edit that parses; a broken one is pointed out, not sent. */
export function JsonEditor({
  value,
  onValid,
  rows = 8,
  testId,
}: {
  value: unknown;
  onValid: (v: unknown) => void;
  rows?: number;
  testId?: string;
}) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [bad, setBad] = useState<string | null>(null);
  useEffect(() => {
    setText(JSON.stringify(value, null, 2));
    // Only a new value from outside resets the text.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(value)]);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Input.TextArea
        data-testid={testId}
        rows={rows}
        value={text}
        status={bad ? "error" : undefined}
        style={{ fontFamily: "monospace" }}
        onChange={(e) => {
          setText(e.target.value);
          try {
            onValid(JSON.parse(e.target.value));
            setBad(null);
          } catch (err) {
            setBad(err instanceof Error ? err.message : "invalid JSON");
          }
        }}
      />
      {bad && <Typography.Text type="danger">{bad}</Typography.Text>}
    </Space>
  );
}

export function time(seconds?: number | null): string {
  if (!seconds) return "";
  const ms = seconds > 1e12 ? seconds : seconds * 1000;
  return new Date(ms).toLocaleString();
}

export type ImageType = "image/png" | "image/jpeg";

/** An image sent the way the API takes files: `presign` asks for a presigned PUT, the bytes go there, `finish`
 * hands the stored key to the route that uses it. */
export function ImageUpload({
  label,
  presign,
  finish,
  done,
}: {
  label: string;
  presign: (contentType: ImageType, size: number) => Promise<{ uploadUrl: string; key: string }>;
  finish: (key: string) => Promise<unknown>;
  done: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  return (
    <label>
      <Typography.Link>{label}</Typography.Link>
      <input
        type="file"
        accept="image/png,image/jpeg"
        style={{ display: "none" }}
        onChange={async (e) => {
          const file = e.target.files?.[0];
          if (!file) return;
          try {
            const target = await presign(file.type as ImageType, file.size);
            const put = await fetch(target.uploadUrl, { method: "PUT", body: file, headers: { "Content-Type": file.type } });
            if (!put.ok) throw new Error(`upload: HTTP ${put.status}`);
            await finish(target.key);
            setError(null);
            done();
          } catch (err) {
            setError(err);
          }
        }}
      />
      <ErrorBox error={error} />
    </label>
  );
}

/** Cursor paging of a list answer: the cursor to ask with, and `pager(nextCursor)` draws the first/next buttons.
 * `reset` starts again from the first page (after a filter changed). */
export function usePages() {
  const t = useT();
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const reset = () => setCursors([]);
  const pager = (next?: string | null) => (
    <Space style={{ marginTop: 12 }}>
      <Button disabled={!cursors.length} onClick={reset}>
        {t("First page")}
      </Button>
      <Button disabled={!next} onClick={() => setCursors([...cursors, next!])}>
        {t("Next page")}
      </Button>
    </Space>
  );
  return { cursor, reset, pager };
}
