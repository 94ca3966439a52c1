// lockgate console: evaluation runs, keys and model acknowledgements. Loaded after console.js,
// whose helpers it uses (window.LockgateConsole); same rules: no inline script, no eval, text
// goes in as textContent, every change sends the CSRF token (api() adds it).
"use strict";

(function () {
  const c = window.LockgateConsole;
  const { h, api, q, show, table, badge, errorBox, when, num, dash } = c;
  const fixed = (v, d) => (v === null || v === undefined ? "—" : Number(v).toFixed(d ?? 2));
  const signed = (v) => (v === null || v === undefined ? "—" : (v > 0 ? "+" : "") + Number(v).toFixed(3));

  function confirmBox(box, cls, question, detail, yesId, yesText, action) {
    box.replaceChildren(h("div", { class: "confirm" + (cls ? " " + cls : "") },
      h("p", {}, h("b", {}, question)), detail,
      h("button", { type: "button", id: yesId, class: cls ? "" : "danger", on: { click: async (ev) => {
        ev.target.disabled = true;
        try { await action(); } catch (err) { box.append(errorBox(err)); ev.target.disabled = false; }
      } } }, yesText), " ",
      h("button", { type: "button", class: "secondary", on: { click: () => box.replaceChildren() } }, "Cancel")));
  }

  // ---- evaluations ----------------------------------------------------------------------
  function scoreCell(run) {
    if (run.error) return h("span", { class: "error" }, run.error);
    if (!run.scores.length) return h("span", { class: "muted" }, run.finished_at ? "no results" : "running or interrupted");
    return h("ul", { class: "scores" }, run.scores.map((s) => h("li", {}, h("code", {}, s.model), " ",
      h("b", {}, fixed(s.mean)), ` [${fixed(s.ci_low)}, ${fixed(s.ci_high)}] · ${num(s.graded)} graded`,
      s.failures ? h("span", { class: "error" }, ` · ${num(s.failures)} failed`) : null)));
  }

  function reportLink(run) {
    if (!run.report) return h("span", { class: "muted" }, "no report");
    return h("a", { href: new URL("evals/" + encodeURIComponent(run.id) + "/report", c.ADMIN).href,
      target: "_blank", rel: "noopener", class: "report-link", "data-run": run.id }, "Open report");
  }

  function renderCompare(d) {
    const out = [h("p", {}, "Run A ", h("code", {}, d.run_a), " → run B ", h("code", {}, d.run_b))];
    if (!d.changes.length) out.push(h("p", { class: "muted" }, "The two runs share no model."));
    for (const ch of d.changes) {
      out.push(h("h3", {}, "Model ", h("code", {}, ch.model)));
      out.push(table(["scope", "score A", "score B", "Δ score", "Δ refusal rate"],
        ch.deltas.map((x) => [x.scope, fixed(x.score_a, 3), fixed(x.score_b, 3),
          h("span", { class: x.score_delta < 0 ? "error" : null }, signed(x.score_delta)), signed(x.refusal_delta)]), [1, 2, 3, 4]));
      const flips = table(["item", "in A", "in B"], ch.flips.map((f) => [h("code", {}, f.item_id), f.before, f.after]));
      flips.querySelectorAll("tbody tr").forEach((tr, i) => { if (ch.flips[i]) tr.setAttribute("data-flip", ch.flips[i].item_id); });
      out.push(h("p", { class: "small" }, `Flipped items: ${ch.flips.length} (pass mark 0.5, or refused in one run only)`), flips);
    }
    if (d.only_a.length) out.push(h("p", { class: "small" }, "Only in A: " + d.only_a.join(", ")));
    if (d.only_b.length) out.push(h("p", { class: "small" }, "Only in B: " + d.only_b.join(", ")));
    return out;
  }

  c.pages.evals = async function () {
    const d = await api("evals");
    const runs = d.data.filter((r) => !r.error && r.scores.length);
    const pick = (id, n) => {
      const sel = h("select", { id }, runs.map((r) => h("option", { value: r.id }, `${r.id} · ${dash(r.suite_name)}`)));
      if (runs[n]) sel.value = runs[n].id;
      return sel;
    };
    const a = pick("compare-a", 1), b = pick("compare-b", 0);
    const out = h("div", { id: "compare" });
    async function compare(ev) {
      ev.preventDefault();
      try { out.replaceChildren(...renderCompare(await api("evals/compare?" + q({ a: a.value, b: b.value })))); }
      catch (err) { out.replaceChildren(errorBox(err)); }
    }
    show(h("h1", {}, "Evaluations"),
      h("p", { class: "muted" }, "Runs of ", h("code", {}, "lockgate eval run"), " found in ", h("code", {}, d.runs_dir),
        " (setting ", h("code", {}, "eval.runs_dir"), "), newest first. Each report is the run's own HTML file, served with a policy that lets it run no script."),
      d.exists ? null : h("p", { class: "error" }, "The runs directory does not exist yet: no run has been written there."),
      d.truncated ? h("p", { class: "error" }, "Only the newest runs are listed.") : null,
      h("section", { class: "card" }, h("h2", {}, "Runs"),
        h("div", { id: "evals" }, table(["run", "suite", "models: mean score [95% CI]", "items", "started", "finished", "report"],
          d.data.map((r) => [h("code", {}, r.id), r.suite_name ? h("span", {}, r.suite_name, h("br"), h("span", { class: "small muted" }, dash(r.suite))) : "—",
            scoreCell(r), num(r.items), dash(r.started_at), r.complete ? dash(r.finished_at) : badge(r.finished_at ? "incomplete" : "not finished", "s-degraded"),
            reportLink(r)]), [3]))),
      h("section", { class: "card" }, h("h2", {}, "Compare two runs"),
        runs.length < 2 ? h("p", { class: "muted" }, "Two runs with results are needed.") :
          h("form", { class: "inline", on: { submit: compare } }, h("label", {}, "Run A (before)", a), h("label", {}, "Run B (after)", b),
            h("button", { type: "submit", id: "compare-run" }, "Compare")),
        out));
  };

  // ---- keys -----------------------------------------------------------------------------
  c.pages.keys = async function () {
    const [keys, session] = await Promise.all([api("keys"), fetch("session", { credentials: "same-origin" }).then((r) => r.json())]);
    const box = h("div", { id: "revoke-confirm" });
    function ask(k) {
      const own = k.id === session.key_id;
      confirmBox(box, "", `Revoke key ${k.name} (${k.id})?`,
        h("p", {}, "Requests with this key are refused from the next request on; this cannot be undone.",
          own ? h("b", { class: "error" }, " This is the key you are signed in with: your console session ends too.") : null),
        "revoke-yes", `Yes, revoke ${k.name}`, async () => {
          await api("keys/" + encodeURIComponent(k.id), { method: "DELETE" });
          c.route();
        });
    }
    show(h("h1", {}, "Keys"),
      h("p", { class: "muted" }, "Active API keys. Create keys with ", h("code", {}, "lockgate keys create NAME"), " or POST /admin/keys; revoking one here is recorded as an admin event naming your key."),
      h("section", { class: "card" }, table(["name", "id", "team", "admin", "policy", "personal-data policy", "models", "created", ""],
        keys.data.map((k) => [h("b", {}, k.name), h("code", {}, k.id), dash(k.team), k.is_admin ? badge("admin", "s-insured") : "no",
          dash(k.policy), dash(k.pii_policy), k.allowed_models ? k.allowed_models.join(", ") : "all", when(k.created_at),
          h("button", { type: "button", class: "secondary", "data-revoke": k.id, on: { click: () => ask(k) } }, "Revoke…")])), box));
  };

  // ---- acknowledgements (on the Models page) --------------------------------------------
  c.ackForm = function (art) {
    const rule = h("select", { class: "ack-rule", name: "rule" }, art.unacknowledged.map((r) => h("option", { value: r }, r)));
    const reason = h("input", { class: "ack-reason", name: "reason", size: 40, required: true, placeholder: "why this is acceptable (recorded)" });
    const by = h("input", { class: "ack-by", name: "by", size: 20, placeholder: "by (default: your key)" });
    const box = h("div", { class: "ack-confirm" });
    function ask(ev) {
      ev.preventDefault();
      const body = { rule: rule.value, reason: reason.value.trim(), by: by.value.trim() || null };
      confirmBox(box, "restore", `Acknowledge ${body.rule} for ${art.name}?`,
        h("p", {}, `Recorded with the reason "${body.reason}" and kept with the artifact; the registry gate then lets it serve if nothing else blocks it.`),
        "ack-yes", "Yes, record the acknowledgement", async () => {
          await api("models/" + encodeURIComponent(art.id) + "/acks", { method: "POST", json: body });
          c.route();
        });
    }
    return h("div", {}, h("h3", {}, "Acknowledge a blocking rule"),
      h("form", { class: "inline", "data-ack": art.id, on: { submit: ask } }, h("label", {}, "Rule", rule), h("label", {}, "Reason", reason),
        h("label", {}, "By", by), h("button", { type: "submit", class: "ack-submit" }, "Acknowledge…")), box);
  };
})();
