// zsm dashboard: live status, charts from the downsampling endpoint, audit on click. Hand-written, small.
// Every time is shown in the schedule's zone (data-timezone), whatever zone the browser is in.
(function () {
  "use strict";
  var root = document.getElementById("status");
  var site = root.dataset.site;
  var api = "/api/v1/sites/" + encodeURIComponent(site);
  var colors = { standby: "#c9ced4", charge: "#7fbf7f", discharge: "#e0a458", netzero: "#78a6d8", netzero_plus: "#b48ad6" };

  var zone = window.zsmZone(root.dataset.timezone || "Europe/Amsterdam");
  var REFRESH_MS = 30000;
  var current = null;  // the range on show: { kind: "1h" | "today" | "7d" | "custom", start, end }
  function local(iso) { return zone.wall(new Date(iso)); }  // instant -> wall clock in the schedule's zone
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }
  function text(id, value) { document.getElementById(id).textContent = value; }
  function watts(v) { return v === null || v === undefined ? "–" : Math.round(v) + " W"; }
  function describe(cmd) {
    if (!cmd) { return "–"; }
    if (typeof cmd === "string") { return cmd; }
    return cmd.kind === "standby" ? "standby" : cmd.kind + " " + cmd.power_w + " W";
  }

  // Several batteries on the meter: one line each (name, SoC, output, share, offline).
  function members(list) {
    var shown = list.length > 0;
    document.querySelectorAll(".members").forEach(function (el) { el.hidden = !shown; });
    text("st-members", list.map(function (b) {
      var soc = b.soc_pct === null || b.soc_pct === undefined ? "–" : b.soc_pct.toFixed(0) + " %";
      return b.name + ": " + soc + ", " + watts(b.battery_w) + (b.online ? "" : " (offline)");
    }).join(" · "));
  }

  var lastHeartbeat = null;  // the controller's clock, which may run ahead of this browser's (e.g. a fast demo)

  function refreshStatus() {
    return getJSON(api + "/status").then(function (s) {
      if (s.heartbeat_at) { lastHeartbeat = new Date(s.heartbeat_at); }
      text("st-state", s.state || "–");
      text("st-slot", s.slot ? (s.slot.mode || JSON.stringify(s.slot)) : (s.mode || "–"));
      text("st-soc", s.soc_pct === undefined || s.soc_pct === null ? "–" : s.soc_pct.toFixed(0) + " %");
      text("st-grid", watts(s.grid_w));
      text("st-battery", watts(s.battery_w) + (s.batteries && s.batteries.length ? " in all" : ""));
      members(s.batteries || []);
      text("st-command", describe(s.last_command) + (s.last_command_at ? " at " + local(s.last_command_at) : ""));
      var hb = document.getElementById("st-heartbeat");
      hb.textContent = s.heartbeat_age_s === null ? "never" : Math.round(s.heartbeat_age_s) + " s ago" + (s.stale ? " (stale)" : "");
      hb.className = s.stale ? "stale" : "";
    }).catch(function () { text("st-heartbeat", "status unavailable"); });
  }

  // The min/max band as closed polygons, one per run of buckets with data: nothing is drawn across a gap.
  function band(t, series, name, color, axis) {
    var xs = [], ys = [], i = 0, n = t.length;
    function has(k) { return series.min[k] !== null && series.max[k] !== null; }
    while (i < n) {
      if (!has(i)) { i += 1; continue; }
      var j = i;
      while (j < n && has(j)) { j += 1; }
      xs = xs.concat(t.slice(i, j), t.slice(i, j).reverse(), [null]);
      ys = ys.concat(series.max.slice(i, j), series.min.slice(i, j).reverse(), [null]);
      i = j;
    }
    return [
      { x: xs, y: ys, mode: "lines", fill: "toself", fillcolor: color + "33", line: { width: 0 }, hoverinfo: "skip", hoveron: "points",
        showlegend: false, yaxis: axis, legendgroup: name, meta: "band" },
      { x: t, y: series.mean, mode: "lines", name: name, line: { color: color, width: 1.5 }, yaxis: axis,
        legendgroup: name, connectgaps: false }
    ];
  }

  // The command in force: each change, held until the next (or the end of the data), as steps.
  function setpoint(steps, until) {
    var x = steps.t.map(local), y = steps.w.slice();
    if (y.length) { x.push(local(until)); y.push(y[y.length - 1]); }
    return { x: x, y: y, mode: "lines", name: "set-point (command in force)",
      line: { color: "#2ca02c", width: 1.5, shape: "hv", dash: "dot" } };
  }

  function draw(start, end, kind) {
    var chart = document.getElementById("chart");
    current = { kind: kind || "custom", start: start, end: end };
    var url = api + "/telemetry?points=1000&start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
    return getJSON(url).then(function (d) {
      var t = d.t.map(local);
      var now = lastHeartbeat && lastHeartbeat > new Date() ? lastHeartbeat : new Date();
      var traces = [].concat(
        band(t, d.grid_w, "grid", "#d62728", "y"),
        band(t, d.battery_w, "battery", "#1f77b4", "y"),
        [setpoint(d.setpoint_steps, new Date(Math.min(end.getTime(), now.getTime()))),
         { x: t, y: d.soc_pct.mean, mode: "lines", name: "SoC", line: { color: "#9467bd", width: 1.5 }, yaxis: "y2", connectgaps: false }]
      );
      var shapes = d.slots.map(function (s) {
        return { type: "rect", xref: "x", yref: "paper", x0: local(s.start), x1: local(s.end), y0: 0, y1: 1,
          fillcolor: colors[s.mode] || "#ccc", opacity: 0.18, line: { width: 0 }, layer: "below" };
      });
      var layout = {
        margin: { l: 50, r: 50, t: 10, b: 40 }, hovermode: "x unified", shapes: shapes, uirevision: current.kind,
        xaxis: { title: { text: "time (" + zone.name + ")" } },
        legend: { orientation: "h", y: -0.15 },
        yaxis: { title: { text: "W (+ import / + discharge)" }, zeroline: true },
        yaxis2: { title: { text: "SoC %" }, overlaying: "y", side: "right", range: [0, 100], tickmode: "auto", showgrid: false }
      };
      Plotly.react(chart, traces, layout, { responsive: true, displaylogo: false });
      chart.dataset.points = String(d.t.length);
      chart.dataset.start = d.start;
      chart.dataset.range = current.kind;
      chart.dataset.draws = String(+(chart.dataset.draws || 0) + 1);
      if (!chart.dataset.bound) {
        chart.dataset.bound = "1";
        chart.on("plotly_click", function (ev) {
          if (ev.points && ev.points.length) { audit(zone.fromWall(String(ev.points[0].x))); }
        });
      }
      return d;
    }).catch(function (err) { chart.textContent = "Chart unavailable: " + err.message; });
  }

  function row(label, value) {
    var dt = document.createElement("dt"); dt.textContent = label;
    var dd = document.createElement("dd"); dd.textContent = value;
    return [dt, dd];
  }

  function audit(at) {
    var box = document.getElementById("audit-body");
    box.textContent = "Loading…";
    getJSON(api + "/audit?at=" + encodeURIComponent(at.toISOString())).then(function (a) {
      box.textContent = "";
      var dl = document.createElement("dl"); dl.className = "status";
      var rows = [row("Moment", local(a.at)), row("Explanation", a.explanation)];
      if (a.command) {
        rows.push(row("Command", describe(a.command.payload.command) + " at " + local(a.command.at)));
        rows.push(row("In force until", a.in_force_until ? local(a.in_force_until) : "still"));
        if (a.result) { rows.push(row("Result", a.result.payload.ok ? "ok (" + a.result.payload.latency_ms + " ms)" : "error: " + a.result.payload.error)); }
      }
      rows.forEach(function (pair) { dl.appendChild(pair[0]); dl.appendChild(pair[1]); });
      box.appendChild(dl);
      if (a.events.length) {
        var h = document.createElement("h3"); h.textContent = "Deciding events"; box.appendChild(h);
        var pre = document.createElement("pre");
        pre.textContent = a.events.map(function (e) { return local(e.at) + "  " + e.kind + "  " + JSON.stringify(e.payload); }).join("\n");
        box.appendChild(pre);
      }
    }).catch(function (err) { box.textContent = "Audit unavailable: " + err.message; });
  }

  function lastHour() {
    return refreshStatus().then(function () {
      var e = new Date();
      var end = lastHeartbeat && lastHeartbeat > e ? lastHeartbeat : e;
      return draw(new Date(end.getTime() - 36e5), new Date(end.getTime() + 6e4), "1h");
    });
  }
  function today() { var s = zone.day(new Date(), 0); return draw(s, zone.day(new Date(), 1), "today"); }
  function week() { var e = new Date(); return draw(new Date(e.getTime() - 7 * 864e5), e, "7d"); }
  var ranges = { "1h": lastHour, today: today, "7d": week };
  document.querySelectorAll("[data-range]").forEach(function (b) {
    b.addEventListener("click", function () { ranges[b.dataset.range](); });
  });
  document.getElementById("custom-range").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var s = zone.fromWall(f.elements.from.value + " 00:00");
    var e = zone.day(zone.fromWall(f.elements.to.value + " 12:00"), 1);
    if (s < e) { draw(s, e, "custom"); }
  });
  // Today, unless it holds less than an hour of data so far (a fresh install or demo): then the last hour.
  function initial() {
    today().then(function (d) {
      if (!d) { return; }
      var filled = d.grid_w.mean.filter(function (v) { return v !== null; }).length;
      if (filled * d.bucket_s < 3600) { lastHour(); }
    });
  }
  // The chart refreshes itself while it shows a range that reaches now (a past custom range stays put).
  setInterval(function () {
    if (current && current.kind !== "custom" && ranges[current.kind]) { ranges[current.kind](); }
  }, REFRESH_MS);
  refreshStatus();
  setInterval(refreshStatus, 10000);
  initial();
})();
