import { Tag } from "antd";
import { useT } from "../i18n";

export const RELEASE_STATES = [
  "none", "saved", "committing", "building", "committed", "submitting", "submit_pending", "auditing", "delayed", "passed",
  "rejected", "withdrawn", "gray", "released", "releasing", "withdrawing", "rolling_back",
];

const COLORS: Record<string, string> = {
  released: "green", gray: "cyan", passed: "blue", auditing: "gold", submit_pending: "gold", delayed: "orange",
  waiting_quota: "orange", rejected: "red", failed: "red", withdrawn: "default", cancelled: "default",
  committed: "geekblue", building: "gold", submitted: "gold", running: "processing", paused: "warning", completed: "success",
};

const ZH: Record<string, string> = {
  none: "未装修", saved: "已保存", committing: "上传中", building: "构建中", committed: "已上传", submitting: "提审中",
  submit_pending: "等待隐私检测", auditing: "审核中", delayed: "审核延后", passed: "审核通过", rejected: "审核驳回",
  withdrawn: "已撤回", gray: "灰度中", released: "已发布", releasing: "发布中", withdrawing: "撤回中",
  rolling_back: "回退中", pending: "排队中", waiting_quota: "等待审核额度", submitted: "已提审", waiting_icp: "等待备案",
  failed: "失败", skipped: "已跳过", cancelled: "已取消", running: "进行中", paused: "已暂停", completed: "已完成",
};

/** A release, batch or target state as a coloured tag; the raw state stays in data-state for tests and scripts. */
export function StateTag({ state }: { state?: string | null }) {
  const t = useT();
  const s = state ?? "none";
  const label = t("Yes") === "是" ? (ZH[s] ?? s) : s;
  return (
    <Tag color={COLORS[s]} data-state={s}>
      {label}
    </Tag>
  );
}
