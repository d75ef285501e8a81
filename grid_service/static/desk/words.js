// The workbench's words: what each code of the API is called on the page, and small helpers that put
// text into the page. Every string that came from a person goes in as text (textContent), never HTML.

export const STATUS = {
  reported: "待受理", pending_dispatch: "待派遣", dispatched: "待签收", in_progress: "处置中",
  resolved: "待核查", closed: "已结案", cancelled: "已撤销", voided: "已作废", arbitration: "待仲裁",
  suspended: "挂账",
};
export const LIGHT = { green: "正常", yellow: "预警", red: "超期", suspended: "挂账" };
export const SOURCE = {
  inspector: "监督员上报", public: "公众举报", hotline: "12345 热线", leader: "领导交办", sensor: "视频/物联网",
};
export const PENDING = { outside_grid: "网格外", no_rule: "无派遣规则", rejected: "被退回", no_location: "无坐标" };
export const REJECT_REASON = {
  not_our_responsibility: "非本单位职责", wrong_location: "位置有误", incomplete: "信息不全", other: "其他",
};
export const VOID_REASON = { duplicate: "重复上报", not_found: "现场未发现", out_of_scope: "不属受理范围", invalid: "无效信息" };
export const SUSPENSION_REASON = { funding: "资金", season: "季节", engineering: "工程", legal: "法律", other: "其他" };
export const FAULT = { dispatcher: "派遣有误（调度）", department: "部门责任", none: "无责" };
export const LEVEL = { urge: "催办", supervise: "督办", listed: "挂牌督办" };
export const OUTCOME = { confirmed: "属实", not_found: "不属实", passed: "通过", failed: "不通过" };
export const TASK_STATUS = { open: "进行中", done: "已完成", cancelled: "已取消" };
export const REQUEST = { extension: "延期申请", suspension: "挂账申请", appeal: "超时申诉" };
export const ROLE = {
  department: "部门", receiver: "受理员", dispatcher: "派遣员", shift_lead: "值班长", viewer: "查看", admin: "管理员",
  inspector: "监督员",
};
export const EVENT = {
  "case.created": "上报", "case.reported_again": "重复上报", "case.dispatched": "派遣", "case.accepted": "签收",
  "case.resolved": "办结", "case.closed": "结案", "case.reopened": "核查不通过，返工", "case.rejected": "回退",
  "case.cancelled": "撤销", "case.warning": "预警", "case.overdue": "超期", "case.escalated": "升级",
  "case.filed": "立案", "case.voided": "作废", "case.check_requested": "发出核实/核查",
  "case.check_completed": "核实/核查完成", "case.check_reassigned": "核实/核查改派", "case.step_overdue": "环节超时",
  "case.ruled": "裁定", "case.acceptance_overdue": "签收超时", "case.extension_requested": "申请延期",
  "case.extension_decided": "延期审批", "case.suspension_requested": "申请挂账", "case.suspension_decided": "挂账审批",
  "case.resumed": "恢复办理", "case.supervised": "督办", "case.supervision_replied": "回复督办",
  "case.supervision_overdue": "督办回复超时", "case.appealed": "超时申诉", "case.appeal_reviewed": "申诉审核",
};
// What the service's 4xx codes mean to the person who acted (the service's own message follows).
export const ERROR = {
  401: "登录已过期，请重新登录", 409: "案件状态已变化，无法执行此操作", 403: "无权执行此操作",
  413: "文件过大", 415: "文件类型不支持（须为 JPEG、PNG 或 WebP 照片）", 404: "案件不存在或无权查看",
  422: "填写的内容有误", 429: "操作过于频繁，请稍后再试", 503: "服务暂时不可用，请稍后再试",
};

export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function options(select, entries, { any = null, chosen = "" } = {}) {
  select.replaceChildren();
  if (any !== null) select.append(el("option", { value: "", text: any }));
  for (const [value, text] of entries) select.append(el("option", { value, text }));
  if (chosen !== "" || any !== null) select.value = chosen; // else the first choice stands
}

let TIME = new Intl.DateTimeFormat("zh-CN", {
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
let DATE = null;
export function useTimeZone(timeZone) {
  TIME = new Intl.DateTimeFormat("zh-CN", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  DATE = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
}
export const when = (iso) => (iso ? TIME.format(new Date(iso)) : "—");
export const today = () => (DATE ? DATE.format(new Date()) : new Date().toISOString().slice(0, 10));

// The message a refused request leaves for the person who acted, in Chinese: what it means, which
// field was wrong (named as the form names it), then the service's own words.
export function refusal(error, fieldNames = {}) {
  if (!error || error.status === undefined) return "网络中断，未能提交，请重试";
  const body = (error.body && error.body.error) || {};
  const parts = [ERROR[error.status] || `请求被拒绝（${error.status}）`];
  for (const detail of (body.details || []).slice(0, 3)) {
    const field = (detail.path || []).find((part) => fieldNames[part]);
    parts.push(`${field ? fieldNames[field] + "有误" : "内容有误"}（${detail.message || detail.type || ""}）`);
  }
  if (body.message) parts.push(`服务答复：${body.message}`);
  return parts.join("；");
}
