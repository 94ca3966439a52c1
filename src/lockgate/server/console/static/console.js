// lockgate console: renders the admin API's JSON into pages. No inline script, no third-party
// code, no eval; every element is built with the DOM API and text goes in as textContent.
"use strict";

(function () {
  const ADMIN = new URL("../admin/", location.href);
  const COLOURS = ["#1f5fbf", "#d9480f", "#2f9e44", "#9c36b5", "#e8a600", "#0c8599", "#868e96", "#c2255c"];
  let csrf = "";
  let timer = null;

  // ---- DOM helpers ---------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }
  const main = () => document.getElementById("main");
  function show(...nodes) { main().replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false)); }
  function when(ts) { return ts ? new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "—"; }
  function num(n, d) { return n === null || n === undefined ? "—" : Number(n).toLocaleString("en", { maximumFractionDigits: d ?? 0 }); }
  function bytes(n) { return n >= 1e9 ? num(n / 1e9, 2) + " GB" : n >= 1e6 ? num(n / 1e6, 1) + " MB" : num(n) + " bytes"; }
  function money(n) { return num(n, 4); }
  function dash(v) { return v === null || v === undefined || v === "" ? "—" : v; }
  function badge(text, cls) { return h("span", { class: "badge " + cls }, text); }
  function table(head, rows, numeric) {
    const num = new Set(numeric || []);
    return h("table", {},
      h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { class: num.has(i) ? "num" : null, scope: "col" }, c)))),
      h("tbody", {}, rows.length ? rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: num.has(i) ? "num" : null }, c))))
        : h("tr", {}, h("td", { colspan: head.length, class: "muted" }, "None."))));
  }
  function errorBox(err) { return h("p", { class: "error", role: "alert" }, String(err.message || err)); }

  // ---- API ------------------------------------------------------------------------------
  async function api(path, opts) {
    const init = Object.assign({ credentials: "same-origin", headers: {} }, opts || {});
    if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = csrf;
    if (init.json !== undefined) { init.body = JSON.stringify(init.json); init.headers["Content-Type"] = "application/json"; }
    const resp = await fetch(new URL(path, ADMIN), init);
    if (resp.status === 401) { location.href = "signin"; throw new Error("signed out"); }
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error ? body.error.message : resp.statusText);
    return body;
  }
  const q = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined)).toString();

  // ---- charts ---------------------------------------------------------------------------
  function stackedBars(points, metric, title, bucketSeconds, since, until) {
    const first = Math.floor(since / bucketSeconds) * bucketSeconds;
    const times = [];
    for (let t = first; t < until; t += bucketSeconds) times.push(t);
    const groups = [...new Set(points.map((p) => p.group ?? "(none)"))].sort();
    const W = 640, H = 200, L = 48, B = 24, T = 10;
    const totals = times.map((t) => points.filter((p) => p.t === t).reduce((s, p) => s + p[metric], 0));
    const max = Math.max(1, ...totals);
    const bw = Math.max(1, Math.min(40, (W - L - 10) / Math.max(1, times.length) - 1));
    const chart = svg("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title },
      svg("title", {}, title),
      svg("line", { x1: L, y1: H - B, x2: W - 5, y2: H - B, stroke: "#999" }),
      svg("text", { x: L - 6, y: T + 8, "text-anchor": "end" }, num(max, 2)),
      svg("text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"));
    times.forEach((t, i) => {
      let y = H - B;
      const x = L + 4 + i * (bw + 1);
      groups.forEach((g, gi) => {
        const p = points.find((pp) => pp.t === t && (pp.group ?? "(none)") === g);
        if (!p || !p[metric]) return;
        const hgt = (p[metric] / max) * (H - B - T);
        y -= hgt;
        chart.append(svg("rect", { x, y, width: bw, height: Math.max(1, hgt), fill: COLOURS[gi % COLOURS.length] },
          svg("title", {}, `${g} · ${when(t)} · ${num(p[metric], 4)} ${metric}`)));
      });
    });
    chart.append(svg("text", { x: L + 4, y: H - 6 }, when(first).slice(5, 16)));
    chart.append(svg("text", { x: W - 5, y: H - 6, "text-anchor": "end" }, when(until).slice(5, 16)));
    const legend = h("div", { class: "legend" }, groups.map((g, gi) => h("span", { class: "c" + (gi % COLOURS.length) }, g)));
    return h("div", {}, chart, legend);
  }

  function seriesTotals(points) {
    const by = new Map();
    for (const p of points) {
      const g = p.group ?? "(none)";
      const e = by.get(g) || { requests: 0, tokens: 0, cost: 0 };
      e.requests += p.requests; e.tokens += p.tokens; e.cost += p.cost;
      by.set(g, e);
    }
    return [...by.entries()].sort((a, b) => b[1].requests - a[1].requests);
  }

  // ---- pages ----------------------------------------------------------------------------
  const pages = {};

  pages.overview = async function () {
    const hours = sessionStorage.getItem("hours") || "24";
    const metricSel = h("select", { id: "metric" }, ["requests", "tokens", "cost"].map((m) => h("option", { value: m }, m)));
    metricSel.value = sessionStorage.getItem("metric") || "requests";
    const hoursSel = h("select", { id: "hours" }, [["1", "last hour"], ["6", "6 hours"], ["24", "24 hours"], ["168", "7 days"]].map(([v, t]) => h("option", { value: v }, t)));
    hoursSel.value = hours;
    const rerender = () => { sessionStorage.setItem("hours", hoursSel.value); sessionStorage.setItem("metric", metricSel.value); route(); };
    hoursSel.addEventListener("change", rerender); metricSel.addEventListener("change", rerender);
    const d = await api("overview?" + q({ hours: hoursSel.value }));
    const share = d.totals.requests ? (100 * d.totals.personal / d.totals.requests).toFixed(1) + " %" : "—";
    const names = { jurisdiction: "By jurisdiction", provider: "By provider", route_reason: "By route reason" };
    show(
      h("h1", {}, "Overview"),
      d.audit_enabled ? null : h("p", { class: "error" }, d.note),
      h("div", { class: "controls" }, h("label", {}, "Window", hoursSel), h("label", {}, "Chart", metricSel),
        h("span", { class: "small muted" }, `From the audit log, ${d.bucket_seconds / 60}-minute buckets, refreshed every 10 s. Updated ${when(Date.now() / 1000)}.`)),
      h("div", { class: "tiles" },
        h("div", { class: "tile", id: "tile-requests" }, h("div", { class: "value" }, num(d.totals.requests)), h("div", { class: "label" }, "requests")),
        h("div", { class: "tile", id: "tile-personal" }, h("div", { class: "value" }, share), h("div", { class: "label" }, `carried personal data (${num(d.totals.personal)})`)),
        h("div", { class: "tile", id: "tile-refused" }, h("div", { class: "value" }, num(d.totals.refused)), h("div", { class: "label" }, "policy refusals (403)"))),
      h("div", { class: "grid2" }, Object.entries(names).map(([key, title]) => h("section", { class: "card", id: "series-" + key },
        h("h2", {}, title),
        stackedBars(d.series[key], metricSel.value, `${title}: ${metricSel.value} over time`, d.bucket_seconds, d.since, d.since + d.hours * 3600),
        table([key.replace("_", " "), "requests", "tokens", "cost"],
          seriesTotals(d.series[key]).map(([g, e]) => [g, num(e.requests), num(e.tokens), money(e.cost)]), [1, 2, 3])))),
      h("div", { class: "grid2" },
        h("section", { class: "card", id: "personal" }, h("h2", {}, "Personal data: where it went"),
          table(["jurisdiction", "requests", "with personal data", "share"],
            d.personal_data.map((r) => [dash(r.jurisdiction), num(r.requests), num(r.personal), r.requests ? (100 * r.personal / r.requests).toFixed(1) + " %" : "—"]), [1, 2, 3])),
        h("section", { class: "card", id: "refusals" }, h("h2", {}, "Policy refusals"),
          table(["reason", "model", "requests"], d.refusals.map((r) => [dash(r.error_type), dash(r.model), num(r.requests)]), [2]))));
    timer = setTimeout(route, 10000);
  };

  pages.routing = async function () {
    const opts = await api("routing");
    const who = h("select", { id: "explain-who" },
      h("optgroup", { label: "Keys" }, opts.keys.map((k) => h("option", { value: "key:" + k.id }, `${k.name} (${k.id})${k.team ? " · team " + k.team : ""}`))),
      h("optgroup", { label: "Teams" }, opts.teams.map((t) => h("option", { value: "team:" + t }, "team " + t))));
    const alias = h("select", { id: "alias" }, opts.aliases.map((a) => h("option", { value: a }, a)));
    const saved = JSON.parse(sessionStorage.getItem("explain") || "null");
    if (saved) { who.value = saved.who; alias.value = saved.alias; }
    const out = h("div", { id: "explain" });
    async function run(ev) {
      if (ev) ev.preventDefault();
      sessionStorage.setItem("explain", JSON.stringify({ who: who.value, alias: alias.value }));
      const [kind, id] = [who.value.slice(0, who.value.indexOf(":")), who.value.slice(who.value.indexOf(":") + 1)];
      try {
        const d = await api("explain?" + q({ alias: alias.value, key_id: kind === "key" ? id : "", team: kind === "team" ? id : "" }));
        out.replaceChildren(...renderExplain(d));
      } catch (err) { out.replaceChildren(errorBox(err)); }
    }
    show(h("h1", {}, "Routing explorer"),
      h("p", { class: "muted" }, "The same reasoning as the gateway's 403 message: the policies a key carries (its own or the default, its team's), every deployment's facts with their sources, and the exact rule that excludes it. Cuts in force: ", opts.cuts.length ? opts.cuts.join(", ") : "none", "."),
      h("form", { class: "inline", on: { submit: run } }, h("label", {}, "Key or team", who), h("label", {}, "Model alias", alias), h("button", { type: "submit", id: "explain-run" }, "Explain")),
      out);
    if (opts.aliases.length && (opts.keys.length || opts.teams.length)) await run();
  };

  function verdictTable(verdicts, deps) {
    const byName = new Map(deps.map((d) => [d.deployment, d]));
    return table(["deployment", "jurisdiction", "self-hosted", "verdict", "excluded by (policy · rule · detail)"],
      verdicts.map((v) => {
        const d = byName.get(v.deployment);
        return [h("code", {}, v.deployment), d.jurisdiction, d.self_hosted ? "yes" : "no",
          v.allowed ? badge("allowed", "allowed") : badge("excluded", "excluded"),
          v.excluded_by.length ? h("ul", {}, v.excluded_by.map((e) => h("li", {}, h("b", {}, e.policy), " · ", h("code", {}, e.rule), " · ", e.detail))) : "—"];
      }));
  }

  function renderExplain(d) {
    const out = [];
    if (d.key_refusal) out.push(h("p", { class: "error" }, "Refused before routing: " + d.key_refusal));
    out.push(h("p", {}, `${d.principal.name} → ${d.alias}: policies `, h("b", {}, d.policies.length ? d.policies.join(" + ") : "(none)"),
      ` · allowed: ${d.verdicts.filter((v) => v.allowed).length} of ${d.verdicts.length} deployments`));
    out.push(verdictTable(d.verdicts, d.deployments));
    if (d.personal_data) {
      out.push(h("h2", {}, `With personal data (pii action: ${d.pii_action}): policies ${d.personal_data.policies.join(" + ")}`));
      out.push(verdictTable(d.personal_data.verdicts, d.deployments));
    }
    out.push(h("h2", {}, "Facts and sources"));
    for (const dep of d.deployments) {
      out.push(h("details", { class: "facts" }, h("summary", {}, `${dep.deployment} · ${dep.jurisdiction}${dep.catalogue ? " · catalogue " + dep.catalogue : ""}${dep.self_hosted_copy_of ? " · self-hosted copy of " + dep.self_hosted_copy_of : ""}`),
        table(["fact", "value", "source", "verified"], Object.entries(dep.facts).map(([name, f]) => [name,
          f.unknown ? h("span", { class: "error" }, "unknown") : (Array.isArray(f.value) ? (f.value.length ? f.value.join(", ") : "none") : String(f.value)),
          f.source ? h("span", { class: "mono" }, f.source) : "—", f.verified === undefined || f.verified === null ? "—" : (f.verified ? "yes" : "no")])),
        h("p", { class: "small" }, "Effective foreign-access laws: " + (dep.effective_laws.length ? dep.effective_laws.join(", ") : "none"))));
    }
    return out;
  }

  pages.killswitch = async function () {
    const [cuts, deps, routing] = await Promise.all([api("cuts"), api("deployments"), api("routing")]);
    const confirmBox = h("div", { id: "confirm" });
    async function preview(target, action, reason) {
      try {
        const p = await api("cut-plan?" + q({ target, action }));
        const verb = action === "cut" ? "Cut" : "Restore";
        const lines = p.aliases.length ? p.aliases.map((a) => h("li", {}, h("b", {}, a.alias), ": ",
          a.moves.map((m) => `${m.deployment} (${m.jurisdiction})`).join(", "), action === "cut" ? " stops; " : " comes back; ",
          a.serving_after.length ? "serving after: " + a.serving_after.join(", ") : h("span", { class: "error" }, "nothing serves (dark)")))
          : [h("li", {}, "No configured deployment moves.")];
        confirmBox.replaceChildren(h("div", { class: "confirm" + (action === "restore" ? " restore" : "") },
          h("p", {}, h("b", {}, `${verb} ${p.target}?`), " This takes effect on the next request."),
          h("ul", { id: "moves" }, lines),
          p.dark_after.length ? h("p", { class: "error" }, "Goes dark: " + p.dark_after.join(", ")) : null,
          h("button", { type: "button", id: "confirm-yes", class: action === "cut" ? "danger" : "", on: { click: async () => {
            try {
              if (action === "cut") await api("cuts", { method: "POST", json: { target: p.target, reason: reason || null } });
              else await api("cuts/" + encodeURIComponent(p.target), { method: "DELETE" });
              route();
            } catch (err) { confirmBox.append(errorBox(err)); }
          } } }, `Yes, ${verb.toLowerCase()} ${p.target}`), " ",
          h("button", { type: "button", class: "secondary", on: { click: () => confirmBox.replaceChildren() } }, "Cancel")));
      } catch (err) { confirmBox.replaceChildren(errorBox(err)); }
    }
    const target = h("input", { id: "cut-target", placeholder: "provider, country (CN) or law (CLOUD-Act)", size: 36, required: true });
    const reason = h("input", { id: "cut-reason", placeholder: "reason (recorded)", size: 30 });
    const drillCuts = h("input", { id: "drill-cuts", placeholder: "e.g. CN, US", size: 24 });
    const withCurrent = h("input", { type: "checkbox", id: "drill-current", checked: true });
    const drillOut = h("div", { id: "drill" });
    async function drill(ev) {
      if (ev) ev.preventDefault();
      const params = new URLSearchParams();
      drillCuts.value.split(",").map((s) => s.trim()).filter(Boolean).forEach((c) => params.append("cut", c));
      if (withCurrent.checked) params.append("with", "current");
      try { drillOut.replaceChildren(...renderDrill(await api("drill?" + params))); } catch (err) { drillOut.replaceChildren(errorBox(err)); }
    }
    show(h("h1", {}, "Kill switch and drill"),
      h("section", { class: "card" }, h("h2", {}, "Cuts in force"),
        table(["target", "reason", "since", ""], cuts.data.map((c) => [h("b", {}, c.target), dash(c.reason), when(c.created_at),
          h("button", { type: "button", class: "secondary", "data-restore": c.target, on: { click: () => preview(c.target, "restore") } }, "Restore…")])),
        h("form", { class: "inline", on: { submit: (ev) => { ev.preventDefault(); preview(target.value.trim(), "cut", reason.value.trim()); } } },
          h("label", {}, "Cut", target), h("label", {}, "Reason", reason), h("button", { type: "submit", id: "cut-preview" }, "Cut…")),
        confirmBox),
      h("section", { class: "card" }, h("h2", {}, "Deployments now"),
        table(["alias", "deployment", "jurisdiction", "breaker", "in flight", "latency (EWMA ms)", "cut by"],
          deps.data.map((d) => [d.alias, h("code", {}, d.deployment), d.jurisdiction, d.breaker, num(d.inflight), num(d.ewma_latency_ms, 1),
            d.cut ? badge(d.cut, "s-dark") : "—"]), [4, 5])),
      h("section", { class: "card" }, h("h2", {}, "Drill: what survives a cut"),
        h("form", { class: "inline", on: { submit: drill } }, h("label", {}, "Simulated cuts", drillCuts),
          h("label", {}, "With cuts in force", withCurrent), h("button", { type: "submit", id: "drill-run" }, "Run drill")),
        h("p", { class: "small muted" }, "ok: unaffected · degraded: lost deployments to the cuts, or the survivors cannot carry the load that moves · insured: only self-hosted copies serve · dark: nothing serves. Capacity: p95-minute generated tokens/min on each surviving provider after the cut, against its measured (or declared) capacity. Policies known: " + routing.policies.join(", ")),
        drillOut));
    await drill();
  };

  const CAP_CLASS = { covered: "s-ok", short: "s-dark", unknown: "s-degraded" };
  // one cell's capacity: the survivors' load after the cut against their capacity (tokens/min)
  function capacityLine(c) {
    if (!c || c.verdict === "unaffected" || c.verdict === "dark") return null;
    const label = c.verdict === "short" ? `short ×${c.shortfall_factor}` : c.verdict;
    return h("div", { class: "small", "data-capacity": c.verdict }, badge(label, CAP_CLASS[c.verdict]),
      ` moves ${num(c.moved_p95_tokens_per_minute)}/min · `,
      c.survivors.map((s) => `${s.provider} ${num(s.load_after_tokens_per_minute)}/${s.capacity_tokens_per_minute === null ? "?" : num(s.capacity_tokens_per_minute)}` +
        (s.capacity_source ? ` ${s.capacity_source}` : "")).join(", "),
      c.survivors.some((s) => s.capacity_note) ? h("div", { class: "muted" }, [...new Set(c.survivors.map((s) => s.capacity_note).filter(Boolean))].join("; ")) : null);
  }
  // the worst capacity verdict of an alias over the evaluated policies
  function capacitySummary(caps) {
    const present = caps.filter(Boolean);
    if (!present.length) return h("span", { class: "muted" }, "no load data (no store)");
    const short = present.filter((c) => c.verdict === "short");
    if (short.length) return badge(`short ×${Math.max(...short.map((c) => c.shortfall_factor))}`, "s-dark");
    if (present.some((c) => c.verdict === "unknown")) return badge("unknown", "s-degraded");
    if (present.some((c) => c.verdict === "covered")) return badge("covered", "s-ok");
    return h("span", { class: "muted" }, "no load moves");
  }

  function renderDrill(d) {
    const policies = d.policies;
    const aliases = [...new Set(d.aliases.map((a) => a.alias))];
    const cell = (a, p) => d.aliases.find((v) => v.alias === a && v.policy === p);
    const head = h("tr", {}, h("th", {}, "alias"), policies.map((p) => h("th", {}, p)), h("th", {}, "capacity"));
    const rows = aliases.map((a) => h("tr", {}, h("th", { scope: "row" }, a, cell(a, policies[0])?.protected ? " (protected)" : ""),
      policies.map((p) => {
        const v = cell(a, p);
        const why = v.lost.map((e) => `${e.deployment}: ${e.detail}`).concat(v.excluded.map((e) => `${e.deployment}: ${e.rule}`));
        return h("td", { "data-status": v.status, title: why.join("\n") }, badge(v.status, "s-" + v.status),
          h("div", { class: "small" }, v.serving.length ? v.serving.join(", ") : "nothing serves"), capacityLine(v.capacity));
      }),
      h("td", { class: "capacity" }, capacitySummary(policies.map((p) => cell(a, p)?.capacity)))));
    return [h("p", {}, "Cuts: ", h("b", {}, d.cuts.length ? d.cuts.join(", ") : "none"), " · ",
      d.ok ? badge("no protected alias goes dark", "s-ok") : badge("dark protected: " + d.dark_protected.join(", "), "s-dark")),
      h("table", { class: "matrix" }, h("thead", {}, head), h("tbody", {}, rows))];
  }

  pages.audit = async function () {
    const [status, events] = await Promise.all([api("audit/status"), api("events?limit=50")]);
    const verifyOut = h("div", { id: "verify" });
    async function verifyNow() {
      const bar = h("progress", { max: 1, value: 0, id: "verify-progress" });
      const label = h("span", { class: "small" }, " starting…");
      verifyOut.replaceChildren(bar, label);
      // the progress streams back on this one connection (JSON lines), so it works whichever
      // worker or instance runs the job
      const resp = await fetch(new URL("audit/verify-stream", ADMIN), { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
      if (resp.status === 401) { location.href = "signin"; throw new Error("signed out"); }
      if (!resp.ok) { const body = await resp.json(); throw new Error(body.error ? body.error.message : resp.statusText); }
      const reader = resp.body.getReader(), decoder = new TextDecoder();
      let job = null, buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        const lines = buffered.split("\n");
        buffered = lines.pop();
        for (const line of lines.filter(Boolean)) {
          job = JSON.parse(line);
          bar.max = Math.max(1, job.records); bar.value = Math.min(job.records_done, bar.max);
          label.textContent = ` ${num(job.records_done)} of ${num(job.records)} records, ${job.chains_done} of ${job.chains_total} chains`;
        }
      }
      if (!job || job.state === "running") throw new Error("The verification stream ended early; try again.");
      bar.max = Math.max(1, job.records); bar.value = bar.max;
      verifyOut.replaceChildren(bar, h("p", { id: "verify-result" }, job.ok ? badge("chain intact", "s-ok") : badge(job.error || "problems found", "s-dark"),
        ` ${job.chains_done} chain(s), ${num(job.records_done)} records walked, ${((job.finished_at - job.started_at) * 1000).toFixed(0)} ms`),
        table(["chain", "records", "last seq", "signed up to", "unsealed", "first problem"], job.results.map((c) => [c.chain_id, num(c.records), dash(c.last_seq), num(c.last_signed_seq), num(c.unsealed),
          c.first_problem ? `seq ${c.first_problem.seq}: ${c.first_problem.kind}: ${c.first_problem.detail}` : "none"])));
    }
    const f = {};
    const filters = ["model", "provider", "jurisdiction", "status", "key_id", "team"].map((n) => { f[n] = h("input", { name: n, size: 10, id: "f-" + n }); return h("label", {}, n, f[n]); });
    const list = h("div", { id: "requests" });
    let before = null;
    async function load(reset) {
      if (reset) { before = null; list.replaceChildren(); }
      const params = { limit: 50, before };
      for (const [n, el] of Object.entries(f)) params[n] = el.value.trim();
      try {
        const page = await api("requests?" + q(params));
        list.append(table(["time", "request", "key", "model", "deployment", "jurisdiction", "policy", "route", "personal data", "tokens", "cost", "status"],
          page.data.map((r) => [when(r.started_at), h("code", {}, r.request_id), dash(r.key_name), dash(r.model_alias), dash(r.deployment), dash(r.jurisdiction), dash(r.policy), dash(r.route_reason),
            r.pii_findings && r.pii_findings !== "{}" ? r.pii_findings : "—", num(r.prompt_tokens + r.completion_tokens), money(r.cost), r.status >= 400 ? badge(`${r.status} ${r.error_type || ""}`, "s-dark") : r.status]), [9, 10]));
        before = page.next_before;
        more.hidden = !before;
      } catch (err) { list.append(errorBox(err)); }
    }
    const more = h("button", { type: "button", class: "secondary", hidden: true, on: { click: () => load(false) } }, "Older…");
    const today = new Date().toISOString().slice(0, 10);
    const from = h("input", { type: "date", id: "export-from", value: today });
    const to = h("input", { type: "date", id: "export-to", value: today });
    const fmt = h("select", { id: "export-format" }, h("option", { value: "jsonl" }, "JSON Lines"), h("option", { value: "csv" }, "CSV"));
    const exportLink = h("a", { id: "export-link" }, "Download export");
    const setLink = () => {
      const start = Date.parse(from.value + "T00:00:00Z") / 1000, end = Date.parse(to.value + "T00:00:00Z") / 1000 + 86400;
      exportLink.href = new URL("audit/export?" + q({ from: start, to: end, format: fmt.value }), ADMIN).href;
    };
    [from, to, fmt].forEach((el) => el.addEventListener("change", setLink)); setLink();
    show(h("h1", {}, "Audit"),
      status.audit_enabled ? null : h("p", { class: "error" }, status.note),
      h("section", { class: "card" }, h("h2", {}, "Chain status"),
        table(["chain", "records", "head seq", "head hash", "last checkpoint", "signed", "kind", "signing key", "signature"],
          status.chains.map((c) => [c.chain_id, num(c.records), c.head ? c.head.seq : "—", c.head ? h("code", {}, c.head.record_hash.slice(0, 16) + "…") : "—",
            c.last_checkpoint ? "seq " + c.last_checkpoint.seq : "none yet", c.last_checkpoint ? when(c.last_checkpoint.signed_at) : "—",
            c.last_checkpoint ? c.last_checkpoint.kind : "—", c.last_checkpoint ? h("code", {}, c.last_checkpoint.key_id) : "—",
            c.last_checkpoint ? h("code", {}, c.last_checkpoint.signature.slice(0, 24) + "…") : "—"]), [1]),
        h("button", { type: "button", id: "verify-now", on: { click: () => verifyNow().catch((e) => verifyOut.replaceChildren(errorBox(e))) } }, "Verify now"), verifyOut),
      h("section", { class: "card" }, h("h2", {}, "Requests"), h("p", { class: "small muted" }, "Metadata only; request and response bodies are never shown here."),
        h("form", { class: "inline", on: { submit: (ev) => { ev.preventDefault(); load(true); } } }, filters, h("button", { type: "submit", id: "filter" }, "Filter")), list, more),
      h("section", { class: "card" }, h("h2", {}, "Export"), h("div", { class: "controls" }, h("label", {}, "From (UTC)", from), h("label", {}, "To (UTC, inclusive)", to), h("label", {}, "Format", fmt), exportLink),
        h("p", { class: "small muted" }, "Exports carry the chain columns and hashes, no bodies; each export is recorded as an admin event.")),
      h("section", { class: "card" }, h("h2", {}, "Admin events"),
        table(["when", "key", "via", "action", "target", "detail"], events.data.map((e) => [when(e.at), `${dash(e.key_name)} (${e.key_id})`, e.via, e.action, dash(e.target), e.detail ? JSON.stringify(e.detail) : "—"]))));
    await load(true);
  };

  pages.usage = async function () {
    const by = h("select", { id: "usage-by" }, ["key", "team", "model", "provider", "jurisdiction"].map((b) => h("option", { value: b }, b)));
    const period = h("select", { id: "usage-period" }, ["day", "month"].map((p) => h("option", { value: p }, p)));
    by.value = sessionStorage.getItem("usage-by") || "key"; period.value = sessionStorage.getItem("usage-period") || "day";
    const rerender = () => { sessionStorage.setItem("usage-by", by.value); sessionStorage.setItem("usage-period", period.value); route(); };
    by.addEventListener("change", rerender); period.addEventListener("change", rerender);
    const [u, b, keys] = await Promise.all([api("usage?" + q({ by: by.value, period: period.value })), api("budgets"), api("keys")]);
    const names = new Map(keys.data.map((k) => [k.id, k.name]));
    const bar = (spent, limit) => limit === null || limit === undefined ? h("span", { class: "muted" }, money(spent) + " (no budget)")
      : h("span", {}, h("meter", { min: 0, max: limit, low: limit * 0.8, high: limit * 0.95, optimum: 0, value: Math.min(spent, limit) }), ` ${money(spent)} of ${money(limit)} (${(100 * spent / (limit || 1)).toFixed(0)} %)`);
    show(h("h1", {}, "Usage and budgets"),
      u.audit_enabled ? null : h("p", { class: "error" }, u.note),
      h("section", { class: "card" }, h("h2", {}, "Budgets and limits"),
        h("p", { class: "small muted" }, `Spend recorded in the audit log since ${when(b.day_start)} (day) and ${when(b.month_start)} (month). The limiter enforces these on the request path.`),
        table(["scope", "name", "team", "spend today", "spend this month", "requests/min", "tokens/min"],
          b.budgets.map((r) => [r.scope, r.name, dash(r.team), bar(r.spend_day, r.limit?.spend_per_day), bar(r.spend_month, r.limit?.spend_per_month),
            dash(r.limit?.requests_per_minute), dash(r.limit?.tokens_per_minute)]))),
      h("section", { class: "card" }, h("h2", {}, "Usage"), h("div", { class: "controls" }, h("label", {}, "By", by), h("label", {}, "Period", period)),
        table(["period", by.value, "currency", "requests", "prompt tokens", "completion tokens", "cost", "errors"],
          u.data.map((r) => [r.period, by.value === "key" && r.group ? `${names.get(r.group) || "?"} (${r.group})` : dash(r.group), dash(r.currency), num(r.requests), num(r.prompt_tokens), num(r.completion_tokens), money(r.cost), num(r.errors)]), [3, 4, 5, 6, 7])));
  };

  pages.models = async function () {
    const d = await api("models");
    const sev = (s) => badge(s || "info", "sev-" + String(s || "info").toLowerCase());
    show(h("h1", {}, "Models"),
      h("p", {}, `Registry enforcement: ${d.enforced ? "on (engines start only on registered, checked artifacts)" : "off"}. `,
        h("a", { href: new URL("models/bom", ADMIN).href, id: "bom-link", download: "lockgate-ml-bom.cdx.json" }, "Download the ML-BOM (CycloneDX JSON)")),
      d.data.length ? null : h("p", { class: "muted" }, "No artifact is registered. Register one with lockgate models add PATH."),
      table(["artifact", "format", "size", "scan", "licence", "signature", "blocking", "not acknowledged"],
        d.data.map((a) => [h("span", {}, h("b", {}, a.name), h("br"), h("code", {}, a.id)), a.format, bytes(a.total_size), badge(a.scan_status, a.scan_status === "clean" ? "s-ok" : "s-degraded"),
          a.licence.spdx, a.signature_status, a.blocking.length ? a.blocking.join(", ") : "none", a.unacknowledged.length ? h("span", { class: "error" }, a.unacknowledged.join(", ")) : "none"])),
      d.data.map((a) => h("section", { class: "card model" }, h("h2", {}, a.name),
        h("p", { class: "small" }, `${dash(a.architecture)} · ${a.parameter_count ? num(a.parameter_count) + " parameters" : "parameter count unknown"} · ${dash(a.quantization)} · publisher ${dash(a.publisher)} (${dash(a.publisher_country)}) · checkpoint ${dash(a.checkpoint)} · registered ${when(a.registered_at)}`),
        h("h3", {}, "Pinned files"), table(["file", "sha256", "bytes"], a.files.map((f) => [f.relpath, h("code", {}, f.sha256), num(f.size)]), [2]),
        h("h3", {}, "Scan findings"), table(["severity", "rule", "location", "message", "blocking"], a.scan_findings.map((f) => [sev(f.severity), h("code", {}, dash(f.rule)), h("code", {}, dash(f.location)), dash(f.message), f.blocking ? "yes" : "no"])),
        h("h3", {}, `Licence: ${a.licence.spdx}${a.licence.name ? " · " + a.licence.name : ""}`),
        table(["rule", "blocking", "message", "resolution"], a.licence_findings.map((f) => [h("code", {}, f.rule), f.blocking ? badge("blocks", "s-dark") : "duty", f.message, f.resolution])),
        h("h3", {}, "Acknowledgements"), table(["rule", "by", "reason", "when"], a.acknowledgements.map((k) => [h("code", {}, k.rule), k.by, k.reason, when(k.at)])),
        a.unacknowledged.length ? ext.ackForm(a) : null)));
  };

  // ---- shared with console-actions.js (evaluations, keys, acknowledgements) -------------
  const ext = { pages, h, api, q, show, table, badge, errorBox, when, num, dash, ADMIN, route: () => route() };
  window.LockgateConsole = ext;

  // ---- routing & start ------------------------------------------------------------------
  async function route() {
    clearTimeout(timer);
    const page = (location.hash || "#overview").slice(1);
    document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
    const render = pages[page] || pages.overview;
    try { await render(); } catch (err) { if (String(err.message) !== "signed out") show(h("h1", {}, "Error"), errorBox(err)); }
    main().setAttribute("data-loaded", page);
  }

  async function start() {
    const resp = await fetch("session", { credentials: "same-origin" });
    if (!resp.ok) { location.href = "signin"; return; }
    const s = await resp.json();
    csrf = s.csrf;
    document.getElementById("who").textContent = `${s.key_name} (${s.key_id})`;
    document.getElementById("signout").addEventListener("click", async () => {
      await fetch("signout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
      location.href = "signin";
    });
    window.addEventListener("hashchange", route);
    await route();
  }
  document.addEventListener("DOMContentLoaded", start);
})();
