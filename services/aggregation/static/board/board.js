// The progress board: reads the progress API, draws the page, and reads it again each time the
// union's stream says its figures changed. Plain browser JavaScript, no build step.
"use strict";

const API = "/v1";
const LEVELS = {
  national: "Tổng Liên đoàn",
  province: "Liên đoàn Lao động tỉnh, thành phố",
  central_sector: "Công đoàn ngành Trung ương",
  district: "Công đoàn cấp trên trực tiếp cơ sở",
  sector: "Công đoàn ngành, khu công nghiệp",
  grassroots: "Công đoàn cơ sở",
};
const matched = location.pathname.match(/\/board\/unions\/([^/]+)/);
const UNION = matched ? decodeURIComponent(matched[1]) : "vn";
const NATIONAL = !matched;

const number = new Intl.NumberFormat("vi-VN");
const decimal = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
const clock = new Intl.DateTimeFormat("vi-VN", { timeStyle: "medium" });

function day(iso) {
  if (!iso) return "–";
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}

function pct(value) {
  return value === null || value === undefined ? "–" : `${decimal.format(value)}%`;
}

// Builds an element; text is always set as text, never parsed as HTML.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function unionLink(code, name) {
  return el("a", { href: `/board/unions/${encodeURIComponent(code)}`, text: name });
}

async function get(path) {
  const answer = await fetch(API + path, { headers: { Accept: "application/json" } });
  if (!answer.ok) {
    let reason = `${answer.status}`;
    try {
      reason = (await answer.json()).errors.map((e) => e.message).join("; ");
    } catch (_) { /* not the API's error shape: keep the status */ }
    const error = new Error(reason);
    error.status = answer.status;
    throw error;
  }
  return answer.json();
}

let program = null;
let chart = null;

async function read() {
  program = program || (await get("/program"));
  const scopes = ["program", ...program.phases.map((phase) => phase.code)];
  const code = encodeURIComponent(UNION);
  const [progress, daily, children] = await Promise.all([
    Promise.all(scopes.map((scope) => get(`/unions/${code}/progress?scope=${scope}`))),
    get(`/unions/${code}/daily`),
    NATIONAL ? { items: [] } : get(`/unions/${code}/children?limit=50`),
  ]);
  const whole = progress[0];
  const extra = NATIONAL
    ? await Promise.all([get("/leaderboards/levels/province?limit=10"), get("/leaderboards/clusters")])
    : [whole.cluster ? await get(`/leaderboards/clusters/${encodeURIComponent(whole.cluster)}`) : null];
  return { progress, daily, children, extra };
}

function drawHeader(whole) {
  document.title = `${whole.name} · Bảng tiến độ 1 triệu sáng kiến`;
  document.getElementById("name").textContent = whole.name;
  const subtitle = [LEVELS[whole.level] || whole.level];
  if (whole.cluster) subtitle.push(`cụm thi đua ${whole.cluster}`);
  if (NATIONAL) subtitle.unshift(program.name);
  document.getElementById("subtitle").textContent = subtitle.join(" · ");
  const path = document.getElementById("path");
  path.replaceChildren(
    ...whole.path.map((union) => unionLink(union.union_code, union.name)),
    ...(whole.path.length ? [el("span", { text: whole.name })] : []),
  );
}

function drawHero(whole) {
  const target = whole.target ? whole.target.effective : null;
  document.getElementById("counted").textContent = number.format(whole.subtree.counted);
  document.getElementById("target").textContent = target
    ? `/ ${number.format(target)} (${pct(whole.percent)})`
    : "chưa có chỉ tiêu";
  const bar = document.getElementById("bar");
  const share = Math.min(100, whole.percent || 0);
  bar.firstElementChild.style.width = `${share}%`;
  bar.setAttribute("aria-valuenow", String(share));
  bar.classList.toggle("done", Boolean(whole.reached_on));
  const pace = whole.pace;
  const parts = [`Trung bình 7 ngày: ${decimal.format(pace.average_7d)}/ngày`];
  if (whole.reached_on) {
    parts.push(`đạt chỉ tiêu ngày ${day(whole.reached_on)}, trước hạn ${number.format(whole.days_ahead)} ngày`);
  } else if (target) {
    if (pace.needed_per_day !== null) parts.push(`cần ${decimal.format(pace.needed_per_day)}/ngày để kịp hạn`);
    parts.push(pace.projected_on ? `dự kiến đạt ngày ${day(pace.projected_on)}` : "chưa dự báo được ngày đạt");
  }
  parts.push(`số liệu đến ngày ${day(pace.as_of)}`);
  document.getElementById("pace").textContent = parts.join(" · ");
}

function withheld(value) {
  return value === null ? "không công bố" : number.format(value);
}

function scopeCard(view, name) {
  const target = view.target;
  const rows = [
    ["Của đơn vị", number.format(view.own.counted)],
    // Null below the district level: not published for small unions (docs/aggregation.md).
    ["Tiếp nhận", withheld(view.subtree.received)],
    ["Nghi trùng", withheld(view.subtree.flagged)],
    ["Chỉ tiêu được giao", target ? number.format(target.assigned) : "–"],
    ["Tự đăng ký", target && target.self_set ? number.format(target.self_set) : "–"],
    ["Tỷ lệ", pct(view.percent)],
    ["Dự kiến đạt", day(view.pace.projected_on)],
  ];
  const list = el("dl");
  for (const [term, value] of rows) list.append(el("dt", { text: term }), el("dd", { text: value }));
  const reached = view.reached_on
    ? el("p", { class: "reached", text: `Đạt ngày ${day(view.reached_on)} (trước hạn ${view.days_ahead} ngày)` })
    : null;
  return el(
    "article",
    { class: "card", "data-scope": view.scope },
    el("h3", { text: name }),
    el("p", { class: "dates", text: `${day(view.starts_on)} – ${day(view.ends_on)}` }),
    el("span", { class: "count", text: number.format(view.subtree.counted) }),
    reached,
    list,
  );
}

function drawScopes(progress) {
  const names = ["Cả chương trình", ...program.phases.map((phase) => phase.name)];
  document.getElementById("scopes").replaceChildren(...progress.map((view, i) => scopeCard(view, names[i])));
}

function drawMilestones(whole) {
  const list = document.getElementById("milestones");
  const target = whole.target ? whole.target.effective : null;
  const items = whole.milestones.map((crossing) => {
    const percent = target ? (100 * crossing.counted) / target : 0;
    const share = percent >= 1 ? ` (${pct(percent)} chỉ tiêu)` : "";
    return el(
      "li",
      {},
      el("strong", { text: number.format(crossing.counted) }),
      ` sáng kiến${share} · ngày ${day(crossing.reached_on)}`,
    );
  });
  list.replaceChildren(...(items.length ? items : [el("li", { class: "none", text: "Chưa đạt mốc nào" })]));
}

function drawDaily(daily) {
  const labels = daily.days.map((d) => day(d.date));
  const perDay = daily.days.map((d) => d.counted);
  const total = daily.days.map((d) => d.cumulative);
  if (typeof Chart === "undefined") return;
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = perDay;
    chart.data.datasets[1].data = total;
    chart.update("none");
    return;
  }
  chart = new Chart(document.getElementById("daily"), {
    data: {
      labels,
      datasets: [
        { type: "bar", label: "Trong ngày", data: perDay, backgroundColor: "#c8102e", yAxisID: "day" },
        { type: "line", label: "Lũy kế", data: total, borderColor: "#1d2430", pointRadius: 0, yAxisID: "total" },
      ],
    },
    options: {
      locale: "vi-VN",
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        day: { position: "left", beginAtZero: true, title: { display: true, text: "trong ngày" } },
        total: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "lũy kế" } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

function rankedTable(table, items, highlight) {
  const head = el(
    "tr",
    {},
    el("th", { class: "num", text: "Hạng" }),
    el("th", { text: "Đơn vị" }),
    el("th", { class: "num", text: "Được tính" }),
    el("th", { class: "num", text: "Chỉ tiêu" }),
    el("th", { class: "num", text: "Tỷ lệ" }),
  );
  const rows = items.map((item) =>
    el(
      "tr",
      item.union_code === highlight ? { class: "self" } : {},
      el("td", { class: "num", text: String(item.rank) }),
      el("td", { class: "name" }, unionLink(item.union_code, item.name)),
      el("td", { class: "num", text: number.format(item.counted) }),
      el("td", { class: "num", text: item.target ? number.format(item.target) : "–" }),
      el("td", { class: "num", text: pct(item.percent) }),
    ),
  );
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function clusterTable(table, clusters) {
  const head = el(
    "tr",
    {},
    el("th", { class: "num", text: "Hạng" }),
    el("th", { text: "Cụm thi đua" }),
    el("th", { class: "num", text: "Đơn vị" }),
    el("th", { class: "num", text: "Được tính" }),
    el("th", { class: "num", text: "Tỷ lệ" }),
    el("th", { text: "Dẫn đầu cụm" }),
  );
  const rows = clusters.items.map((item) =>
    el(
      "tr",
      {},
      el("td", { class: "num", text: String(item.rank) }),
      el("td", { text: item.cluster }),
      el("td", { class: "num", text: String(item.members) }),
      el("td", { class: "num", text: number.format(item.counted) }),
      el("td", { class: "num", text: pct(item.percent) }),
      el("td", { class: "name" }, item.leader ? unionLink(item.leader.union_code, item.leader.name) : "–"),
    ),
  );
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function show(id, visible) {
  document.getElementById(id).hidden = !visible;
}

function draw({ progress, daily, children, extra }) {
  const whole = progress[0];
  drawHeader(whole);
  drawHero(whole);
  drawScopes(progress);
  drawMilestones(whole);
  drawDaily(daily);
  show("children-section", !NATIONAL && children.items.length > 0);
  if (!NATIONAL) {
    rankedTable(document.getElementById("children"), children.items, null);
    const shown = children.items.length;
    document.getElementById("children-title").textContent =
      children.total > shown
        ? `Đơn vị trực thuộc (${shown} dẫn đầu trong ${number.format(children.total)})`
        : `Đơn vị trực thuộc (${children.total})`;
  }
  if (NATIONAL) {
    const [leaders, clusters] = extra;
    rankedTable(document.getElementById("leaders"), leaders.items, null);
    clusterTable(document.getElementById("clusters"), clusters);
  } else if (extra[0]) {
    document.getElementById("cluster-title").textContent = `Cụm thi đua ${whole.cluster}`;
    rankedTable(document.getElementById("cluster"), extra[0].items, UNION);
  }
  show("leaders-section", NATIONAL);
  show("clusters-section", NATIONAL);
  show("cluster-section", !NATIONAL && Boolean(extra[0]));
  document.getElementById("updated").textContent = `Cập nhật lúc ${clock.format(new Date())}`;
  document.body.dataset.version = String(whole.revision);
}

function problem(message) {
  const box = document.getElementById("problem");
  box.hidden = !message;
  box.textContent = message || "";
}

// One reading at a time; a change announced during a reading asks for one more after it.
let reading = null;
let again = false;
let missing = false;

async function refresh() {
  if (reading) {
    again = true;
    return;
  }
  reading = (async () => {
    do {
      again = false;
      try {
        draw(await read());
        problem(null);
      } catch (error) {
        missing = error.status === 404;
        problem(
          error.status === 404
            ? `Không tìm thấy đơn vị “${UNION}”.`
            : `Chưa đọc được số liệu (${error.message}); sẽ thử lại khi có thay đổi.`,
        );
      }
    } while (again);
  })();
  await reading;
  reading = null;
}

function follow() {
  const live = document.getElementById("live");
  const stream = new EventSource(`${API}/unions/${encodeURIComponent(UNION)}/stream`);
  stream.addEventListener("open", () => {
    live.dataset.state = "open";
    live.textContent = "trực tiếp";
  });
  stream.addEventListener("progress", refresh);
  stream.addEventListener("error", () => {
    live.dataset.state = "lost";
    live.textContent = "mất kết nối, đang thử lại…";
  });
}

// An unknown union has no stream to follow; any other page follows its stream even when the
// first reading failed (the stream's first event asks for another).
refresh().then(() => {
  if (missing) {
    const live = document.getElementById("live");
    live.dataset.state = "lost";
    live.textContent = "không có số liệu";
  } else {
    follow();
  }
});
