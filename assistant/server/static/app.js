// Chat page of the vertebroplasty / kyphoplasty coding assistant. Plain JS, no build step, no dependencies.
// API contract: .plan/SERVER_API.md (Bearer key on every /api call, SSE stream from POST /api/ask/stream).
"use strict";

(() => {
  const KEY_STORAGE = "vertebro.key";
  const NARROW = window.matchMedia("(max-width: 760px)");

  const $ = (selector, root = document) => root.querySelector(selector);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  const state = {
    key: null,
    conversationId: null,
    busy: false,
    controller: null, // AbortController of the running stream
  };

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, detail, retryAfter = null) {
      super(detail);
      this.status = status;
      this.detail = detail;
      this.retryAfter = retryAfter;
    }
  }

  function detailText(detail, fallback) {
    if (typeof detail === "string" && detail) return detail;
    if (Array.isArray(detail)) {
      // FastAPI validation errors: [{loc, msg, type}, ...]
      return detail.map((d) => (d && d.msg ? `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}` : String(d)))
        .join("; ");
    }
    return fallback;
  }

  async function errorFrom(response) {
    let detail = null;
    try {
      const body = await response.json();
      detail = body && body.detail;
    } catch (_) { /* not JSON */ }
    const retry = parseInt(response.headers.get("Retry-After") || "", 10);
    return new ApiError(response.status, detailText(detail, `${response.status} ${response.statusText || "error"}`),
      Number.isFinite(retry) ? retry : null);
  }

  async function api(path, { method = "GET", body, signal, key = state.key, accept = "application/json" } = {}) {
    const headers = { Authorization: `Bearer ${key}`, Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  const getJSON = async (path, options) => (await api(path, options)).json();

  // Parses a text/event-stream body; calls onEvent(name, data) for each complete event.
  async function readEventStream(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    const dispatch = (block) => {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) onEvent(name, data.join("\n"));
    };
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) !== -1) {
        dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
      if (done) {
        if (buffer.trim()) dispatch(buffer);
        return;
      }
    }
  }

  // ---------- Key handling ----------

  function showKeyForm(message) {
    abortStream();
    $("#app").hidden = true;
    $("#toggle-sidebar").hidden = true;
    $("#change-key").hidden = true;
    $("#entitlement").hidden = true;
    $("#key-panel").hidden = false;
    const error = $("#key-error");
    error.textContent = message || "";
    error.hidden = !message;
    const input = $("#key-input");
    input.value = "";
    input.focus();
  }

  function forgetKey(message) {
    state.key = null;
    try { localStorage.removeItem(KEY_STORAGE); } catch (_) { /* storage disabled */ }
    showKeyForm(message);
  }

  function showApp(me) {
    $("#key-panel").hidden = true;
    $("#app").hidden = false;
    $("#change-key").hidden = false;
    $("#toggle-sidebar").hidden = false;
    const badge = $("#entitlement");
    const licensed = (me.entitlements || []).includes("cpt-licensed");
    badge.textContent = licensed ? "CPT-licensed" : "public";
    badge.title = licensed ? "This key may see licensed CPT descriptors"
      : "This key sees public sources; CPT descriptors are paraphrased";
    badge.classList.toggle("licensed", licensed);
    badge.hidden = !(me.entitlements || []).length;
    setSidebar(false);
    refreshConversations();
    $("#question").focus();
  }

  async function checkKey(key) {
    return getJSON("/api/me", { key });
  }

  async function onKeySubmit(event) {
    event.preventDefault();
    const input = $("#key-input");
    const key = input.value.trim();
    const error = $("#key-error");
    if (!key) {
      error.textContent = "Enter an API key.";
      error.hidden = false;
      return;
    }
    const button = $("#key-save");
    button.disabled = true;
    error.hidden = true;
    try {
      const me = await checkKey(key);
      state.key = key;
      try { localStorage.setItem(KEY_STORAGE, key); } catch (_) { /* storage disabled: keep it in memory */ }
      showApp(me);
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? "This key was not accepted. Check it and try again."
        : `Could not check the key: ${err.detail || err.message}`;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // ---------- Sidebar / conversations ----------

  function setSidebar(open) {
    const narrow = NARROW.matches;
    document.body.classList.toggle("sidebar-open", open && narrow);
    $("#toggle-sidebar").setAttribute("aria-expanded", String(narrow ? open : true));
    $("#backdrop").hidden = !(open && narrow);
  }

  function formatWhen(iso) {
    if (!iso) return "";
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return iso;
    const today = new Date();
    return when.toDateString() === today.toDateString()
      ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : when.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
  }

  function markActiveConversation() {
    for (const button of document.querySelectorAll("#conversations button[data-id]")) {
      const active = button.dataset.id === state.conversationId;
      button.classList.toggle("active", active);
      if (active) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  async function refreshConversations() {
    const list = $("#conversations");
    try {
      const items = await getJSON("/api/conversations");
      list.replaceChildren(...items.map((c) => el("li", {},
        el("button", { type: "button", class: "conversation", "data-id": c.id, title: c.title,
          onclick: () => openConversation(c.id) },
          el("span", { class: "conversation-title", text: c.title || "(untitled)" }),
          el("span", { class: "conversation-meta small muted",
            text: `${c.turns} turn${c.turns === 1 ? "" : "s"} · ${formatWhen(c.updated_at || c.created_at)}` })))));
      $("#conversations-empty").hidden = items.length > 0;
      markActiveConversation();
    } catch (err) {
      if (handleAuthError(err)) return;
      list.replaceChildren(el("li", { class: "error small", text: `Could not load conversations: ${err.detail || err.message}` }));
    }
  }

  async function openConversation(id) {
    abortStream();
    setSidebar(false);
    const messages = $("#messages");
    messages.replaceChildren(el("li", { class: "muted small loading", text: "Loading conversation…" }));
    $("#intro").hidden = true;
    try {
      const conversation = await getJSON(`/api/conversations/${encodeURIComponent(id)}`);
      state.conversationId = conversation.id;
      messages.replaceChildren();
      for (const turn of conversation.turns || []) {
        const { body } = addTurn(turn.question, turn.date_of_service);
        renderAnswer(body, turn.answer);
      }
      if (!(conversation.turns || []).length) $("#intro").hidden = false;
      markActiveConversation();
      window.scrollTo({ top: document.body.scrollHeight });
    } catch (err) {
      if (handleAuthError(err)) return;
      messages.replaceChildren(el("li", { class: "error", role: "alert", text: `Could not open the conversation: ${err.detail || err.message}` }));
    }
    $("#question").focus();
  }

  function newConversation() {
    abortStream();
    state.conversationId = null;
    $("#messages").replaceChildren();
    $("#intro").hidden = false;
    markActiveConversation();
    setSidebar(false);
    $("#question").focus();
  }

  function handleAuthError(err) {
    if (err instanceof ApiError && err.status === 401) {
      forgetKey("Your API key was not accepted (revoked or mistyped). Enter it again.");
      return true;
    }
    return false;
  }

  // ---------- Rendering ----------

  function addTurn(question, dateOfService) {
    $("#intro").hidden = true;
    const body = el("article", { class: "msg assistant", "aria-label": "Assistant answer" });
    const item = el("li", { class: "turn" },
      el("div", { class: "msg user" },
        el("p", { class: "question-text", text: question }),
        el("p", { class: "small muted", text: dateOfService ? `Date of service ${dateOfService}` : "Date of service: today" })),
      body);
    $("#messages").append(item);
    return { item, body };
  }

  function claimLine(codes) {
    return codes.map((c) => `${c.code}${(c.modifiers || []).map((m) => `-${m}`).join("")} x${c.units ?? 1}`).join(", ");
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) { /* fall back below */ }
    }
    const area = el("textarea", { readonly: true, "aria-hidden": "true", class: "clipboard-fallback" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    area.remove();
    return ok;
  }

  function codesTable(codes) {
    return el("table", { class: "codes", "data-testid": "codes" },
      el("caption", { class: "visually-hidden", text: "Verified codes" }),
      el("thead", {}, el("tr", {},
        ["Code", "Units", "Modifiers", "Description", "Check"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, codes.map((c) => el("tr", { class: c.verified ? "ok" : "unverified" },
        el("td", { class: "code", "data-label": "Code", text: c.code }),
        el("td", { class: "units", "data-label": "Units", text: String(c.units ?? 1) }),
        el("td", { class: "modifiers", "data-label": "Modifiers", text: (c.modifiers || []).join(", ") || "—" }),
        el("td", { class: "description", "data-label": "Description", text: c.description || "" }),
        el("td", { class: "reason", "data-label": "Check", title: c.reason || "" },
          el("span", { class: c.verified ? "tick" : "cross", text: c.verified ? "✓" : "✗" }),
          el("span", { class: "small muted", text: c.verified ? " verified" : " not verified" }))))));
  }

  function citationBlock(citation) {
    const content = el("div", { class: "doc-text", "data-testid": "doc-text" });
    const details = el("details", { class: "citation", "data-doc-id": citation.id },
      el("summary", {},
        el("span", { class: "citation-title", text: citation.title || citation.id }),
        " ", el("span", { class: `badge small ${citation.license === "cpt-licensed" ? "licensed" : ""}`, text: citation.license || "" })),
      el("p", { class: "small muted citation-source", text: [citation.id, citation.source].filter(Boolean).join(" · ") }),
      content);
    let loaded = false;
    details.addEventListener("toggle", async () => {
      if (!details.open || loaded) return;
      loaded = true;
      content.classList.remove("error");
      content.classList.add("loading");
      content.dataset.state = "loading";
      content.textContent = "Loading…";
      try {
        const doc = await getJSON(`/api/docs/${encodeURIComponent(citation.id)}`);
        content.textContent = doc.text || "(empty document)";
        content.classList.remove("loading");
        content.dataset.state = "loaded";
      } catch (err) {
        loaded = false; // retry on the next open
        content.classList.remove("loading");
        if (handleAuthError(err)) return;
        content.textContent = err instanceof ApiError && err.status === 404
          ? "This source is not available for your key."
          : `Could not load the source: ${err.detail || err.message}`;
        content.classList.add("error");
        content.dataset.state = "error";
      }
    });
    return details;
  }

  // The page renders the answer's structure only (summary, codes, typed sections, ...), never its Markdown text.
  function renderAnswer(body, answer) {
    const section = el("section", { class: "verified", "aria-label": "Verified answer" });
    const status = !answer.in_scope ? ["out", "Out of scope"]
      : answer.needs_clarification ? ["clarify", "Needs one more fact"] : ["ok", "Verified answer"];
    section.append(el("h3", { class: `verified-title ${status[0]}`, text: status[1] }));
    if (answer.summary) section.append(el("p", { class: "summary", "data-testid": "summary", text: answer.summary }));
    const parts = answer.sections || [];
    const asked = parts.find((part) => part.kind === "question");
    if (asked) section.append(clarification(asked));
    const codes = answer.codes || [];
    if (codes.length) section.append(...codesBlock(codes));
    for (const part of parts) {
      const shown = partElement(part, answer);
      if (shown) section.append(shown);
    }
    const review = answer.review || [];
    if (review.length) section.append(reviewBlock(review));
    const rejected = answer.rejected || [];
    if (rejected.length) {
      section.append(el("section", { class: "rejected", "aria-label": "Rejected codes", "data-testid": "rejected" },
        el("h4", { text: "Rejected" }),
        el("ul", {}, rejected.map((r) => el("li", {}, el("s", { class: "code", text: r.code }), " — ", r.reason || "")))));
    }
    const warnings = answer.warnings || [];
    if (warnings.length) {
      section.append(el("section", { class: "warnings", "aria-label": "Warnings", "data-testid": "warnings" },
        el("h4", { text: "Warnings" }), el("ul", {}, warnings.map((w) => el("li", { text: w })))));
    }
    const understood = answer.understood || [];
    if (understood.length) section.append(readBack(answer.question || "", understood));
    const citations = answer.citations || [];
    if (citations.length) {
      section.append(el("section", { class: "citations", "aria-label": "Sources" },
        el("h4", { text: "Sources" }), citations.map(citationBlock)));
    }
    section.append(el("p", { class: "meta small muted", text: metaLine(answer) }));
    body.append(section);
  }

  function clarification(part) {
    return el("p", { class: "clarification", role: "note", "data-testid": "clarification" },
      el("span", { class: "clarification-mark", "aria-hidden": "true", text: "?" }),
      el("span", { text: (part.items || []).join(" ") }));
  }

  function codesBlock(codes) {
    const line = claimLine(codes);
    const button = el("button", { type: "button", class: "copy-claim", "data-testid": "copy-claim", text: "Copy claim line" });
    const feedback = el("span", { class: "copy-feedback small muted", role: "status" });
    button.addEventListener("click", async () => {
      const ok = await copyText(line);
      feedback.textContent = ok ? "Copied" : "Copy failed: select the line and copy it";
      setTimeout(() => { feedback.textContent = ""; }, 2500);
    });
    return [el("div", { class: "table-wrap" }, codesTable(codes)),
      el("div", { class: "claim" }, el("code", { class: "claim-line", text: line }), button, feedback)];
  }

  // One typed section of the answer. The question leads (above), the review has its own block, and notes that
  // repeat a rejected code or a warning are left to those blocks.
  function partElement(part, answer) {
    if (part.kind === "question" || part.kind === "review") return null;
    let items = part.items || [];
    if (part.kind === "notes") {
      const elsewhere = new Set([...(answer.warnings || []),
        ...(answer.rejected || []).map((r) => `${r.code}: ${r.reason}`)]);
      items = items.filter((item) => !elsewhere.has(item));
    }
    if (!items.length) return null;
    const list = part.kind === "quote"
      ? items.map((item) => el("blockquote", { text: item }))
      : [el("ul", {}, items.map((item) => el("li", { text: item })))];
    return el("section", { class: `answer-part ${part.kind}`, "aria-label": part.title, "data-testid": `section-${part.kind}` },
      el("h4", { text: part.title }), list);
  }

  function reviewBlock(review) {
    const label = { correct: "correct", replace: "replace with", remove: "do not report" };
    return el("section", { class: "review", "aria-label": "Your codes", "data-testid": "review" },
      el("h4", { text: "Your codes" }),
      el("ul", {}, review.map((v) => el("li", { class: `verdict ${v.verdict}` },
        el("span", { class: "code", text: v.code }), ` — ${label[v.verdict] || v.verdict}`,
        v.by && v.by.length ? el("span", { class: "code", text: ` ${v.by.join(", ")}` }) : "",
        v.units ? `, ${v.units} unit(s)` : "",
        `: ${v.reason || ""}`))));
  }

  function metaLine(answer) {
    const llm = answer.llm || {};
    const meta = [`Date of service ${answer.date_of_service}`];
    if (llm.model && llm.model !== "none") {
      meta.push(`draft by ${llm.model}: ${llm.draft_passed ? "passed the check" : "corrected by the check"}`);
    }
    if (answer.timings_ms && answer.timings_ms.total !== undefined) meta.push(`${(answer.timings_ms.total / 1000).toFixed(1)} s`);
    return meta.join(" · ");
  }

  // The read-back: the question with the words each fact came from highlighted, then the facts as a list.
  function readBack(question, understood) {
    const spans = understood.flatMap((u) => (u.evidence || []).map((e) => ({ ...e, fact: u.fact })))
      .sort((a, b) => a.start - b.start);
    const quoted = el("p", { class: "readback-question" });
    let at = 0;
    for (const span of spans) {
      if (span.start < at) continue; // overlapping evidence: the first one wins
      quoted.append(question.slice(at, span.start), el("mark", { title: span.fact, text: question.slice(span.start, span.end) }));
      at = span.end;
    }
    quoted.append(question.slice(at));
    const items = understood.map((u) => el("li", {},
      el("span", { class: "fact", text: `${u.fact.replace(/_/g, " ")}${u.level ? " " + u.level : ""}: ` }),
      el("strong", { text: u.value }),
      el("span", { class: "small muted", text: u.evidence && u.evidence.length
        ? ` ← ${u.evidence.map((e) => `“${e.text}”`).join(", ")}` : ` (${u.source})` })));
    return el("details", { class: "readback", "data-testid": "readback" },
      el("summary", { text: "What I understood" }), quoted, el("ul", {}, items));
  }

  function renderError(body, err, retry) {
    let text;
    if (err instanceof ApiError && err.status === 429) {
      text = err.retryAfter ? `The assistant is busy, retry in ${err.retryAfter} s.`
        : "The assistant is busy, retry in a few seconds.";
    } else if (err instanceof ApiError) {
      text = err.detail || `Error ${err.status}`;
    } else {
      text = `Connection problem: ${err.message || err}`;
    }
    const box = el("p", { class: "error", role: "alert", "data-testid": "error" }, text);
    if (retry) box.append(" ", el("button", { type: "button", class: "link", text: "Retry",
      onclick: () => { if (state.busy) return; box.remove(); retry(); } }));
    body.append(box);
  }

  // ---------- Asking ----------

  function todayISO() {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  }

  function setBusy(busy) {
    state.busy = busy;
    const send = $("#send");
    send.disabled = busy;
    send.textContent = busy ? "Answering…" : "Send";
    $("#ask-form").setAttribute("aria-busy", String(busy));
  }

  function abortStream() {
    if (state.controller) state.controller.abort();
    state.controller = null;
  }

  function formError(message) {
    const box = $("#form-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function onSubmit(event) {
    event.preventDefault();
    if (state.busy) return;
    const textarea = $("#question");
    const question = textarea.value.trim();
    const dos = $("#dos").value || null;
    $("#dos").max = todayISO();
    if (!question) { formError("Type a question first."); return; }
    if (dos && dos > todayISO()) { formError("The date of service cannot be in the future."); return; }
    formError("");
    textarea.value = "";
    autoGrow();
    ask(question, dos);
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  async function ask(question, dos, turn = addTurn(question, dos)) {
    const { body } = turn;
    body.replaceChildren();
    const draft = el("div", { class: "draft", "data-testid": "draft" });
    const draftBox = el("details", { class: "draft-box streaming", open: true },
      el("summary", { class: "draft-label" }, el("span", { class: "spinner", "aria-hidden": "true" }),
        "Draft (model, not yet checked)"),
      draft);
    const waiting = el("p", { class: "small muted waiting", text: "Retrieving sources and checking codes…" });
    body.append(draftBox, waiting);
    window.scrollTo({ top: document.body.scrollHeight });

    const controller = new AbortController();
    abortStream();
    state.controller = controller;
    setBusy(true);
    let finished = false;
    const retry = () => ask(question, dos, turn);
    const fail = (err) => {
      finished = true;
      waiting.remove();
      draftBox.classList.remove("streaming");
      if (!draft.textContent) draftBox.remove();
      if (err instanceof ApiError && err.status === 401) {
        if (!$("#question").value) $("#question").value = question; // ready to send again once the key is fixed
        handleAuthError(err);
        return;
      }
      renderError(body, err, retry);
    };
    try {
      const response = await api("/api/ask/stream", {
        method: "POST", signal: controller.signal, accept: "text/event-stream",
        body: { question, date_of_service: dos, conversation_id: state.conversationId },
      });
      await readEventStream(response, (name, data) => {
        if (finished) return;
        let payload;
        try { payload = JSON.parse(data); } catch (_) { return; }
        if (name === "token") {
          const follow = nearBottom();
          draft.append(payload.text || "");
          if (follow) window.scrollTo({ top: document.body.scrollHeight });
        } else if (name === "answer") {
          finished = true;
          waiting.remove();
          draftBox.classList.remove("streaming");
          if (draft.textContent.trim()) {
            draftBox.open = false; // kept for reference, collapsed under the verified answer
            $(".draft-label", draftBox).lastChild.textContent = "Model draft (not checked; the verified answer is below)";
          } else {
            draftBox.remove();
          }
          if (payload.conversation_id) state.conversationId = payload.conversation_id;
          renderAnswer(body, payload);
          refreshConversations();
        } else if (name === "error") {
          fail(new ApiError(payload.status || 500, detailText(payload.detail, "the server reported an error"),
            payload.retry_after ?? null));
        }
      });
      if (!finished) fail(new Error("the connection closed before the verified answer arrived"));
    } catch (err) {
      if (controller.signal.aborted) {
        waiting.remove();
        draftBox.classList.remove("streaming");
        body.append(el("p", { class: "small muted", text: "Stopped." }));
      } else {
        fail(err);
      }
    } finally {
      // Unless a newer question took over, the form is free again (also after abortStream() cleared it).
      if (state.controller === controller || state.controller === null) {
        state.controller = null;
        setBusy(false);
      }
    }
  }

  function autoGrow() {
    const area = $("#question");
    area.style.height = "auto";
    area.style.height = `${Math.min(area.scrollHeight + 2, 240)}px`;
  }

  // ---------- Start ----------

  async function start() {
    $("#dos").max = todayISO();
    $("#key-form").addEventListener("submit", onKeySubmit);
    $("#ask-form").addEventListener("submit", onSubmit);
    $("#question").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("#ask-form").requestSubmit();
      }
    });
    $("#question").addEventListener("input", autoGrow);
    $("#new-conversation").addEventListener("click", newConversation);
    $("#change-key").addEventListener("click", (event) => {
      event.preventDefault();
      forgetKey("");
    });
    $("#toggle-sidebar").addEventListener("click", () => setSidebar(!document.body.classList.contains("sidebar-open")));
    $("#backdrop").addEventListener("click", () => setSidebar(false));
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") setSidebar(false); });
    NARROW.addEventListener("change", () => setSidebar(false));

    let saved = null;
    try { saved = localStorage.getItem(KEY_STORAGE); } catch (_) { saved = null; }
    if (!saved) { showKeyForm(""); return; }
    try {
      const me = await checkKey(saved);
      state.key = saved;
      showApp(me);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        forgetKey("The saved API key is no longer accepted. Enter a key.");
      } else {
        // Server unreachable: keep the key, show the page and say so.
        state.key = saved;
        showApp({ entitlements: [] });
        formError(`Could not reach the server: ${err.detail || err.message}`);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
