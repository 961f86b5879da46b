// Pana verification page: offline QR check (Ed25519 in WebCrypto, no server call) and the online status check
// (GET /api/v1/verify/{number}?birth_date=..., with the provider's bearer token). No third-party code.
"use strict";

const T = {
  kk: {
    title: "Құжатты тексеру", offline_heading: "QR кодты тексеру",
    offline_help: "Куәліктегі QR кодты сканерлеңіз немесе оның мәтінін қойыңыз. Тексеру осы құрылғыда жасалады, серверге ештеңе жіберілмейді.",
    scan: "Камерамен сканерлеу", stop_scan: "Сканерлеуді тоқтату", qr_label: "QR код мәтіні", check: "Тексеру",
    online_heading: "Мәртебені тіркелімнен тексеру",
    online_help: "Кіргеннен кейін: құжат нөмірі мен иесінің туған күні бойынша. Әр тексеру тіркеледі.",
    login: "Кіру", logout: "Шығу", token_label: "Әзірлеуші токені (тек dev режимі)", use_token: "Токенді қолдану",
    number_label: "Құжат нөмірі", birth_label: "Иесінің туған күні", footer: "Pana · Қазақстан Республикасы",
    sig_ok: "Қолтаңба жарамды", sig_bad: "Қолтаңба жарамсыз", sig_bad_note: "Бұл код Pana шығарған кодқа сәйкес келмейді немесе өзгертілген. Құжатқа сенбеңіз.",
    malformed: "Бұл Pana QR коды емес", no_key: "Ашық кілт жүктелмеді: бетті желіге қосылып бір рет ашыңыз.",
    expired_offline: "Құжаттың мерзімі өтіп кеткен", offline_note: "Кодтағы мәліметтер құжатта басылғанмен сәйкес келуі тиіс. Қайтарып алу тек онлайн тексеруде көрінеді.",
    f_kind: "Құжат", f_number: "Нөмірі", f_name: "Аты-жөні", f_latin: "Латын әрпімен", f_birth: "Туған күні",
    f_issued: "Берілген күні", f_expires: "Жарамдылық мерзімі", f_status: "Мәртебе", f_entitlements: "Құқықтары",
    r_valid: "Жарамды", r_expired: "Мерзімі өткен", r_revoked: "Қайтарып алынған", r_unknown: "Белгісіз",
    r_unknown_note: "Мұндай нөмір мен туған күні бар құжат табылмады.",
    logged_in: "Кірдіңіз.", logged_out: "Онлайн тексеру үшін кіріңіз.", login_again: "Сессия аяқталды: қайта кіріңіз.",
    too_many: "Тым көп тексеру: күте тұрыңыз", bad_number: "Құжат нөмірі дұрыс емес (екі әріп, тоғыз сан және бақылау саны)",
    error: "Қате", camera_error: "Камера қолжетімсіз: мәтінді қойыңыз.",
    k_asylum_seeker_certificate: "Пана іздеуші куәлігі", k_refugee_certificate: "Босқын куәлігі",
    k_stateless_person_certificate: "Азаматтығы жоқ адамның куәлігі",
    k_statelessness_procedure_certificate: "Азаматтығы жоқ деп тану рәсімінің куәлігі",
    s_asylum_seeker: "пана іздеуші", s_refugee: "босқын", s_stateless: "азаматтығы жоқ адам",
    s_stateless_applicant: "азаматтығы жоқ деп тануды сұраушы",
    e_medical_care: "медициналық көмек", e_employment: "жұмыспен қамту", e_education: "білім беру",
    e_social_assistance: "әлеуметтік көмек",
    reason_lost: "жоғалған", reason_stolen: "ұрланған", reason_damaged: "бүлінген", until: "дейін",
  },
  ru: {
    title: "Проверка документа", offline_heading: "Проверка QR-кода",
    offline_help: "Отсканируйте QR-код с удостоверения или вставьте его текст. Проверка выполняется на этом устройстве, на сервер ничего не отправляется.",
    scan: "Сканировать камерой", stop_scan: "Остановить сканирование", qr_label: "Текст QR-кода", check: "Проверить",
    online_heading: "Проверка статуса по реестру",
    online_help: "После входа: по номеру документа и дате рождения владельца. Каждая проверка регистрируется.",
    login: "Войти", logout: "Выйти", token_label: "Токен разработчика (только режим dev)", use_token: "Использовать токен",
    number_label: "Номер документа", birth_label: "Дата рождения владельца", footer: "Pana · Республика Казахстан",
    sig_ok: "Подпись действительна", sig_bad: "Подпись недействительна", sig_bad_note: "Этот код не выдан Pana или был изменён. Не доверяйте документу.",
    malformed: "Это не QR-код Pana", no_key: "Открытый ключ не загружен: откройте страницу один раз при подключении к сети.",
    expired_offline: "Срок действия документа истёк", offline_note: "Данные в коде должны совпадать с напечатанными на документе. Отзыв документа виден только при проверке по реестру.",
    f_kind: "Документ", f_number: "Номер", f_name: "ФИО", f_latin: "Латиницей", f_birth: "Дата рождения",
    f_issued: "Дата выдачи", f_expires: "Действителен до", f_status: "Статус", f_entitlements: "Права",
    r_valid: "Действителен", r_expired: "Срок истёк", r_revoked: "Отозван", r_unknown: "Неизвестен",
    r_unknown_note: "Документ с таким номером и датой рождения не найден.",
    logged_in: "Вы вошли.", logged_out: "Войдите, чтобы проверить по реестру.", login_again: "Сеанс истёк: войдите снова.",
    too_many: "Слишком много проверок: подождите", bad_number: "Неверный номер документа (две буквы, девять цифр и контрольная цифра)",
    error: "Ошибка", camera_error: "Камера недоступна: вставьте текст.",
    k_asylum_seeker_certificate: "Свидетельство лица, ищущего убежище", k_refugee_certificate: "Удостоверение беженца",
    k_stateless_person_certificate: "Удостоверение лица без гражданства",
    k_statelessness_procedure_certificate: "Справка о процедуре признания лицом без гражданства",
    s_asylum_seeker: "лицо, ищущее убежище", s_refugee: "беженец", s_stateless: "лицо без гражданства",
    s_stateless_applicant: "заявитель о признании лицом без гражданства",
    e_medical_care: "медицинская помощь", e_employment: "трудоустройство", e_education: "образование",
    e_social_assistance: "социальная помощь",
    reason_lost: "утерян", reason_stolen: "украден", reason_damaged: "повреждён", until: "",
  },
  en: {
    title: "Document check", offline_heading: "Check a QR code",
    offline_help: "Scan the QR code on the certificate or paste its text. The check runs on this device; nothing is sent to a server.",
    scan: "Scan with camera", stop_scan: "Stop scanning", qr_label: "QR code text", check: "Check",
    online_heading: "Check the status in the register",
    online_help: "After logging in: by document number and the holder's birth date. Every check is recorded.",
    login: "Log in", logout: "Log out", token_label: "Developer token (dev mode only)", use_token: "Use token",
    number_label: "Document number", birth_label: "Holder's birth date", footer: "Pana · Republic of Kazakhstan",
    sig_ok: "Signature valid", sig_bad: "Signature not valid", sig_bad_note: "This code was not issued by Pana or has been altered. Do not trust the document.",
    malformed: "Not a Pana QR code", no_key: "The public key is not loaded: open this page once while online.",
    expired_offline: "The document has expired", offline_note: "What the code says must match what is printed on the document. A revocation shows only in the register check.",
    f_kind: "Document", f_number: "Number", f_name: "Name", f_latin: "In Latin", f_birth: "Birth date",
    f_issued: "Issued", f_expires: "Valid until", f_status: "Status", f_entitlements: "Entitlements",
    r_valid: "Valid", r_expired: "Expired", r_revoked: "Revoked", r_unknown: "Unknown",
    r_unknown_note: "No document with this number and birth date.",
    logged_in: "Logged in.", logged_out: "Log in to check the register.", login_again: "Session ended: log in again.",
    too_many: "Too many checks: wait", bad_number: "Not a document number (two letters, nine digits and a check digit)",
    error: "Error", camera_error: "No camera: paste the text instead.",
    k_asylum_seeker_certificate: "Asylum-seeker certificate", k_refugee_certificate: "Refugee certificate",
    k_stateless_person_certificate: "Stateless person's certificate",
    k_statelessness_procedure_certificate: "Statelessness procedure certificate",
    s_asylum_seeker: "asylum seeker", s_refugee: "refugee", s_stateless: "stateless person",
    s_stateless_applicant: "statelessness applicant",
    e_medical_care: "medical care", e_employment: "employment", e_education: "education",
    e_social_assistance: "social assistance",
    reason_lost: "lost", reason_stolen: "stolen", reason_damaged: "damaged", until: "",
  },
};

const KEY_URL = "/.well-known/pana-verification-key";
const KEY_CACHE = "pana-verification-key";
let lang = "kk";
let config = null;
let lastOffline = null;   // re-rendered when the language changes
let lastOnline = null;
const $ = (id) => document.getElementById(id);
const t = (key) => (T[lang][key] !== undefined ? T[lang][key] : T.en[key] || key);

function setLanguage(next) {
  lang = T[next] ? next : "kk";
  try { localStorage.setItem("pana-verify-lang", lang); } catch (e) { /* private mode */ }
  document.documentElement.lang = lang;
  document.title = "Pana — " + t("title");
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
  if (lastOffline) showOffline(lastOffline);
  if (lastOnline) showOnline(lastOnline);
  showLogin();
}

// -- the public key: fetched from this service, kept for offline use ---------------------------------------
async function loadKeys() {
  try {
    const r = await fetch(KEY_URL, { credentials: "omit" });
    if (r.ok) {
      const jwks = await r.json();
      try { localStorage.setItem(KEY_CACHE, JSON.stringify(jwks)); } catch (e) { /* storage full or off */ }
      return jwks;
    }
  } catch (e) { /* offline: use the kept copy */ }
  try { return JSON.parse(localStorage.getItem(KEY_CACHE) || "null"); } catch (e) { return null; }
}
let keysPromise = null;

function b64urlBytes(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Returns {state: "valid"|"expired"|"invalid"|"malformed"|"nokey", claims?}
async function verifyPayload(text) {
  const parts = text.trim().split(".");
  if (parts.length !== 3 || parts[0] !== "PANA1") return { state: "malformed" };
  let claims, signature;
  try {
    signature = b64urlBytes(parts[2]);
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64urlBytes(parts[1])));
  } catch (e) { return { state: "invalid" }; }
  const jwks = await keysPromise;
  if (!jwks || !Array.isArray(jwks.keys) || !jwks.keys.length) return { state: "nokey" };
  const candidates = jwks.keys.filter((k) => !claims || !claims.kid || k.kid === claims.kid || claims.kid === "1");
  const data = new TextEncoder().encode(parts[0] + "." + parts[1]);
  for (const jwk of candidates) {
    try {
      const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
      if (await crypto.subtle.verify({ name: "Ed25519" }, key, signature, data)) {
        const today = new Date().toISOString().slice(0, 10);
        return { state: claims.e && claims.e < today ? "expired" : "valid", claims };
      }
    } catch (e) { /* a key this browser cannot use: try the next */ }
  }
  return { state: "invalid" };
}

function fmtDate(iso) {
  if (!iso || !/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso || "—";
  const [y, m, d] = iso.split("-");
  return `${d}.${m}.${y}`;
}

function resultBox(el, cls, heading, rows, notes) {
  el.replaceChildren();
  const box = document.createElement("div");
  box.className = "result " + cls;
  const h = document.createElement("h3");
  h.textContent = heading;
  box.append(h);
  if (rows.length) {
    const dl = document.createElement("dl");
    for (const [label, value] of rows) {
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd"); dd.textContent = value;
      dl.append(dt, dd);
    }
    box.append(dl);
  }
  for (const note of notes) {
    const p = document.createElement("p"); p.className = "note"; p.textContent = note; box.append(p);
  }
  el.append(box);
}

function showOffline(outcome) {
  lastOffline = outcome;
  const el = $("offline-result");
  el.dataset.state = outcome.state;
  if (outcome.state === "valid" || outcome.state === "expired") {
    const c = outcome.claims;
    const rows = [[t("f_kind"), t("k_" + c.k)], [t("f_number"), c.n]];
    if (c.nm) rows.push([t("f_name"), c.nm]);
    if (c.nl) rows.push([t("f_latin"), c.nl]);
    if (c.b) rows.push([t("f_birth"), fmtDate(c.b)]);
    if (c.s) rows.push([t("f_status"), t("s_" + c.s)]);
    rows.push([t("f_issued"), fmtDate(c.i)], [t("f_expires"), fmtDate(c.e)]);
    const notes = outcome.state === "expired" ? [t("expired_offline"), t("offline_note")] : [t("offline_note")];
    resultBox(el, outcome.state === "valid" ? "ok" : "warn", t("sig_ok"), rows, notes);
  } else if (outcome.state === "invalid") {
    resultBox(el, "bad", t("sig_bad"), [], [t("sig_bad_note")]);
  } else if (outcome.state === "nokey") {
    resultBox(el, "warn", t("error"), [], [t("no_key")]);
  } else {
    resultBox(el, "bad", t("malformed"), [], []);
  }
}

// -- camera: the browser's BarcodeDetector when it has one, else the text field alone -----------------------
let stream = null;
async function toggleScan() {
  const video = $("camera");
  if (stream) { stopScan(); return; }
  try {
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream; video.hidden = false; await video.play();
    $("scan").textContent = t("stop_scan");
    const tick = async () => {
      if (!stream) return;
      try {
        const found = await detector.detect(video);
        if (found.length) { $("qr-text").value = found[0].rawValue; stopScan(); checkOffline(); return; }
      } catch (e) { /* next frame */ }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  } catch (e) {
    stopScan();
    resultBox($("offline-result"), "warn", t("error"), [], [t("camera_error")]);
  }
}
function stopScan() {
  if (stream) stream.getTracks().forEach((tr) => tr.stop());
  stream = null;
  $("camera").hidden = true;
  $("scan").textContent = t("scan");
}

async function checkOffline(event) {
  if (event) event.preventDefault();
  showOffline(await verifyPayload($("qr-text").value));
}

// -- online: OIDC authorization code with PKCE, or (dev mode) a pasted dev token -----------------------------
function token() { return sessionStorage.getItem("pana-verify-token"); }
function showLogin() {
  const has = !!token();
  $("online-form").hidden = !has;
  $("login-box").hidden = has;
  $("login-state").textContent = has ? t("logged_in") : t("logged_out");
}

function randomString(bytes) {
  const a = new Uint8Array(bytes); crypto.getRandomValues(a);
  return btoa(String.fromCharCode(...a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
async function login() {
  const verifier = randomString(32), state = randomString(16);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const challenge = btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  sessionStorage.setItem("pana-verify-pkce", JSON.stringify({ verifier, state }));
  const url = new URL(config.authorization_url);
  url.search = new URLSearchParams({ response_type: "code", client_id: config.client_id, scope: config.scope,
    redirect_uri: location.origin + location.pathname, state, code_challenge: challenge,
    code_challenge_method: "S256", ui_locales: lang }).toString();
  location.assign(url.toString());
}
async function finishLogin() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code")) return;
  const saved = JSON.parse(sessionStorage.getItem("pana-verify-pkce") || "null");
  sessionStorage.removeItem("pana-verify-pkce");
  history.replaceState(null, "", location.pathname);
  if (!saved || saved.state !== params.get("state")) return;
  const r = await fetch(config.token_url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: params.get("code"), client_id: config.client_id,
      redirect_uri: location.origin + location.pathname, code_verifier: saved.verifier }) });
  if (r.ok) { const body = await r.json(); if (body.access_token) sessionStorage.setItem("pana-verify-token", body.access_token); }
}

function showOnline(outcome) {
  lastOnline = outcome;
  const el = $("online-result");
  el.dataset.result = outcome.result;
  if (outcome.body) {
    const b = outcome.body;
    const rows = [];
    if (b.status_category) rows.push([t("f_status"), t("s_" + b.status_category)]);
    if (b.expires_on) rows.push([t("f_expires"), fmtDate(b.expires_on)]);
    if (b.entitlements && b.entitlements.length) rows.push([t("f_entitlements"), b.entitlements.map((e) => t("e_" + e)).join(", ")]);
    if (b.revocation_reason) rows.push([t("r_revoked"), t("reason_" + b.revocation_reason)]);
    const cls = b.result === "valid" ? "ok" : b.result === "unknown" ? "warn" : "bad";
    resultBox(el, cls, t("r_" + b.result), rows, b.result === "unknown" ? [t("r_unknown_note")] : []);
  } else {
    resultBox(el, "bad", outcome.message, [], []);
  }
}

async function checkOnline(event) {
  event.preventDefault();
  const number = $("number").value.trim().toUpperCase();
  const birth = $("birth").value;
  let r;
  try {
    r = await fetch(`/api/v1/verify/${encodeURIComponent(number)}?birth_date=${encodeURIComponent(birth)}`,
      { headers: { Authorization: "Bearer " + token(), Accept: "application/json" }, credentials: "omit" });
  } catch (e) { showOnline({ result: "error", message: t("error") }); return; }
  if (r.status === 200) { const body = await r.json(); showOnline({ result: body.result, body }); return; }
  if (r.status === 401) { sessionStorage.removeItem("pana-verify-token"); showLogin(); showOnline({ result: "error", message: t("login_again") }); return; }
  if (r.status === 429) { showOnline({ result: "error", message: `${t("too_many")} (${r.headers.get("Retry-After") || "?"} s)` }); return; }
  if (r.status === 422) { showOnline({ result: "malformed", message: t("bad_number") }); return; }
  showOnline({ result: "error", message: `${t("error")} ${r.status}` });
}

async function start() {
  keysPromise = loadKeys();
  let saved = null;
  try { saved = localStorage.getItem("pana-verify-lang"); } catch (e) { /* private mode */ }
  const asked = new URLSearchParams(location.search).get("lang");
  document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => setLanguage(b.dataset.lang)));
  $("offline-form").addEventListener("submit", checkOffline);
  $("online-form").addEventListener("submit", checkOnline);
  $("login").addEventListener("click", login);
  $("logout").addEventListener("click", () => { sessionStorage.removeItem("pana-verify-token"); lastOnline = null; $("online-result").replaceChildren(); showLogin(); });
  $("token-form").addEventListener("submit", (e) => { e.preventDefault(); const v = $("token").value.trim(); if (v) sessionStorage.setItem("pana-verify-token", v); $("token").value = ""; showLogin(); });
  if ("BarcodeDetector" in window && navigator.mediaDevices) { $("scanner").hidden = false; $("scan").addEventListener("click", toggleScan); }
  try { config = await (await fetch("/verify/config.json", { credentials: "omit" })).json(); } catch (e) { config = null; }
  if (config && config.paste_token) $("token-form").hidden = false;
  if (!config || !config.authorization_url) $("login").hidden = true;
  try { if (config) await finishLogin(); } catch (e) { /* the login failed: the button stays */ }
  setLanguage(asked || saved || (navigator.language || "kk").slice(0, 2));
  await keysPromise;
  document.body.dataset.ready = "true";
}
document.addEventListener("DOMContentLoaded", start);
