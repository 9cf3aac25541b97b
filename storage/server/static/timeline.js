// zsm timeline: today and tomorrow as slot bands over prices, SoC and power; edit by click, drag or typing.
// Every time is wall-clock time in the schedule's zone. Saves go through the JSON API (If-Match + CSRF).
(function () {
  "use strict";
  var root = document.getElementById("timeline");
  var site = root.dataset.site;
  var editable = root.dataset.editable === "1";
  var zone = window.zsmZone(root.dataset.timezone || "Europe/Amsterdam");
  var api = "/api/v1/sites/" + encodeURIComponent(site);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var SNAP_MS = 15 * 60000;
  var NAMES = { standby: "Standby", charge: "Charge", discharge: "Discharge", netzero: "NetZero", netzero_plus: "NetZero+" };
  var COLORS = { standby: "#c9ced4", charge: "#7fbf7f", discharge: "#e0a458", netzero: "#78a6d8", netzero_plus: "#b48ad6" };
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var state = { start: null, end: null, schedule: null, etag: null, spans: [], editing: null };
  var lane = document.getElementById("tl-lane");

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json().then(function (body) { return { body: body, etag: r.headers.get("ETag") }; });
    });
  }
  function iso(d) { return d.toISOString(); }
  function frac(d) { return (d.getTime() - state.start.getTime()) / (state.end.getTime() - state.start.getTime()); }
  function pct(d) { return Math.max(0, Math.min(100, frac(d) * 100)); }
  function timeAt(clientX) {
    var box = lane.getBoundingClientRect();
    var f = Math.max(0, Math.min(1, (clientX - box.left) / box.width));
    var t = state.start.getTime() + f * (state.end.getTime() - state.start.getTime());
    return new Date(Math.round(t / SNAP_MS) * SNAP_MS);
  }
  function wallInput(d) { var w = zone.wall(d).replace(" ", "T"); return w.slice(17) === "00" ? w.slice(0, 16) : w; }
  function describe(s) {
    var text = NAMES[s.mode] || s.mode;
    if (s.power_w) { text += " " + s.power_w + " W"; }
    if (s.max_w) { text += " ≤ " + s.max_w + " W"; }
    return text;
  }

  // -- loading -----------------------------------------------------------------------------------------
  function load() {
    var now = new Date();
    state.start = zone.day(now, 0);
    state.end = zone.day(now, 2);
    var range = "start=" + encodeURIComponent(iso(state.start)) + "&end=" + encodeURIComponent(iso(state.end));
    return Promise.all([
      getJSON(api + "/schedule"),
      getJSON(api + "/schedule/spans?" + range),
      getJSON(api + "/prices?" + range),
      getJSON(api + "/telemetry?points=576&start=" + encodeURIComponent(iso(state.start)) + "&end=" + encodeURIComponent(iso(now)))
    ]).then(function (got) {
      state.schedule = got[0].body;
      state.etag = got[0].etag;
      state.spans = got[1].body.spans;
      document.getElementById("tl-version").textContent = "Schedule version " + got[1].body.version + ".";
      drawLane();
      drawChart(got[2].body.intervals, got[3].body);
      drawWeek();
      root.dataset.loaded = String(+(root.dataset.loaded || 0) + 1);
    }).catch(function (err) { document.getElementById("tl-help").textContent = "Timeline unavailable: " + err.message; });
  }

  // -- the slot lane -----------------------------------------------------------------------------------
  function drawHours() {
    var hours = document.getElementById("tl-hours");
    hours.textContent = "";
    var step = lane.getBoundingClientRect().width < 700 ? 6 : 3;  // labels that fit on a phone
    for (var h = 0; h <= 48; h += step) {
      var at = zone.fromWall(zone.wall(zone.day(state.start, Math.floor(h / 24))).slice(0, 10) + " " + String(h % 24).padStart(2, "0") + ":00");
      var label = document.createElement("span");
      label.style.left = pct(at) + "%";
      label.textContent = h % 24 === 0 ? zone.wall(at).slice(5, 10) : String(h % 24).padStart(2, "0") + ":00";
      if (h % 24 === 0) { label.className = "midnight"; }
      hours.appendChild(label);
    }
  }

  function drawLane() {
    drawHours();
    lane.textContent = "";
    state.spans.forEach(function (s, i) {
      var band = document.createElement("div");
      var start = new Date(s.start), end = new Date(s.end);
      band.className = "tl-band bg-" + s.mode + " kind-" + s.kind + (s.kind === "default" ? " default" : "");
      band.style.left = pct(start) + "%";
      band.style.width = (pct(end) - pct(start)) + "%";
      band.dataset.span = String(i);
      band.dataset.kind = s.kind;
      band.setAttribute("role", "listitem");
      band.title = zone.hhmm(start) + "–" + zone.hhmm(end) + " " + describe(s) + (s.plan && s.plan.reason ? " · " + s.plan.reason : "");
      band.textContent = describe(s);
      if (editable && s.kind !== "default") {
        ["start", "end"].forEach(function (edge) {
          var handle = document.createElement("span");
          handle.className = "edge " + edge;
          handle.dataset.edge = edge;
          band.appendChild(handle);
        });
      }
      lane.appendChild(band);
    });
    var now = new Date();
    if (now > state.start && now < state.end) {
      var line = document.createElement("div");
      line.className = "tl-now";
      line.style.left = pct(now) + "%";
      lane.appendChild(line);
    }
  }

  // Pointer gestures on the lane: a tap on a band edits it, a drag on an edge moves that edge,
  // a drag across time (on empty time or the default) selects a range for a new slot.
  var gesture = null;
  lane.addEventListener("pointerdown", function (ev) {
    var band = ev.target.closest(".tl-band");
    var span = band ? state.spans[+band.dataset.span] : null;
    gesture = { x: ev.clientX, band: band, span: span, edge: ev.target.dataset.edge || null, moved: false };
    lane.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  lane.addEventListener("pointermove", function (ev) {
    if (!gesture || Math.abs(ev.clientX - gesture.x) < 4) { return; }
    gesture.moved = true;
    if (!editable) { return; }
    var t = timeAt(ev.clientX);
    if (gesture.edge && gesture.band) {
      var s = gesture.span;
      var start = gesture.edge === "start" ? t : new Date(s.start), end = gesture.edge === "end" ? t : new Date(s.end);
      if (end > start) {
        gesture.band.style.left = pct(start) + "%";
        gesture.band.style.width = (pct(end) - pct(start)) + "%";
        gesture.range = [start, end];
      }
    } else if (!gesture.span || gesture.span.kind === "default") {
      var a = timeAt(gesture.x), b = t;
      if (!gesture.sel) { gesture.sel = document.createElement("div"); gesture.sel.className = "tl-select"; lane.appendChild(gesture.sel); }
      var lo = a < b ? a : b, hi = a < b ? b : a;
      gesture.sel.style.left = pct(lo) + "%";
      gesture.sel.style.width = (pct(hi) - pct(lo)) + "%";
      gesture.range = [lo, hi];
    }
  });
  lane.addEventListener("pointerup", function (ev) {
    if (lane.hasPointerCapture(ev.pointerId)) { lane.releasePointerCapture(ev.pointerId); }
    var g = gesture;
    gesture = null;
    if (!g) { return; }
    if (!g.moved) {
      if (g.span && g.span.kind !== "default") { openEditor(g.span); }
      else if (editable) { var s = g.span || {}; openNew(new Date(s.start || state.start), new Date(s.end || state.end)); }
      return;
    }
    if (!editable || !g.range || g.range[1] <= g.range[0]) { drawLane(); return; }
    if (g.edge) { saveTimes(g.span, g.range[0], g.range[1]); }
    else { openNew(g.range[0], g.range[1]); }
  });

  // -- the editor panel --------------------------------------------------------------------------------
  var panel = document.getElementById("tl-editor");
  var form = document.getElementById("tl-form");

  function setTimeInputs(recurring) {
    ["start", "end"].forEach(function (name) { form.elements[name].type = recurring ? "time" : "datetime-local"; });
  }
  function shownTime(text) { var t = String(text).slice(0, 8); return t.slice(5) === ":00" ? t.slice(0, 5) : t; }
  function shownDated(text) {  // an offset is converted to the schedule's zone; a naive time is already local
    if (/([Zz]|[+-]\d\d:\d\d)$/.test(text)) { return wallInput(new Date(text)); }
    var t = String(text).slice(0, 19);
    return t.length === 19 && t.slice(16) === ":00" ? t.slice(0, 16) : t;
  }
  function storedSlot(span) { return state.schedule[span.kind][span.index]; }

  function openEditor(span) {
    var slot = storedSlot(span);
    state.editing = { span: span, shown: {} };
    var recurring = span.kind === "recurring";
    setTimeInputs(recurring);
    document.getElementById("tl-editor-title").textContent = (recurring ? "Weekly slot (" + slot.days.join(", ") + ")" : "Dated slot") + (slot.id ? " · " + slot.id : "");
    var start = recurring ? shownTime(slot.start) : shownDated(slot.start);
    var end = recurring ? shownTime(slot.end) : shownDated(slot.end);
    fill({ start: start, end: end, mode: slot.mode, power_w: slot.power_w, max_w: slot.max_w });
    document.getElementById("tl-delete").hidden = false;
    document.getElementById("tl-plan").textContent = slot.plan ? "Planned by " + slot.plan.planner + ": " + (slot.plan.reason || "") : "";
    show(span);
  }
  function openNew(start, end) {
    state.editing = { span: null, shown: {} };
    setTimeInputs(false);
    document.getElementById("tl-editor-title").textContent = "New dated slot";
    fill({ start: wallInput(start), end: wallInput(end), mode: "netzero" });
    document.getElementById("tl-delete").hidden = true;
    document.getElementById("tl-plan").textContent = "";
    show(null);
  }
  function fill(values) {
    ["start", "end", "mode", "power_w", "max_w"].forEach(function (name) {
      form.elements[name].value = values[name] === null || values[name] === undefined ? "" : String(values[name]);
      state.editing.shown[name] = form.elements[name].value;
    });
    document.getElementById("tl-errors").textContent = "";
  }
  function show(span) {
    document.querySelectorAll(".tl-band.selected").forEach(function (b) { b.classList.remove("selected"); });
    if (span) { var i = state.spans.indexOf(span); var b = lane.querySelector("[data-span='" + i + "']"); if (b) { b.classList.add("selected"); } }
    panel.hidden = false;
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = !editable && el.id !== "tl-cancel"; });
    panel.scrollIntoView({ block: "nearest" });
  }
  document.getElementById("tl-cancel").addEventListener("click", function () { panel.hidden = true; drawLane(); });

  // A field left as shown keeps its stored value (an offset, seconds): saving without edits changes nothing.
  function slotFromForm(stored) {
    var slot = stored ? JSON.parse(JSON.stringify(stored)) : {};
    var shown = state.editing.shown, changed = false;
    ["start", "end", "mode", "power_w", "max_w"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (stored && value === shown[name]) { return; }
      changed = true;
      if (name === "power_w" || name === "max_w") { if (value) { slot[name] = parseInt(value, 10); } else { delete slot[name]; } }
      else if (name === "mode") { slot.mode = value; }
      else { slot[name] = value.length === 16 || value.length === 5 ? value + ":00" : value; }
    });
    if (changed) { delete slot.plan; }
    var mode = slot.mode;
    if (mode !== "charge" && mode !== "discharge") { delete slot.power_w; }
    if (mode !== "netzero" && mode !== "netzero_plus") { delete slot.max_w; }
    if (mode !== "netzero") { delete slot.target_offset_w; }
    return slot;
  }

  function put(body) {
    return fetch(api + "/schedule", {
      method: "PUT", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json", "If-Match": state.etag, "X-CSRF-Token": csrf }
    }).then(function (r) {
      return r.json().then(function (reply) {
        if (r.ok) { panel.hidden = true; return load(); }
        var box = document.getElementById("tl-errors");
        box.textContent = "";
        var items = r.status === 412 ? [{ msg: "Someone else changed the schedule meanwhile; it has been reloaded: please make your change again." }]
          : (reply.errors || [{ msg: reply.detail || ("HTTP " + r.status) }]);
        items.forEach(function (item) {
          var li = document.createElement("li");
          li.textContent = (item.slot ? item.slot + " " : "") + (item.field ? item.field + ": " : "") + item.msg;
          box.appendChild(li);
        });
        panel.hidden = false;
        if (r.status === 412) { load(); }
      });
    });
  }
  function copySchedule() { return JSON.parse(JSON.stringify(state.schedule)); }

  function save(ev) {
    ev.preventDefault();
    var body = copySchedule();
    var span = state.editing.span;
    if (span) { body[span.kind][span.index] = slotFromForm(storedSlot(span)); }
    else { body.dated = (body.dated || []).concat([slotFromForm(null)]); }
    put(body);
  }
  form.addEventListener("submit", save);
  document.getElementById("tl-delete").addEventListener("click", function () {
    var span = state.editing && state.editing.span;
    if (!span) { return; }
    var body = copySchedule();
    body[span.kind].splice(span.index, 1);
    put(body);
  });

  // Dragged edges: a dated slot gets the new wall times; a weekly slot the new times of day.
  function saveTimes(span, start, end) {
    var body = copySchedule();
    var slot = body[span.kind][span.index];
    delete slot.plan;
    if (span.kind === "dated") {
      if (start.getTime() !== new Date(span.start).getTime()) { slot.start = zone.wall(start).replace(" ", "T"); }
      if (end.getTime() !== new Date(span.end).getTime()) { slot.end = zone.wall(end).replace(" ", "T"); }
    } else {
      if (start.getTime() !== new Date(span.start).getTime()) { slot.start = zone.wall(start).slice(11); }
      if (end.getTime() !== new Date(span.end).getTime()) { slot.end = zone.wall(end).slice(11); }
    }
    put(body);
  }

  // -- the chart ---------------------------------------------------------------------------------------
  function drawChart(prices, tel) {
    var x0 = zone.wall(state.start), x1 = zone.wall(state.end);
    var traces = [];
    if (prices.length) {
      var px = [], py = [];
      prices.forEach(function (p) { px.push(zone.wall(new Date(p.start))); py.push(p.import_eur_per_kwh); });
      px.push(zone.wall(new Date(prices[prices.length - 1].end))); py.push(prices[prices.length - 1].import_eur_per_kwh);
      traces.push({ x: px, y: py, name: "price €/kWh", mode: "lines", line: { shape: "hv", color: "#444" }, yaxis: "y3" });
      document.getElementById("tl-prices").textContent = "Prices until " + zone.wall(new Date(prices[prices.length - 1].end)).slice(0, 16) + ".";
    } else {
      document.getElementById("tl-prices").textContent = "No day-ahead prices yet.";
    }
    var t = tel.t.map(function (s) { return zone.wall(new Date(s)); });
    traces.push({ x: t, y: tel.grid_w.mean, name: "grid W", mode: "lines", line: { color: "#d62728", width: 1.2 }, connectgaps: false });
    traces.push({ x: t, y: tel.battery_w.mean, name: "battery W", mode: "lines", line: { color: "#1f77b4", width: 1.2 }, connectgaps: false });
    traces.push({ x: t, y: tel.soc_pct.mean, name: "SoC %", mode: "lines", line: { color: "#9467bd", width: 2 }, yaxis: "y2", connectgaps: false });
    var ex = [], ey = [];
    state.spans.forEach(function (s) {
      if (s.plan && s.plan.expected_soc_start_pct !== null && s.plan.expected_soc_end_pct !== null &&
          s.plan.expected_soc_start_pct !== undefined && s.plan.expected_soc_end_pct !== undefined) {
        ex.push(zone.wall(new Date(s.start)), zone.wall(new Date(s.end)), null);
        ey.push(s.plan.expected_soc_start_pct, s.plan.expected_soc_end_pct, null);
      }
    });
    if (ex.length) {
      traces.push({ x: ex, y: ey, name: "expected SoC %", mode: "lines", line: { color: "#9467bd", dash: "dash", width: 1.5 }, yaxis: "y2" });
    }
    var shapes = state.spans.filter(function (s) { return s.kind !== "default"; }).map(function (s) {
      return { type: "rect", xref: "x", yref: "paper", x0: zone.wall(new Date(s.start)), x1: zone.wall(new Date(s.end)), y0: 0, y1: 1,
        fillcolor: COLORS[s.mode] || "#ccc", opacity: 0.16, line: { width: 0 }, layer: "below" };
    });
    var layout = {
      margin: { l: 50, r: 50, t: 10, b: 70 }, hovermode: "x unified", shapes: shapes, showlegend: true,
      legend: { orientation: "h", y: -0.22 }, dragmode: false, height: 400,  // fixed: a resize never shifts the page
      xaxis: { range: [x0, x1], type: "date", title: { text: "time (" + zone.name + ")" } },
      yaxis: { title: { text: "W" }, domain: [0, 0.62], zeroline: true },
      yaxis2: { title: { text: "SoC %" }, overlaying: "y", side: "right", range: [0, 100], showgrid: false,
        tickmode: "linear", tick0: 0, dtick: 25 },
      yaxis3: { title: { text: "€/kWh" }, domain: [0.7, 1] }
    };
    Plotly.react("tl-chart", traces, layout, { responsive: true, displaylogo: false });
  }

  // -- the week strip ----------------------------------------------------------------------------------
  function seconds(text) { var p = String(text).split(":"); return +p[0] * 3600 + +p[1] * 60 + +(p[2] || 0); }
  function drawWeek() {
    var strip = document.getElementById("tl-weekstrip");
    strip.textContent = "";
    DAYS.forEach(function (day) {
      var col = document.createElement("div");
      col.className = "tl-day";
      col.dataset.day = day;
      var h = document.createElement("h3"); h.textContent = day.charAt(0).toUpperCase() + day.slice(1); col.appendChild(h);
      strip.appendChild(col);
    });
    (state.schedule.recurring || []).forEach(function (slot, index) {
      var from = seconds(slot.start), to = seconds(slot.end);
      var length = to > from ? to - from : 86400 - from + to;
      slot.days.forEach(function (day) {
        var pieces = [[DAYS.indexOf(day), from, Math.min(86400, from + length)]];
        if (from + length > 86400) { pieces.push([(DAYS.indexOf(day) + 1) % 7, 0, from + length - 86400]); }
        pieces.forEach(function (p) {
          var block = document.createElement("div");
          block.className = "tl-wslot bg-" + slot.mode;
          block.style.top = "calc(1.1rem + " + (p[1] / 86400) + " * (100% - 1.1rem))";
          block.style.height = "calc(" + ((p[2] - p[1]) / 86400) + " * (100% - 1.1rem))";
          block.textContent = slot.start.slice(0, 5) + " " + (NAMES[slot.mode] || slot.mode);
          block.title = slot.start.slice(0, 5) + "–" + slot.end.slice(0, 5) + " " + describe(slot) + " (" + zone.name + ")";
          block.dataset.index = String(index);
          block.addEventListener("click", function () {
            var span = state.spans.filter(function (s) { return s.kind === "recurring" && s.index === index; })[0] ||
              { kind: "recurring", index: index, start: iso(state.start), end: iso(state.start) };
            openEditor(span);
          });
          strip.children[p[0]].appendChild(block);
        });
      });
    });
  }

  load();
  setInterval(load, 60000);
})();
