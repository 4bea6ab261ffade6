"use strict";
// The echelon run view. Live (served by `echelon ui`): polls /api/runs and /api/runs/<id> every second and
// redraws what changed. Snapshot (`echelon trace RUN --html`): renders the run embedded in the page, once.
// Everything is built with DOM nodes and textContent: run records hold model and tool output.
(() => {
  const embedded = JSON.parse(document.getElementById("run-data").textContent || "null");
  const live = embedded === null;
  const state = { runs: [], runsJson: "", view: null, viewJson: "", runId: null, selected: null, tick: 0 };
  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "style") el.style.cssText = value; // through the CSSOM: the policy refuses style attributes
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  // replaceChildren, skipping the null/false an optional part gives.
  const fill = (el, ...children) => el.replaceChildren(...h("div", {}, ...children).childNodes);
  const svg = (tag, attrs) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
    return el;
  };

  // -- formatting ------------------------------------------------------------------------------------------
  const now = () => (live ? Date.now() / 1000 : embedded.exported_at);
  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 120) return `${seconds.toFixed(1)} s`;
    return `${Math.floor(seconds / 60)} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
  }
  const clock = (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "-");
  const when = (t) => (t ? new Date(t * 1000).toLocaleString() : "-");
  const clip = (text, n) => (text && text.length > n ? `${text.slice(0, n)}…` : text || "");
  const tokens = (u) => (u ? u.input_tokens + u.output_tokens : 0);
  const usageLine = (u) =>
    u ? `${u.llm_calls} model calls · ${tokens(u).toLocaleString()} tokens · ${u.tool_calls} tool calls` : "";
  const pill = (status) => h("span", { class: `pill s-${String(status).replace(" ", "-")}`, text: status });
  const json = (value) => JSON.stringify(value, null, 2);
  const args = (a) =>
    Object.entries(a || {})
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(", ");
  const resultText = (call) => (call.result !== null && call.result !== undefined ? JSON.stringify(call.result) : call.text);
  const callLabel = (call) =>
    `${call.worker}.${call.tool}(${clip(args(call.arguments), 60)})` +
    (call.outcome === "ok" ? ` → ${clip(resultText(call), 50)}` : ` ✗ ${call.outcome}`);

  // -- the run's nodes ---------------------------------------------------------------------------------------
  function phaseOf(view, name) {
    return view.phases.find((p) => p.name === name);
  }
  function find(view, key) {
    if (!key) return null;
    const [kind, name, i, j] = key.split("\u0000");
    if (kind === "plan" || kind === "answer") return { kind };
    const phase = phaseOf(view, name);
    if (!phase) return null;
    if (kind === "phase") return { kind, phase };
    const step = phase.result && phase.result.steps[Number(i)];
    if (!step) return null;
    if (kind === "step") return { kind, phase, step };
    const call = step.calls[Number(j)];
    return call ? { kind, phase, step, call } : null;
  }
  const key = (...parts) => parts.join("\u0000");
  function defaultSelection(view) {
    const running = view.phases.find((p) => p.state === "running");
    if (running) return key("phase", running.name);
    if (view.result) return key("answer");
    return view.phases.length ? key("phase", view.phases[0].name) : key("plan");
  }
  function select(k) {
    state.selected = k;
    if ($("details")) $("details").scrollTop = 0;
    writeHash();
    render();
  }

  // -- the graph: plan → phases by dependency depth → answer ----------------------------------------------------
  function depths(phases) {
    const depth = {};
    const byName = Object.fromEntries(phases.map((p) => [p.name, p]));
    const visit = (p, seen) => {
      if (depth[p.name] !== undefined) return depth[p.name];
      if (seen.has(p.name)) return 0;
      seen.add(p.name);
      const deps = p.depends_on.filter((d) => byName[d]).map((d) => visit(byName[d], seen));
      depth[p.name] = deps.length ? Math.max(...deps) + 1 : 0;
      return depth[p.name];
    };
    phases.forEach((p) => visit(p, new Set()));
    return depth;
  }
  function phaseCard(view, phase) {
    const k = key("phase", phase.name);
    const r = phase.result;
    let timing = "";
    if (phase.started_at && phase.finished_at) timing = duration(phase.finished_at - phase.started_at);
    else if (phase.state === "running" && phase.started_at) timing = `${duration(now() - phase.started_at)} so far`;
    const steps = r
      ? h(
          "div",
          { class: "steps" },
          r.steps.map((step, i) =>
            h(
              "div",
              {
                class: `step${state.selected === key("step", phase.name, i) ? " selected" : ""}`,
                "data-step": step.step,
                onclick: (e) => (e.stopPropagation(), select(key("step", phase.name, i))),
              },
              h("div", { class: "head" }, h("span", { class: "name", text: `${step.step} › ${step.worker}` }), pill(step.status)),
              step.calls.map((call, j) =>
                h("span", {
                  class: `call${call.outcome === "ok" ? "" : " bad"}${state.selected === key("call", phase.name, i, j) ? " selected" : ""}`,
                  "data-call": `${call.worker}.${call.tool}`,
                  title: callLabel(call),
                  text: callLabel(call),
                  onclick: (e) => (e.stopPropagation(), select(key("call", phase.name, i, j))),
                }),
              ),
            ),
          ),
        )
      : null;
    return h(
      "div",
      {
        class: `node st-${phase.state.replace(" ", "-")}${state.selected === k ? " selected" : ""}`,
        "data-node": `phase:${phase.name}`,
        "data-state": phase.state,
        onclick: () => select(k),
      },
      h("div", { class: "title" }, h("span", { class: "name", text: phase.name }), pill(phase.state)),
      h("div", { class: "line", text: [phase.manager, timing, r ? `${tokens(r.usage).toLocaleString()} tokens` : ""].filter(Boolean).join(" · ") }),
      h("div", { class: "goals", text: clip(phase.goals, 140) }),
      phase.state === "running" ? h("div", { class: "activity", text: phase.activity || "working" }) : null,
      steps,
    );
  }
  function endCard(kind, view) {
    const s = view.summary;
    const k = key(kind);
    const isPlan = kind === "plan";
    const status = isPlan ? (view.plan ? "ok" : s.status === "running" ? "running" : "waiting") : view.result ? s.status : "waiting";
    const text = isPlan
      ? view.plan
        ? `${view.plan.phases.length} phase(s)${view.plan.asks_for.length ? `; states ${view.plan.asks_for.join(", ")}` : ""}`
        : "planning…"
      : view.result
        ? clip(view.result.output, 140)
        : "after the phases";
    return h(
      "div",
      { class: `node st-${status}${state.selected === k ? " selected" : ""}`, "data-node": kind, "data-state": status, onclick: () => select(k) },
      h("div", { class: "title" }, h("span", { class: "name", text: isPlan ? "plan" : "answer" }), pill(status)),
      h("div", { class: "goals", text }),
    );
  }
  function graph(view) {
    const depth = depths(view.phases);
    const levels = Math.max(0, ...Object.values(depth).map((d) => d + 1));
    const cols = [h("div", { class: "col" }, endCard("plan", view))];
    for (let level = 0; level < levels; level++) {
      cols.push(h("div", { class: "col" }, view.phases.filter((p) => depth[p.name] === level).map((p) => phaseCard(view, p))));
    }
    cols.push(h("div", { class: "col" }, endCard("answer", view)));
    const box = h("div", { class: "graph", id: "graph", style: `grid-template-columns: repeat(${cols.length}, max-content)` }, cols);
    const edges = [];
    const names = new Set(view.phases.map((p) => p.name));
    for (const p of view.phases) {
      const deps = p.depends_on.filter((d) => names.has(d));
      if (!deps.length) edges.push(["plan", `phase:${p.name}`]);
      deps.forEach((d) => edges.push([`phase:${d}`, `phase:${p.name}`]));
    }
    const needed = new Set(view.phases.flatMap((p) => p.depends_on));
    view.phases.filter((p) => !needed.has(p.name)).forEach((p) => edges.push([`phase:${p.name}`, "answer"]));
    if (!view.phases.length) edges.push(["plan", "answer"]);
    requestAnimationFrame(() => drawEdges(box, edges));
    return box;
  }
  function drawEdges(box, edges) {
    box.querySelectorAll("svg.edges").forEach((e) => e.remove());
    const origin = box.getBoundingClientRect();
    const layer = svg("svg", { class: "edges", width: box.scrollWidth, height: box.scrollHeight });
    const at = (name) => box.querySelector(`[data-node="${CSS.escape(name)}"]`);
    for (const [from, to] of edges) {
      const a = at(from), b = at(to);
      if (!a || !b) continue;
      const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
      // The layer sits in the padding box: positions are from its inner edge, scrolled content included.
      const left = origin.left + box.clientLeft - box.scrollLeft, top = origin.top + box.clientTop;
      const x1 = ra.right - left, y1 = ra.top + Math.min(ra.height / 2, 40) - top;
      const x2 = rb.left - left, y2 = rb.top + Math.min(rb.height / 2, 40) - top;
      const mid = (x1 + x2) / 2;
      const done = a.dataset.state === "ok" || a.dataset.state === "partial";
      const path = svg("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 6},${y2}`, class: done ? "done" : "pending", "marker-end": "url(#arrow)" });
      layer.append(path);
    }
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "2", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "head" }));
    const defs = svg("defs", {});
    defs.append(marker);
    layer.prepend(defs);
    box.prepend(layer);
  }

  // -- the timeline -------------------------------------------------------------------------------------------
  // Time 0 is when the plan step began (the run's own start is whole seconds on SQLite, and includes queueing).
  function origin(view) {
    const starts = view.checkpoints.map((c) => c.started_at).filter(Boolean);
    return starts.length ? Math.min(...starts) : view.summary.started_at || now();
  }
  function timeline(view) {
    const s = view.summary;
    const t0 = origin(view);
    const going = s.status === "running" || s.status === "queued";
    const ends = [...view.checkpoints.map((c) => c.finished_at), s.started_at && s.wall_seconds ? s.started_at + s.wall_seconds : null];
    const t1 = Math.max(going ? now() : 0, ...ends.filter(Boolean), t0 + 0.001);
    const pct = (t) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(2)}%`;
    const row = (label, start, end, status, k, ticks) =>
      h(
        "div",
        { class: "tl-row", "data-row": label },
        h("span", { class: "label", title: label, text: label }),
        h(
          "div",
          { class: "track", onclick: k ? () => select(k) : null },
          start ? h("div", { class: `bar s-${status.replace(" ", "-")}`, style: `left:${pct(start)};width:calc(${pct(end || now())} - ${pct(start)})` }) : null,
          (ticks || []).map((c) => h("div", { class: "tick", title: callLabel(c), style: `left:${pct(c.started_at)}` })),
        ),
        h("span", { class: "dur", text: start ? duration((end || now()) - start) : status }),
      );
    const plan = view.checkpoints.find((c) => c.name === "plan");
    const answer = view.checkpoints.find((c) => c.name === "answer");
    const rows = [row("plan", plan ? plan.started_at : going ? t0 : null, plan && plan.finished_at, plan ? "ok" : "running", key("plan"))];
    for (const p of view.phases) {
      const calls = p.result ? p.result.steps.flatMap((st) => st.calls) : [];
      rows.push(row(p.name, p.started_at, p.finished_at, p.state, key("phase", p.name), calls));
    }
    const replans = view.checkpoints.filter((c) => c.name.startsWith("replan:"));
    replans.forEach((c) => rows.push(row(c.name, c.started_at, c.finished_at, "ok", null)));
    rows.push(row("answer", answer && answer.started_at, answer && answer.finished_at, answer ? "ok" : "waiting", key("answer")));
    const axis = h(
      "div",
      { class: "tl-axis" },
      h("span", { text: clock(t0) }),
      h("div", { class: "scale" }, [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", { text: `+${duration(f * (t1 - t0)) || "0 s"}` }))),
      h("span", {}),
    );
    return h("div", { class: "timeline", id: "timeline" }, rows, axis);
  }

  // -- the details of the selected node ------------------------------------------------------------------------
  const kv = (pairs) =>
    h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").flatMap(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]));
  const errors = (list) => (list || []).map((e) => h("div", { class: "error", text: `${e.kind} in ${e.where}: ${e.message}` }));
  const block = (title, text) => (text ? [h("h3", { text: title }), h("pre", { text })] : []);
  const usageKv = (u) => (u ? [["model calls", u.llm_calls], ["tokens", `${u.input_tokens.toLocaleString()} in · ${u.output_tokens.toLocaleString()} out`], ["tool calls", u.tool_calls], ["retries", u.retries || ""], ["models", u.models.join(", ")]] : []);
  function details(view, node) {
    const s = view.summary;
    if (!node) return [h("p", { class: "muted", text: "Select a node of the graph." })];
    if (node.kind === "plan") {
      const p = view.plan;
      return [
        h("h3", {}, "plan ", pill(p ? "ok" : "waiting")),
        ...block("Input: the request", s.request),
        p ? kv([["states", p.asks_for.join(", ")], ["primary", p.primary_worker], ["rationale", p.rationale]]) : h("p", { class: "muted", text: "Not planned yet." }),
        ...(p ? block("Output: phases", p.phases.map((x) => `${x.name} → ${x.worker}${x.depends_on.length ? ` (after ${x.depends_on.join(", ")})` : ""}: ${x.goals}`).join("\n")) : []),
      ];
    }
    if (node.kind === "answer") {
      const r = view.result;
      if (!r) return [h("h3", {}, "answer ", pill("waiting")), h("p", { class: "muted", text: "The answer comes once the phases are done." })];
      return [
        h("h3", {}, "answer ", pill(r.status)),
        kv([...usageKv(r.usage), ["wall", duration(r.usage.wall_seconds)]]),
        ...block("Output", r.output),
        ...(r.artifacts.length ? block("Files", r.artifacts.map((a) => a.path).join("\n")) : []),
        ...r.replans.map((x) => h("div", { class: "error", text: `replanned after ${x.failed.join(", ")}: ${x.reason}` })),
        ...errors(r.errors),
        view.error ? h("div", { class: "error", text: `the run broke: ${view.error}` }) : null,
      ];
    }
    if (node.kind === "phase") {
      const p = node.phase, r = p.result;
      return [
        h("h3", {}, `phase ${p.name} `, pill(p.state)),
        kv([["manager", p.manager], ["after", p.depends_on.join(", ")], ["started", clock(p.started_at)], ["finished", p.finished_at ? clock(p.finished_at) : ""], ["now", p.state === "running" ? p.activity || "working" : ""], ["planner", r && r.planner], ...usageKv(r && r.usage)]),
        ...block("Input: goals", p.goals),
        ...(r ? block("Output", r.output) : []),
        r && !r.goal_met && r.missing ? h("div", { class: "error", text: `missing: ${r.missing}` }) : null,
        ...(r && r.artifacts.length ? block("Files", r.artifacts.map((a) => a.path).join("\n")) : []),
        r ? h("h3", { text: `Steps (${r.steps.length})` }) : null,
        ...(r ? r.steps.map((st, i) => h("div", { class: "call", onclick: () => select(key("step", p.name, i)), text: `${st.step} › ${st.worker}: ${st.status}, ${st.calls.length} call(s)` })) : []),
        ...errors(r && r.errors),
      ];
    }
    if (node.kind === "step") {
      const st = node.step;
      return [
        h("h3", {}, `step ${st.step} `, pill(st.status)),
        kv([["phase", node.phase.name], ["worker", st.worker], ["reassigned from", st.reassigned_from], ["wall", duration(st.usage.wall_seconds)], ...usageKv(st.usage)]),
        ...block("Output", st.output),
        h("h3", { text: `Tool calls (${st.calls.length})` }),
        ...st.calls.map((c, j) => h("div", { class: `call${c.outcome === "ok" ? "" : " bad"}`, onclick: () => select(key("call", node.phase.name, node.phase.result.steps.indexOf(st), j)), text: callLabel(c) })),
        ...errors(st.errors),
      ];
    }
    const c = node.call;
    return [
      h("h3", {}, `${c.worker}.${c.tool} `, pill(c.outcome)),
      kv([["phase › step", `${node.phase.name} › ${node.step.step}`], ["started", clock(c.started_at)], ["took", duration(c.duration_ms / 1000)], ["attempts", c.attempts], ["policy", c.policy], ["note", c.note]]),
      ...block("Input: arguments", json(c.arguments)),
      ...block("Output", c.result !== null && c.result !== undefined ? json(c.result) : c.text),
      c.error ? h("div", { class: "error", text: `${c.error_kind || "error"}: ${c.error}` }) : null,
      ...c.retries.map((x) => h("div", { class: "error", text: `attempt ${x.attempt} failed: ${x.reason} (waited ${x.delay_seconds}s)` })),
    ];
  }

  // -- the page ----------------------------------------------------------------------------------------------
  function renderRuns() {
    const aside = $("runs");
    if (!live) return aside.classList.add("hidden");
    fill(
      aside,
      state.runs.length ? null : h("p", { class: "muted", style: "padding: 0 12px", text: "No runs yet: delegate a request (echelon ask ...)." }),
      ...state.runs.map((r) =>
        h(
          "a",
          { href: `#run=${encodeURIComponent(r.run_id)}`, class: r.run_id === state.runId ? "current" : "", "data-run": r.run_id },
          h("span", { class: "req", text: r.request }),
          h("span", { class: "sub" }, pill(r.status), ` ${when(r.started_at)} · ${r.phases_done}/${r.phases_total ?? "?"} phases · ${r.tokens.toLocaleString()} tokens`),
        ),
      ),
    );
  }
  function render() {
    const main = $("run");
    const view = state.view;
    if (!view) {
      fill(main, h("p", { class: "muted", text: state.runId ? `Loading run ${state.runId}…` : "Pick a run on the left." }));
      return;
    }
    const s = view.summary;
    if (!find(view, state.selected)) state.selected = defaultSelection(view);
    const going = s.status === "running" || s.status === "queued";
    const wall = s.wall_seconds !== null ? duration(s.wall_seconds) : going && s.started_at ? `${duration(now() - s.started_at)} so far` : "";
    const events = h(
      "div",
      { class: "events", id: "events" },
      view.events.length ? null : h("div", { class: "muted", text: "No progress recorded yet." }),
      view.events.slice(-300).map((e) => h("div", { title: e.message }, h("span", { class: "t", text: `+${duration(Math.max(0, e.time - origin(view))) || "0 s"}` }), e.message)),
    );
    const kept = $("details") ? $("details").scrollTop : 0;
    fill(
      main,
      h("h1", { text: s.request }),
      h(
        "div",
        { class: "facts" },
        h("span", { id: "run-status", "data-status": s.status }, pill(s.status)),
        h("span", { class: "mono", text: s.run_id }),
        h("span", { text: `started ${when(s.started_at)}` }),
        wall ? h("span", { text: wall }) : null,
        h("span", { text: `${s.phases_done}/${s.phases_total ?? "?"} phases` }),
        h("span", { text: `${s.llm_calls} model calls · ${s.tokens.toLocaleString()} tokens` }),
        s.resumed_from ? h("span", { text: `resumed from ${s.resumed_from}` }) : null,
      ),
      view.error ? h("div", { class: "error", text: `the run broke: ${view.error}` }) : null,
      h("h2", { text: "Plan" }),
      graph(view),
      h(
        "div",
        { class: "columns" },
        h("div", {}, h("h2", { text: "Timeline" }), timeline(view), h("h2", { text: "Progress" }), events),
        h("div", {}, h("h2", { text: "Details" }), h("div", { class: "panel", id: "details" }, details(view, find(view, state.selected)))),
      ),
      view.result ? h("div", {}, h("h2", { text: "Answer" }), h("div", { class: "answer", id: "answer", text: view.result.output || "(no answer)" })) : null,
    );
    events.scrollTop = events.scrollHeight;
    $("details").scrollTop = kept;
  }

  // -- live updates ------------------------------------------------------------------------------------------
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const run = params.get("run");
    if (run !== state.runId) {
      state.runId = run;
      state.view = null;
      state.viewJson = "";
      state.selected = null;
    }
    if (params.get("node")) state.selected = params.get("node");
  }
  function writeHash() {
    if (!live) return;
    const params = new URLSearchParams({ run: state.runId || "" });
    if (state.selected) params.set("node", state.selected);
    history.replaceState(null, "", `#${params}`);
  }
  function setLive(text, lost) {
    const el = $("live");
    el.textContent = text;
    el.classList.toggle("lost", Boolean(lost));
  }
  async function fetchJson(url) {
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${response.status}`);
    return body;
  }
  async function poll() {
    try {
      if (state.tick % 3 === 0 || !state.runs.length) {
        const text = JSON.stringify(await fetchJson("/api/runs?limit=50"));
        if (text !== state.runsJson) {
          state.runsJson = text;
          state.runs = JSON.parse(text);
          if (!state.runId && state.runs.length) {
            state.runId = state.runs[0].run_id;
            writeHash();
          }
          renderRuns();
        }
      }
      const going = !state.view || ["running", "queued"].includes(state.view.summary.status);
      if (state.runId && (going || state.tick % 5 === 0)) {
        const text = JSON.stringify(await fetchJson(`/api/runs/${encodeURIComponent(state.runId)}`));
        // Unchanged, a running run is redrawn every few seconds for its clocks only.
        if (text !== state.viewJson || (going && state.tick % 5 === 0)) {
          state.viewJson = text;
          state.view = JSON.parse(text);
          // The list shows this run as it is now, not as it was at the list's last refresh.
          const listed = state.runs.findIndex((r) => r.run_id === state.view.summary.run_id);
          if (listed >= 0) state.runs[listed] = state.view.summary;
          render();
          renderRuns();
        }
      }
      setLive(`● live · updated ${new Date().toLocaleTimeString()}`);
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    } catch (error) {
      setLive(`connection lost (${error.message}); retrying`, true);
      if (state.runId && !state.view) fill($("run"), h("p", { class: "error", text: String(error.message) }));
    }
    state.tick++;
    setTimeout(poll, 1000);
  }

  window.addEventListener("resize", () => render());
  if (live) {
    window.addEventListener("hashchange", () => {
      readHash();
      render();
      renderRuns();
      state.tick = 0;
    });
    readHash();
    render();
    poll();
  } else {
    state.view = embedded.view;
    state.runId = embedded.view.summary.run_id;
    setLive(`snapshot of run ${state.runId}, written ${when(embedded.exported_at)}`);
    renderRuns();
    render();
  }
})();
