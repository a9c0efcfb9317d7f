/* harness view: a small single-page front end over the JSON endpoints (no build step, no library).
   Text from the store is always inserted as text; only HTML rendered by the server (markdown with raw
   HTML disabled) is inserted as HTML. In a bundle (window.BUNDLE) answers come from embedded JSON. */
"use strict";

const BUNDLE = window.BUNDLE || null;
const main = document.getElementById("main");
const OUTCOME_LABEL = {right: "right", wrong: "wrong", no_answer: "no answer", truncated: "truncated",
                       error: "error", ungraded: "ungraded"};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "html") el.innerHTML = v;            // server-rendered, sanitised HTML only
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function qs(params) {
  const keys = Object.keys(params).filter(k => params[k] !== undefined && params[k] !== null && params[k] !== "").sort();
  return keys.map(k => encodeURIComponent(k) + "=" + encodeURIComponent(params[k])).join("&");
}

const BUNDLE_DEFAULTS = {page: "0", scope: "all"};   // left out of bundle keys (see harness/view/bundle.py)

async function api(path, params = {}) {
  const key = path + "?" + qs(params);
  if (BUNDLE) {
    const kept = Object.fromEntries(Object.entries(params).filter(([k, v]) => k !== "page_size" && BUNDLE_DEFAULTS[k] !== String(v)));
    const bundleKey = path + "?" + qs(kept);
    if (bundleKey in BUNDLE.api) return BUNDLE.api[bundleKey];
    throw new Error("not in this bundle (a static copy holds the first pages only): " + key);
  }
  const resp = await fetch(key);
  const body = await resp.json().catch(() => ({error: resp.statusText}));
  if (!resp.ok) { const e = new Error(body.error || resp.statusText); e.body = body; e.status = resp.status; throw e; }
  return body;
}

function fileUrl(run, name) {
  return BUNDLE ? BUNDLE.files[run + "/" + name] : "api/router/file?" + qs({run, name});
}

function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1); }
function fmt(v) { return v === null || v === undefined || v === "" ? "–" : String(v); }
function hashParams() {
  const [page, query] = location.hash.replace(/^#\/?/, "").split("?");
  return {page: page || "runs", params: Object.fromEntries(new URLSearchParams(query || ""))};
}
function go(page, params) { location.hash = "#/" + page + (Object.keys(params).length ? "?" + qs(params) : ""); }
function link(page, params, text) { return h("a", {href: "#/" + page + "?" + qs(params)}, text); }
function badge(outcome) { return h("span", {class: "badge " + outcome}, OUTCOME_LABEL[outcome] || outcome); }
function errorBox(err) { return h("p", {class: "error", id: "error"}, String(err.message || err)); }

async function runNames() { return (await api("api/runs")).runs.map(r => r.name); }

function table(headers, rows, attrs = {}) {
  return h("table", attrs, h("thead", {}, h("tr", {}, headers.map(x => h("th", {}, x)))),
           h("tbody", {}, rows));
}

function reportTable(t) {
  const rows = t.rows.map((row, i) => h("tr", {class: t.emphasis[i] ? "emph" : ""},
    row.map((c, j) => h("td", {class: j >= t.label_columns ? "num" : ""}, c))));
  return h("section", {class: "report"}, h("h3", {}, t.title), h("p", {class: "muted"}, t.legend),
           table(t.headers, rows, {class: "report-table"}));
}

/* ---------------------------------------------------------------- Runs */

async function pageRuns() {
  const data = await api("api/runs");
  const picked = new Set();
  const compareBtn = h("button", {id: "compare", disabled: true, onclick: () => {
    const [a, b] = [...picked]; go("compare", {a, b});
  }}, "Compare two runs");
  const rows = data.runs.map(r => h("tr", {"data-run": r.name},
    h("td", {}, h("input", {type: "checkbox", class: "pick", onchange: e => {
      e.target.checked ? picked.add(r.name) : picked.delete(r.name);
      compareBtn.disabled = picked.size !== 2;
    }})),
    h("td", {}, link("run", {run: r.name}, r.name)),
    h("td", {}, fmt(r.created)), h("td", {}, r.models.join(", ")),
    h("td", {}, r.tasks.length > 6 ? r.tasks.slice(0, 6).join(", ") + ` +${r.tasks.length - 6}` : r.tasks.join(", ")),
    h("td", {class: "num"}, r.samples.toLocaleString()), h("td", {class: "num"}, r.errors.toLocaleString()),
    h("td", {}, link("samples", {run: r.name}, "samples"), " ", r.has_router ? link("router", {run: r.name}, "router") : "")));
  main.replaceChildren(h("h2", {}, `Runs under ${data.root}`),
    table(["", "run", "created", "models", "tasks", "samples", "errors", ""], rows, {id: "runs-table"}),
    h("p", {}, compareBtn, h("span", {class: "muted"}, " tick two runs to compare their report tables")));
}

async function pageRun({run, fresh}) {
  const data = await api("api/run", {run, fresh});
  const s = data.summary;
  const facts = [["created", s.created], ["updated", s.updated], ["models", s.models.join(", ")],
                 ["tasks", s.tasks.join(", ")], ["samples", s.samples.toLocaleString()], ["request errors", s.errors],
                 ["samples per item", s.n_samples], ["seed", s.seed],
                 ["sampling", s.sampling ? Object.entries(s.sampling).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ") : null]];
  main.replaceChildren(h("h2", {id: "run-title"}, s.name),
    h("dl", {class: "facts"}, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, fmt(v))])),
    h("p", {}, link("samples", {run}, "Browse samples"), " · ", link("router", {run}, "Router")),
    data.error ? errorBox(data.error) : null,
    data.source ? h("p", {class: "muted", id: "report-source"}, "Report tables from " + data.source + " ",
      BUNDLE ? null : link("run", {run, fresh: "1"}, "recompute from the store")) : null,
    ...data.tables.map(reportTable));
}

async function pageCompare({a, b}) {
  const data = await api("api/compare", {a, b});
  const cell = m => m ? `${fmt(m.sample0)} / ${fmt(m.mean)} / ${fmt(m.sc)}` : "–";
  const rows = data.rows.map(r => h("tr", {},
    h("td", {}, r.category), h("td", {}, r.task), h("td", {}, r.model),
    h("td", {class: "num"}, cell(r.a)), h("td", {class: "num"}, cell(r.b)),
    h("td", {class: "num " + (r.delta_mean > 0 ? "up" : r.delta_mean < 0 ? "down" : "")},
      r.delta_mean === null ? "–" : (r.delta_mean > 0 ? "+" : "") + r.delta_mean.toFixed(1))));
  main.replaceChildren(h("h2", {}, `Compare ${a} and ${b}`),
    h("p", {class: "muted"}, "Cells: sample-0 / mean / SC@n accuracy in %; Δ = change of the mean accuracy from A to B."),
    table(["category", "task", "model", `A: ${a}`, `B: ${b}`, "Δ mean"], rows, {id: "compare-table"}));
}

/* ---------------------------------------------------------------- Samples */

async function pageSamples(params) {
  const names = await runNames();
  const run = params.run || names[0];
  if (!run) { main.replaceChildren(h("p", {}, "No runs.")); return; }
  const facets = await api("api/facets", {run});
  const f = Object.assign({page: "0"}, params, {run});
  const select = (name, values, labels = {}) => h("select", {name, id: "f-" + name},
    h("option", {value: ""}, "any " + name.replace("_", " ")),
    values.map(v => h("option", {value: v, selected: f[name] === v}, labels[v] || v)));
  const form = h("form", {id: "filters", onsubmit: e => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    go("samples", {...values, run});
  }},
    h("select", {name: "run", id: "f-run", onchange: e => go("samples", {run: e.target.value})},
      names.map(n => h("option", {value: n, selected: n === run}, n))),
    select("task", facets.tasks), select("model", facets.models), select("outcome", facets.outcomes, OUTCOME_LABEL),
    h("input", {name: "item_id", id: "f-item_id", placeholder: "item id", value: f.item_id || "", size: 10}),
    h("input", {name: "q", id: "f-q", type: "search", placeholder: BUNDLE ? "search needs the live viewer" : "search prompts and responses",
                value: f.q || "", size: 28, disabled: !!BUNDLE}),
    h("select", {name: "scope", id: "f-scope"}, [["all", "prompt + response"], ["prompt", "prompt"], ["response", "response"]]
      .map(([v, l]) => h("option", {value: v, selected: (f.scope || "all") === v}, l))),
    h("button", {type: "submit", id: "apply"}, "Apply"));
  const status = h("p", {id: "status", class: "muted"});
  const list = h("div", {id: "sample-list"});
  const detail = h("div", {id: "sample-detail"});
  main.replaceChildren(h("h2", {}, "Samples"), form, status, h("div", {class: "split"}, list, detail));
  if (!facets.index.ready && !BUNDLE)
    status.append(`search index: ${facets.index.indexed.toLocaleString()} of ${facets.index.total.toLocaleString()} samples indexed. `);

  const query = {...f}; delete query.run;
  let page;
  try { page = await api("api/samples", {run, ...query}); }
  catch (err) { list.replaceChildren(errorBox(err)); return; }
  const pageNo = Number(f.page || 0), size = Number(f.page_size || 50);
  const pager = h("div", {class: "pager"},
    h("button", {id: "prev", disabled: pageNo === 0, onclick: () => go("samples", {...f, page: String(pageNo - 1)})}, "‹ prev"),
    h("span", {id: "page-no"}, ` page ${pageNo + 1} `),
    h("button", {id: "next", disabled: !page.has_next || !!BUNDLE, onclick: () => go("samples", {...f, page: String(pageNo + 1)})}, "next ›"));
  const rows = page.rows.map((r, i) => h("tr", {class: "sample-row", "data-key": `${r.task}/${r.item_id}/${r.model}/${r.sample_index}`,
      onclick: () => showSample(run, r, detail, rowsEl, i)},
    h("td", {}, r.task), h("td", {}, link("item", {run, task: r.task, item_id: r.item_id}, r.item_id)),
    h("td", {}, r.model), h("td", {class: "num"}, r.sample_index), h("td", {}, badge(r.outcome)),
    h("td", {class: "answer"}, fmt(r.extracted)), h("td", {class: "preview"}, r.error ? "error: " + r.error : (r.preview || ""))));
  const rowsEl = rows;
  list.replaceChildren(pager, page.rows.length ? table(["task", "item", "model", "#", "outcome", "answer", "response"], rows, {id: "samples-table"})
                                               : h("p", {id: "no-samples"}, "No samples match."));
  const first = pageNo * size;
  status.append(page.rows.length ? `showing ${first + 1}–${first + page.rows.length}` : "");
  if (BUNDLE && page.has_next) status.append(` (static copy: the first ${BUNDLE.samples_per_filter} samples of this filter; more need the live viewer)`);
  if (!BUNDLE) {
    const counting = h("span", {id: "counting"}, " (counting matches…)");
    status.append(counting);
    api("api/samples/count", {run, ...query}).then(c => {
      counting.replaceWith(h("span", {id: "match-count"}, ` of ${c.count.toLocaleString()} matching samples`));
    }).catch(err => counting.replaceWith(` (count failed: ${err.message})`));
  }
  if (page.rows.length) showSample(run, page.rows[0], detail, rowsEl, 0);
}

async function showSample(run, r, detail, rows, i) {
  rows.forEach((row, j) => row.classList.toggle("selected", j === i));
  detail.replaceChildren(h("p", {class: "muted"}, "loading…"));
  let d;
  try { d = await api("api/sample", {run, task: r.task, item_id: r.item_id, model: r.model, sample_index: r.sample_index}); }
  catch (err) { detail.replaceChildren(errorBox(err)); return; }
  const s = d.sample, item = d.item || {};
  let gold = item.gold;
  try { gold = JSON.stringify(JSON.parse(item.gold)); } catch (e) { /* keep as stored */ }
  const facts = [["outcome", badge(s.outcome)], ["extracted answer", fmt(s.extracted)], ["gold", fmt(gold)],
    ["score", fmt(s.score)], ["grade reason", fmt(s.grade_reason)], ["detail", fmt(s.grade_detail)],
    ["seed", fmt(s.seed)], ["tokens (prompt / completion)", `${fmt(s.prompt_tokens)} / ${fmt(s.completion_tokens)}`],
    ["latency", s.latency_s === null ? "–" : s.latency_s.toFixed(2) + " s"], ["finish reason", fmt(s.finish_reason)],
    ["error", s.error ? `${s.error} (${fmt(s.error_kind)})` : "–"]];
  // Columns a newer store adds (e.g. a response hash) are shown as they are.
  const KNOWN = new Set(["task", "item_id", "model", "sample_index", "seed", "prompt_hash", "params", "response", "finish_reason",
    "prompt_tokens", "completion_tokens", "latency_s", "extracted", "score", "grade_reason", "grade_detail", "error",
    "error_kind", "written_at", "outcome"]);
  facts.push(["sampling", fmt(s.params)], ["prompt hash", fmt(s.prompt_hash)],
             ...Object.keys(s).filter(k => !KNOWN.has(k)).map(k => [k.replaceAll("_", " "), fmt(s[k])]));
  const raw = h("pre", {class: "raw", id: "response-raw", hidden: true}, s.response || "");
  const rendered = h("div", {class: "rendered", id: "response-html", html: d.response_html || "<p class='muted'>(no response)</p>"});
  const prompt = h("div", {id: "prompt"}, h("div", {class: "rendered", html: d.query_html}),
                   h("p", {class: "muted", id: "prompt-note"}, "question as stored; loading the full prompt…"));
  detail.replaceChildren(
    h("h3", {id: "detail-title"}, `${s.task} / ${s.item_id} / ${s.model} / sample ${s.sample_index}`),
    h("p", {}, link("item", {run, task: s.task, item_id: s.item_id}, "this item across models")),
    h("dl", {class: "facts", id: "sample-facts"}, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h4", {}, "Prompt"), prompt,
    h("h4", {}, "Response ", h("button", {id: "toggle-raw", onclick: () => { raw.hidden = !raw.hidden; rendered.hidden = !rendered.hidden; }}, "raw / rendered")),
    rendered, raw);
  if (BUNDLE) { prompt.querySelector("#prompt-note").textContent = "question as stored (the full prompt needs the live viewer)"; return; }
  api("api/prompt", {run, task: s.task, item_id: s.item_id, prompt_hash: s.prompt_hash}).then(p => {
    if (!p.messages) { prompt.querySelector("#prompt-note").textContent = "question as stored; " + p.note; return; }
    prompt.replaceChildren(h("p", {class: "muted", id: "prompt-note"}, `${p.source}${p.verified ? ", hash matches the stored prompt_hash" : ""}${p.note ? "; " + p.note : ""}`),
      ...p.messages.map(m => h("div", {class: "message " + m.role}, h("span", {class: "role"}, m.role), h("div", {class: "rendered", html: m.html}))));
  }).catch(() => {});
}

/* ---------------------------------------------------------------- Item across models */

async function pageItem(params) {
  const names = await runNames();
  const run = params.run || names[0];
  const form = h("form", {id: "item-form", onsubmit: e => { e.preventDefault(); go("item", Object.fromEntries(new FormData(form).entries())); }},
    h("select", {name: "run"}, names.map(n => h("option", {value: n, selected: n === run}, n))),
    h("input", {name: "task", placeholder: "task", value: params.task || ""}),
    h("input", {name: "item_id", placeholder: "item id", value: params.item_id || ""}),
    h("button", {type: "submit"}, "Show"));
  main.replaceChildren(h("h2", {}, "One item across models"), form);
  if (!params.task || !params.item_id) { main.append(h("p", {class: "muted"}, "Pick an item (or follow an item link from the samples page).")); return; }
  let d;
  try { d = await api("api/item", {run, task: params.task, item_id: params.item_id}); }
  catch (err) { main.append(errorBox(err)); return; }
  const cols = [...Array(d.max_samples).keys()];
  const rows = d.models.map(m => h("tr", {"data-model": m.model},
    h("th", {}, link("samples", {run, task: params.task, item_id: params.item_id, model: m.model}, m.model)),
    cols.map(k => {
      const s = m.samples.find(x => x.sample_index === k);
      return s ? h("td", {class: "cell " + s.outcome, title: `${OUTCOME_LABEL[s.outcome]}; answer ${fmt(s.extracted)}`}, fmt(s.extracted)) : h("td", {}, "");
    }),
    h("td", {class: "answer majority " + (m.majority_score >= 1 ? "right" : "wrong")}, fmt(m.majority_answer)),
    h("td", {class: "num"}, pct(m.mean_score))));
  const votes = d.votes.map(v => h("tr", {}, h("td", {class: "answer"}, v.answer), h("td", {class: "num"}, v.votes),
    h("td", {}, v.score >= 1 ? "right" : "wrong"), h("td", {}, Object.entries(v.by_model).map(([m, n]) => `${m}: ${n}`).join(", "))));
  const diff = d.difficulty;
  main.append(
    h("h3", {id: "item-title"}, `${d.item.task} / ${d.item.item_id}`),
    h("div", {class: "rendered question", html: d.query_html}),
    h("dl", {class: "facts", id: "item-facts"},
      h("dt", {}, "gold"), h("dd", {}, JSON.stringify(d.item.gold)),
      h("dt", {}, "majority answer (all models' samples)"), h("dd", {id: "majority"}, `${fmt(d.majority.answer)} (${d.majority.score >= 1 ? "right" : "wrong"})`),
      h("dt", {}, "difficulty"), h("dd", {id: "difficulty"},
        `${diff.models_right} of ${diff.models} models right by majority vote (${pct(diff.share_models_right)}%); ${pct(diff.share_samples_right)}% of samples right`)),
    h("h4", {}, "Correctness matrix (cell = extracted answer, colour = outcome)"),
    table(["model", ...cols.map(k => "#" + k), "majority", "mean %"], rows, {id: "matrix"}),
    h("h4", {}, "Votes"), table(["answer", "votes", "", "by model"], votes, {id: "votes"}));
}

/* ---------------------------------------------------------------- Router */

function heat(v) {
  if (v === null || v === undefined) return "";
  const hue = Math.round(120 * v);
  return `background: hsl(${hue}, 65%, ${85 - 25 * Math.abs(v - 0.5)}%)`;
}

async function pageRouter(params) {
  const names = await runNames();
  const run = params.run || names[0];
  const files = await api("api/router", {run});
  const artifact = params.artifact || files.artifacts[0];
  const runSel = h("select", {id: "r-run", onchange: e => go("router", {run: e.target.value})},
    names.map(n => h("option", {value: n, selected: n === run}, n)));
  const artSel = h("select", {id: "r-artifact", onchange: e => go("router", {run, artifact: e.target.value})},
    files.artifacts.map(a => h("option", {value: a, selected: a === artifact}, a)));
  main.replaceChildren(h("h2", {}, "Router"), h("p", {}, runSel, " ", artSel));
  if (!artifact) { main.append(h("p", {id: "no-router"}, `No router artifact in ${run}/router/ (make one with harness route fit).`)); return; }
  const d = await api("api/router/summary", {run, artifact});
  const m = d.meta;
  main.append(h("p", {class: "muted", id: "router-meta"},
    `K=${m.n_clusters}, ${m.config.clusterer}, embedder ${m.config.embedder}, routing ${m.config.routing}, `
    + `${m.n_calibration} calibration queries, ${m.models.length} models, created ${m.created}`));

  // One query
  const out = h("div", {id: "route-result"});
  const qform = h("form", {id: "route-form", onsubmit: async e => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(qform).entries());
    out.replaceChildren(h("p", {class: "muted"}, "routing…"));
    try { showRoute(await api("api/router/route", {run, artifact, ...v}), out); }
    catch (err) { out.replaceChildren(errorBox(err)); }
  }},
    h("input", {name: "text", id: "route-text", placeholder: BUNDLE ? "routing needs the live viewer" : "a query text", size: 40, disabled: !!BUNDLE}),
    " or ", h("input", {name: "task", placeholder: "task", size: 10}), h("input", {name: "item_id", placeholder: "item id", size: 8}),
    h("label", {}, " top-n ", h("input", {name: "top_n", type: "number", min: 1, max: m.models.length, value: 1, size: 3})),
    h("button", {type: "submit", disabled: !!BUNDLE}, "Route"));
  main.append(h("h3", {}, "Route one query"), qform, out);

  // Clusters
  const clusterRows = d.clusters.map(c => h("tr", {},
    h("td", {class: "num"}, c.cluster), h("td", {class: "num"}, c.size),
    h("td", {}, c.top_tasks.map(([t, n]) => `${t} (${n})`).join(", ")), h("td", {}, c.best_models.join(" > ")),
    h("td", {class: "examples"}, c.examples.map(e => h("div", {}, link("item", {run, task: e.task, item_id: e.item_id}, `${e.task}/${e.item_id}`),
      ": ", (e.query || "").slice(0, 140))))));
  main.append(h("h3", {}, "Clusters"), table(["cluster", "size", "top tasks", "best models", "example queries"], clusterRows, {id: "clusters"}));

  // Heatmap
  const heatRows = d.profile.map((row, c) => h("tr", {}, h("th", {}, c),
    row.map((v, j) => h("td", {class: "heat", style: heat(v), title: `${d.models[j]}, cluster ${c}: ${pct(v)}% (n=${d.profile_counts[c][j]})`}, pct(v)))));
  main.append(h("h3", {}, "Model × cluster profile (accuracy %)"),
    h("div", {class: "scroll"}, table(["cluster", ...d.models], heatRows, {id: "heatmap"})));

  // Routing share
  for (const share of d.routing_share) {
    const tasks = Object.keys(share.share);
    const rows = tasks.map(t => h("tr", {}, h("th", {}, t),
      d.models.map(mm => { const v = share.share[t][mm] || 0; return h("td", {class: "heat", style: v ? heat(v) : ""}, v ? pct(v) : ""); })));
    main.append(h("h3", {}, "Share routed to each model per task (%)"), h("p", {class: "muted"}, share.source),
      h("div", {class: "scroll"}, table(["task", ...d.models], rows, {class: "share"})));
  }
  if (files.plots.length) {
    main.append(h("h3", {}, "Plots"), h("div", {id: "plots"}, files.plots.map(p => h("figure", {},
      h("img", {src: fileUrl(run, p), alt: p}), h("figcaption", {}, p)))));
  }
}

function showRoute(r, out) {
  const vote = r.vote;
  out.replaceChildren(
    h("p", {}, "Models chosen: ", h("strong", {id: "chosen"}, r.chosen.join(", ")), ` (routing: ${r.routing})`),
    table(["nearest cluster", "cosine distance", "best models"], r.nearest.map(n => h("tr", {},
      h("td", {class: "num"}, n.cluster), h("td", {class: "num"}, n.distance.toFixed(3)), h("td", {}, n.best_models.join(" > ")))), {id: "nearest"}),
    vote ? h("p", {id: "vote"}, `Vote over the stored samples: answer ${fmt(vote.answer)}, score ${fmt(vote.score)}, `
      + `${vote.models_used} model(s) used${vote.stopped_early ? " (stopped early: samples agreed)" : ""}; samples: `
      + Object.entries(vote.samples).map(([m, n]) => `${m} ${n}`).join(", ")) : h("p", {class: "muted"}, "Free text: no stored samples to vote on."));
}

/* ---------------------------------------------------------------- routing */

const PAGES = {runs: pageRuns, run: pageRun, compare: pageCompare, samples: pageSamples, item: pageItem, router: pageRouter};

async function render() {
  const {page, params} = hashParams();
  if (params.run) sessionStorage.setItem("run", params.run);
  const run = params.run || sessionStorage.getItem("run");
  document.querySelectorAll("#nav a").forEach(a => {
    a.classList.toggle("active", a.dataset.page === page);
    a.href = "#/" + a.dataset.page + (run && a.dataset.page !== "runs" ? "?" + qs({run}) : "");
  });
  document.getElementById("mode").textContent = BUNDLE ? `static copy, made ${BUNDLE.created}` : "";
  document.body.dataset.ready = "";
  main.replaceChildren(h("p", {class: "muted"}, "loading…"));
  try { await (PAGES[page] || pageRuns)(params); }
  catch (err) { main.replaceChildren(errorBox(err)); }
  document.body.dataset.ready = page;
}
window.addEventListener("hashchange", render);
render();
