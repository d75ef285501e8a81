// 设备码: a shift lead or an administrator hands an inspector's phone a one-time sign-in code, shown
// as a QR code the phone's camera opens 巡查通 with (POST /api/v1/users/{username}/device-code).
import { api } from "/app/static/api.js";
import { $, refusal, when } from "/desk/static/words.js";

export function showDevices() {
  $("devices-view").hidden = false;
}

$("device-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = String(new FormData(event.target).get("username")).trim();
  const message = $("device-message");
  message.textContent = "";
  $("device-code").hidden = true;
  if (!username) {
    message.textContent = "请填写监督员用户名";
    return;
  }
  try {
    const made = await api("POST", `/api/v1/users/${encodeURIComponent(username)}/device-code`, {});
    $("device-qr").src = made.qr_data_url;
    $("device-code-text").textContent = made.code;
    $("device-expires").textContent = when(made.expires_at);
    $("device-code").hidden = false;
  } catch (error) {
    const words = { 404: "没有这个账号", 409: "该账号已停用或不是监督员账号" };
    message.textContent = words[error.status] ? `${words[error.status]}（${username}）` : refusal(error);
  }
});
