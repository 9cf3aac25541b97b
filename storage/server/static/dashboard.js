// zsm dashboard: live status, charts from the downsampling endpoint, audit on click. Hand-written, small.
(function () {
  "use strict";
  var root = document.getElementById("status");
  var site = root.dataset.site;
  var api = "/api/v1/sites/" + encodeURIComponent(site);
  var colors = { standby: "#c9ced4", charge: "#7fbf7f", discharge: "#e0a458", netzero: "#78a6d8", netzero_plus: "#b48ad6" };

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function local(iso) {  // ISO instant -> local wall-clock string plotly shows as-is
    var d = new Date(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
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

  var lastHeartbeat = null;  // the controller's clock, which may run ahead of this browser's (e.g. a fast demo)

  function refreshStatus() {
    return getJSON(api + "/status").then(function (s) {
      if (s.heartbeat_at) { lastHeartbeat = new Date(s.heartbeat_at); }
      text("st-state", s.state || "–");
      text("st-slot", s.slot ? (s.slot.mode || JSON.stringify(s.slot)) : (s.mode || "–"));
      text("st-soc", s.soc_pct === undefined || s.soc_pct === null ? "–" : s.soc_pct.toFixed(0) + " %");
      text("st-grid", watts(s.grid_w));
      text("st-battery", watts(s.battery_w));
      text("st-command", describe(s.last_command) + (s.last_command_at ? " at " + local(s.last_command_at) : ""));
      var hb = document.getElementById("st-heartbeat");
      hb.textContent = s.heartbeat_age_s === null ? "never" : Math.round(s.heartbeat_age_s) + " s ago" + (s.stale ? " (stale)" : "");
      hb.className = s.stale ? "stale" : "";
    }).catch(function () { text("st-heartbeat", "status unavailable"); });
  }

  function band(t, series, name, color, axis) {
    return [
      { x: t, y: series.max, mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false, yaxis: axis, legendgroup: name },
      { x: t, y: series.min, mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: color + "33", hoverinfo: "skip", showlegend: false, yaxis: axis, legendgroup: name },
      { x: t, y: series.mean, mode: "lines", name: name, line: { color: color, width: 1.5 }, yaxis: axis, legendgroup: name }
    ];
  }

  function draw(start, end) {
    var chart = document.getElementById("chart");
    var url = api + "/telemetry?points=1000&start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
    getJSON(url).then(function (d) {
      var t = d.t.map(local);
      var traces = [].concat(
        band(t, d.grid_w, "grid", "#d62728", "y"),
        band(t, d.battery_w, "battery", "#1f77b4", "y"),
        [{ x: t, y: d.setpoint_w.mean, mode: "lines", name: "set-point", line: { color: "#2ca02c", width: 1.5, shape: "hv", dash: "dot" } },
         { x: t, y: d.soc_pct.mean, mode: "lines", name: "SoC", line: { color: "#9467bd", width: 1.5 }, yaxis: "y2" }]
      );
      var shapes = d.slots.map(function (s) {
        return { type: "rect", xref: "x", yref: "paper", x0: local(s.start), x1: local(s.end), y0: 0, y1: 1,
          fillcolor: colors[s.mode] || "#ccc", opacity: 0.18, line: { width: 0 }, layer: "below" };
      });
      var layout = {
        margin: { l: 50, r: 50, t: 10, b: 40 }, hovermode: "x unified", shapes: shapes,
        legend: { orientation: "h", y: -0.15 },
        yaxis: { title: { text: "W (+ import / + discharge)" }, zeroline: true },
        yaxis2: { title: { text: "SoC %" }, overlaying: "y", side: "right", range: [0, 100], tickmode: "auto", showgrid: false }
      };
      Plotly.react(chart, traces, layout, { responsive: true, displaylogo: false });
      chart.dataset.points = String(d.t.length);
      chart.dataset.start = d.start;
      if (!chart.dataset.bound) {
        chart.dataset.bound = "1";
        chart.on("plotly_click", function (ev) {
          if (ev.points && ev.points.length) { audit(new Date(String(ev.points[0].x).replace(" ", "T"))); }
        });
      }
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

  function today() { var s = new Date(); s.setHours(0, 0, 0, 0); var e = new Date(s); e.setDate(e.getDate() + 1); draw(s, e); }
  document.querySelectorAll("[data-range]").forEach(function (b) {
    b.addEventListener("click", function () {
      var e = new Date();
      if (b.dataset.range === "today") { today(); }
      else if (b.dataset.range === "1h") {
        refreshStatus().then(function () {
          var end = lastHeartbeat && lastHeartbeat > e ? lastHeartbeat : e;
          draw(new Date(end.getTime() - 36e5), new Date(end.getTime() + 6e4));
        });
      }
      else { draw(new Date(e.getTime() - 7 * 864e5), e); }
    });
  });
  document.getElementById("custom-range").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var s = new Date(f.elements.from.value + "T00:00"), e = new Date(f.elements.to.value + "T00:00");
    e.setDate(e.getDate() + 1);
    if (s < e) { draw(s, e); }
  });
  refreshStatus();
  setInterval(refreshStatus, 10000);
  today();
})();
