/* The agent desk: the queue, one conversation's transcript with what the NLU made of it, and
   accept / reply / release. It calls the agent API (agent/server/handoff_api.py) with the agent's
   token and follows GET /handoffs/stream for live news. Plain JS, no build step. */
"use strict";
(() => {
  // Every UI string, by language: add a "zh" set next to "en" (?lang=zh or the browser's language).
  const STRINGS = {
    en: {
      title: "Agent desk", token: "Agent token", connect: "Connect", queue: "Queue", empty: "No one is waiting.",
      accept: "Accept", release: "Release to bot", close: "Close", transcript: "Transcript", slots: "Slots",
      reply: "Reply to the customer", hint: "Enter sends, Shift+Enter adds a line.", send: "Send",
      noSlots: "No slots set.",
      speaker: { user: "Customer", bot: "Bot", agent: "Agent" },
      status: { queued: "waiting", human: "with a person", bot: "with the bot", closed: "closed" },
      needToken: "Enter your agent token to see the queue.",
      tokenKept: "kept for this tab",
      connecting: "Connecting…",
      connected: "Connected. The queue updates live.",
      reconnecting: (s) => `Connection lost; trying again in ${s} s…`,
      error: (code, message) => `Error ${code}: ${message}`,
      network: "The server could not be reached.",
      waiting: (d) => `waiting ${d}`,
      withAgent: (agent) => `with ${agent}`,
      reason: (r) => `reason: ${r}`,
      inQueue: (q) => `queue: ${q}`,
      accepted: (id) => `You have the conversation ${id}.`,
      sent: "Sent to the customer.",
      stored: "Saved; the customer is not connected to receive it right now.",
      released: (id) => `${id} is back with the bot.`,
      closed: (id) => `${id} is closed.`,
      asks: (id) => `${id} asks for a person.`,
      says: (id, text) => `${id} says: ${text}`,
      intent: (name, confidence) => `intent ${name}` + (confidence == null ? "" : ` ${Math.round(confidence * 100)}%`),
      sentiment: (label) => `sentiment ${label}`,
      entities: (list) => `entities ${list}`,
      seconds: (n) => `${n} s`, minutes: (n) => `${n} min`, hours: (h, m) => `${h} h ${m} min`,
    },
  };
  const params = new URLSearchParams(location.search);
  const lang = (params.get("lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  const T = STRINGS[lang] || STRINGS.en;
  const NEWS = ["handoff.requested", "handoff.assigned", "handoff.released", "handoff.timeout",
    "message.user", "message.bot", "message.agent"];
  const LISTED = ["queued", "human"];
  const BASE = new URL("./", location.href); // the server's root, also behind a path prefix
  const $ = (id) => document.getElementById(id);
  const rows = new Map(); // conversation_id -> a row of GET /handoffs
  let token = "", selected = null, shown = null, source = null, retries = 0, retryTimer = 0, skew = 0, asked = 0, shownSeq = 0;

  const storage = {
    get: () => { try { return sessionStorage.getItem("desk.token") || ""; } catch { return ""; } },
    set: (v) => { try { sessionStorage.setItem("desk.token", v); } catch { /* private mode: keep it in memory */ } },
  };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text; // never innerHTML: customers' words are untrusted
    return node;
  }

  function say(message, isError = false) {
    $("status").textContent = message;
    $("status").classList.toggle("error", isError);
  }

  function fail(err) {
    say(err.message || String(err), true);
  }

  function announce(message) {
    const live = $("announce");
    live.textContent = "";
    setTimeout(() => { live.textContent = message; }, 50);
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return T.seconds(s);
    if (s < 3600) return T.minutes(Math.floor(s / 60));
    return T.hours(Math.floor(s / 3600), Math.floor((s % 3600) / 60));
  }

  function waited(row) {
    return row.requested_at ? Date.now() / 1000 - skew - row.requested_at : null;
  }

  function stateText(row) {
    const parts = [];
    if (row.status === "queued" && row.requested_at) parts.push(T.waiting(duration(waited(row))));
    else if (row.status === "human" && row.agent) parts.push(T.withAgent(row.agent));
    else parts.push(T.status[row.status] || row.status);
    if (row.reason && LISTED.includes(row.status)) parts.push(T.reason(row.reason));
    if (row.queue && LISTED.includes(row.status)) parts.push(T.inQueue(row.queue));
    return parts.join(" · ");
  }

  // ------------------------------------------------------------------ the API

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(new URL(path, BASE), { method, headers, cache: "no-store", body: body ? JSON.stringify(body) : undefined });
    } catch {
      throw Object.assign(new Error(T.network), { code: 0 });
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) throw Object.assign(new Error(T.error(res.status, (data && data.error) || res.statusText)), { code: res.status });
    return data;
  }

  const path = (id, action = "") => `handoffs/${encodeURIComponent(id)}${action && "/" + action}`;

  async function loadQueue() {
    const data = await api("GET", "handoffs");
    rows.clear();
    for (const row of data.handoffs) {
      rows.set(row.conversation_id, row);
      if (row.waiting_s != null && row.requested_at) skew = Date.now() / 1000 - row.requested_at - row.waiting_s;
    }
    renderQueue();
  }

  async function connect() {
    closeStream();
    $("token").placeholder = token ? T.tokenKept : "";
    if (!token) {
      say(T.needToken);
      return;
    }
    say(T.connecting);
    try {
      await loadQueue();
    } catch (err) {
      fail(err);
      if (err.code === 401 || err.code === 403) return $("token").focus(); // a wrong token: no stream
    }
    openStream();
  }

  function openStream() {
    source = new EventSource(new URL(`handoffs/stream?token=${encodeURIComponent(token)}`, BASE));
    source.onopen = () => {
      retries = 0;
      say(T.connected);
      loadQueue().catch(fail); // whatever happened while the stream was down
      if (selected) refreshDetail();
    };
    source.onerror = () => {
      closeStream();
      const wait = Math.min(30, 2 ** retries++);
      say(T.reconnecting(wait), true);
      retryTimer = setTimeout(connect, wait * 1000);
    };
    for (const kind of NEWS) source.addEventListener(kind, (e) => news(JSON.parse(e.data)));
  }

  function closeStream() {
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
  }

  function news(item) {
    const id = item.conversation_id, handoff = item.handoff || {};
    if (LISTED.includes(handoff.status)) {
      const row = { ...(rows.get(id) || { conversation_id: id }), ...handoff };
      if (item.type === "message.user") row.last_message = item.event.text;
      rows.set(id, row);
    } else {
      rows.delete(id);
    }
    renderQueue();
    if (item.type === "handoff.requested") announce(T.asks(id));
    if (id === selected) {
      if (item.type === "message.user") announce(T.says(id, item.event.text));
      refreshDetail();
    }
  }

  // ------------------------------------------------------------------ the queue

  function renderQueue() {
    const list = $("queue");
    const sorted = [...rows.values()].sort((a, b) => (a.requested_at || 0) - (b.requested_at || 0));
    const wanted = new Set(sorted.map((r) => r.conversation_id));
    for (const li of [...list.children]) if (!wanted.has(li.dataset.id)) li.remove();
    const items = new Map([...list.children].map((li) => [li.dataset.id, li]));
    let previous = null;
    for (const row of sorted) {
      let li = items.get(row.conversation_id);
      if (!li) { // keyed: a live update never replaces the button a keyboard user is on
        li = el("li");
        li.dataset.id = row.conversation_id;
        const button = el("button");
        button.type = "button";
        button.addEventListener("click", () => select(li.dataset.id));
        li.append(button);
      }
      const button = li.firstChild;
      button.replaceChildren(
        el("span", "row1"),
        el("span", "meta", stateText(row)),
        el("span", "summary", row.summary || row.last_message || ""),
      );
      button.firstChild.append(el("span", "", row.conversation_id), el("span", `badge ${row.status}`, T.status[row.status] || row.status));
      button.setAttribute("aria-current", String(row.conversation_id === selected));
      const next = previous ? previous.nextSibling : list.firstChild;
      if (li !== next) list.insertBefore(li, next);
      previous = li;
    }
    $("queue-empty").hidden = rows.size > 0;
  }

  async function select(id) {
    selected = id;
    renderQueue();
    $("conv").hidden = false;
    await refreshDetail();
    $("conv-title").focus(); // the next Tab reaches Accept
  }

  // ------------------------------------------------------------------ one conversation

  async function refreshDetail() {
    const id = selected, seq = ++asked;
    try {
      const data = await api("GET", path(id));
      if (seq > shownSeq && id === selected) { // answers may come out of order: never show an older one
        shownSeq = seq;
        renderDetail(data);
      }
    } catch (err) {
      if (seq > shownSeq) fail(err);
    }
  }

  function renderDetail(d) {
    shown = d;
    $("conv-title").textContent = d.conversation_id;
    $("conv-state").textContent = stateText(d);
    $("accept").disabled = d.status !== "queued";
    $("release").disabled = $("close").disabled = !LISTED.includes(d.status);
    $("text").disabled = $("send").disabled = d.status !== "human";

    const list = $("transcript");
    const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    list.replaceChildren(...d.transcript.map(line));
    if (atEnd) list.scrollTop = list.scrollHeight;

    const slots = Object.entries(d.slots || {});
    $("slots").replaceChildren(...(slots.length ? slots.flatMap(([k, v]) => [
      el("dt", "", k), el("dd", "", typeof v === "string" ? v : JSON.stringify(v)),
    ]) : [el("dd", "", T.noSlots)]));
  }

  function line(l) {
    const item = el("li", l.speaker);
    const time = l.timestamp ? new Date(l.timestamp * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
    const who = (T.speaker[l.speaker] || l.speaker) + (l.agent ? ` (${l.agent})` : "");
    item.append(el("span", "who", time ? `${who} · ${time}` : who), el("span", "", l.text || ""));
    if (l.speaker === "user") {
      const notes = [];
      if (l.intent) notes.push(T.intent(l.intent, l.confidence));
      if (l.sentiment) notes.push(T.sentiment(l.sentiment));
      if (l.entities && l.entities.length) notes.push(T.entities(l.entities.map((e) => `${e.entity}=${e.value}`).join(", ")));
      if (notes.length) item.append(el("span", "nlu", notes.join(" · ")));
    }
    return item;
  }

  async function act(action, body, done, focus) {
    const id = selected;
    try {
      const result = await api("POST", path(id, action), body);
      say(done(id, result));
      if (id === selected) await refreshDetail();
      $(focus).focus();
    } catch (err) {
      fail(err);
    }
  }

  // ------------------------------------------------------------------ wiring

  for (const node of document.querySelectorAll("[data-t]")) {
    if (typeof T[node.dataset.t] === "string") node.textContent = T[node.dataset.t];
  }
  document.documentElement.lang = STRINGS[lang] ? lang : "en";
  document.title = T.title;

  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    storage.set(token);
    $("token").value = "";
    connect();
  });
  $("accept").addEventListener("click", () => act("accept", null, (id) => T.accepted(id), "text"));
  $("release").addEventListener("click", () => act("release", { to: "bot" }, (id) => T.released(id), "queue-title"));
  $("close").addEventListener("click", () => act("release", { to: "closed" }, (id) => T.closed(id), "queue-title"));
  $("reply").addEventListener("submit", async (e) => {
    e.preventDefault();
    const box = $("text"), text = box.value;
    if (!text.trim() || !selected) return;
    try {
      const result = await api("POST", path(selected, "messages"), { text });
      box.value = "";
      say(result.delivered ? T.sent : T.stored);
      refreshDetail();
    } catch (err) {
      fail(err);
    }
  });
  $("text").addEventListener("keydown", (e) => { // an IME composing Chinese also uses Enter: leave it alone
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      $("reply").requestSubmit();
    }
  });
  setInterval(() => { // waiting times move on
    renderQueue();
    if (shown) $("conv-state").textContent = stateText(shown);
  }, 15000);

  if (params.has("token")) { // keep the token out of the address bar, history and screenshots
    storage.set(params.get("token"));
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  }
  token = storage.get();
  if (!token) $("token").focus();
  connect();
})();
