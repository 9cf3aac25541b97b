// Wall-clock time in one IANA zone (the schedule's), whatever zone the browser is in. Hand-written, small.
(function () {
  "use strict";
  window.zsmZone = function (name) {
    var format = new Intl.DateTimeFormat("en-CA", {
      timeZone: name, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
    function parts(d) {
      var o = {};
      format.formatToParts(d).forEach(function (p) { o[p.type] = p.value; });
      return o;
    }
    function wall(d) {  // Date -> "YYYY-MM-DD HH:MM:SS" in the zone
      var p = parts(d);
      return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
    }
    function offsetMs(d) {
      var p = parts(d);
      return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(d.getTime() / 1000) * 1000;
    }
    function fromWall(text) {  // "YYYY-MM-DD[ T]HH:MM[:SS[.fff]]" in the zone -> Date
      var m = String(text).match(/^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d(?:\.\d+)?))?)?/);
      if (!m) { return new Date(NaN); }
      var guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0)) + (m[6] ? parseFloat(m[6]) * 1000 : 0);
      var first = guess - offsetMs(new Date(guess));
      return new Date(guess - offsetMs(new Date(first)));
    }
    function day(d, plus) {  // midnight (in the zone) of d's day + plus days
      var p = parts(d);
      var date = new Date(Date.UTC(+p.year, +p.month - 1, +p.day + (plus || 0)));
      return fromWall(date.toISOString().slice(0, 10) + " 00:00");
    }
    function hhmm(d) { return wall(d).slice(11, 16); }
    return { name: name, wall: wall, fromWall: fromWall, day: day, hhmm: hhmm, parts: parts };
  };
})();
