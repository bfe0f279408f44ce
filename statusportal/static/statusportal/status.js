/* statusportal: optional progressive enhancements. The pages work fully without it.
   - "Show my time zone": rewrites <time datetime data-fmt> in the reader's own zone, so the
     cached page stays the same for every reader, and regroups days ([data-day-groups]:
     the status page's past incidents) by the reader's dates. The choice is remembered
     locally. */
(function () {
  "use strict";
  var KEY = "statusportal.tz";
  var button = document.querySelector("[data-tz-toggle]");
  var label = document.querySelector("[data-tz-label]");
  if (!button || !window.Intl) return;
  var original = new Map();
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function parts(date) {
    var out = {};
    new Intl.DateTimeFormat("en-US", {
      month: "short", day: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function offset(date) {
    var minutes = -date.getTimezoneOffset();
    var sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    return "GMT" + sign + two(Math.floor(minutes / 60)) + ":" + two(minutes % 60);
  }
  function format(el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date)) return null;
    var p = parts(date);
    var hm = p.hour + ":" + p.minute;
    switch (el.getAttribute("data-fmt")) {
      case "posted": return p.month + " " + p.day + ", " + p.year + " - " + hm + " " + offset(date);
      case "short": return p.month + " " + p.day + ", " + hm;
      case "hm": return hm;
      default: return null;
    }
  }
  // Days: "2026-12-02" keys. An item (article[data-at]) belongs to the day of its time.
  var DAY = 86400000;
  function dayKey(date) {
    var p = {};
    new Intl.DateTimeFormat("en-US", { year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day;
  }
  function keyTime(key) { var d = key.split("-"); return Date.UTC(+d[0], d[1] - 1, +d[2]); }
  function keyOf(time) { return new Date(time).toISOString().slice(0, 10); }
  function dayLabel(key) {
    return new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" })
      .format(new Date(keyTime(key)));
  }
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-day-groups]")).map(function (box) {
    var days = Array.prototype.slice.call(box.querySelectorAll("section[data-day]"));
    var items = [];
    days.forEach(function (day) {
      day.querySelectorAll("article[data-at]").forEach(function (item) { items.push({ el: item, home: day }); });
    });
    return { box: box, days: days, items: items, made: [] };
  });
  // The same number of days as the page shows, ending on the reader's today, stretched
  // to keep every item; each heading and "No incidents reported" as the server writes them.
  function regroup(group, local) {
    group.made.forEach(function (section) { section.remove(); });
    group.made = [];
    group.items.forEach(function (item) { item.home.appendChild(item.el); });
    group.days.forEach(function (day) { day.hidden = local; });
    if (!local || !group.days.length) return;
    var today = dayKey(new Date());
    var first = keyTime(today) - (group.days.length - 1) * DAY;
    var byDay = {};
    group.items.forEach(function (item) {
      var key = dayKey(new Date(item.el.getAttribute("data-at")));
      first = Math.min(first, keyTime(key));
      (byDay[key] = byDay[key] || []).push(item.el);
    });
    var after = group.days[group.days.length - 1].nextSibling;
    for (var t = keyTime(today); t >= first; t -= DAY) {
      var key = keyOf(t);
      var section = document.createElement("section");
      section.className = "day";
      section.setAttribute("data-day", key);
      section.setAttribute("aria-label", dayLabel(key));
      var title = document.createElement("h3");
      title.className = "day-title";
      title.textContent = dayLabel(key);
      section.appendChild(title);
      (byDay[key] || []).forEach(function (el) { section.appendChild(el); });
      if (!byDay[key]) {
        var note = document.createElement("p");
        note.className = "muted";
        note.textContent = "No incidents reported" + (key === today ? " today." : ".");
        section.appendChild(note);
      }
      group.box.insertBefore(section, after);
      group.made.push(section);
    }
  }

  function apply(local) {
    groups.forEach(function (group) { regroup(group, local); });
    document.querySelectorAll("time[data-fmt]").forEach(function (el) {
      if (!original.has(el)) original.set(el, el.textContent);
      var text = local ? format(el) : original.get(el);
      if (text) el.textContent = text;
    });
    // Offsets printed next to short spans follow the time just before them.
    document.querySelectorAll("[data-fmt=offset]").forEach(function (el) {
      if (!original.has(el)) original.set(el, el.textContent);
      var time = el.previousElementSibling;
      el.textContent = local && time && time.getAttribute("datetime")
        ? offset(new Date(time.getAttribute("datetime"))) : original.get(el);
    });
    if (label) {
      if (!original.has(label)) original.set(label, label.textContent);
      label.textContent = local ? "Times are shown in your time zone (" + zone + ")." : original.get(label);
    }
    button.textContent = local ? "Show the page's time zone" : "Show my time zone";
    button.setAttribute("aria-pressed", local ? "true" : "false");
  }
  function stored() { try { return localStorage.getItem(KEY) === "local"; } catch (e) { return false; } }
  function store(local) { try { localStorage.setItem(KEY, local ? "local" : "page"); } catch (e) { /* private mode */ } }

  button.hidden = false;
  var local = stored();
  if (local) apply(true);
  button.addEventListener("click", function () {
    local = !local;
    store(local);
    apply(local);
  });
})();

/* Uptime bars and calendar days: one tab stop per component, arrow keys inside (a roving
   tabindex). Left/Right move a day, Up/Down a week (calendars), Home/End the first and
   last day. Each day keeps its own label, announced when it takes the focus. Without
   JavaScript every day stays a tab stop of its own. */
(function () {
  "use strict";
  var STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };

  function rove(days, vertical) {
    if (days.length < 2) return;
    var current = days.length - 1; // the most recent day
    days.forEach(function (day, i) { day.setAttribute("tabindex", i === current ? "0" : "-1"); });
    days.forEach(function (day, i) {
      day.addEventListener("focus", function () {
        days[current].setAttribute("tabindex", "-1");
        current = i;
        day.setAttribute("tabindex", "0");
      });
      day.addEventListener("keydown", function (event) {
        var target = null;
        if (event.key === "Home") target = 0;
        else if (event.key === "End") target = days.length - 1;
        else if (event.key in STEPS) {
          var step = STEPS[event.key];
          if (!vertical && (step === 7 || step === -7)) step = step / 7;
          target = Math.min(days.length - 1, Math.max(0, i + step));
        }
        if (target === null) return;
        event.preventDefault();
        days[target].focus();
      });
    });
  }

  function init() {
    document.querySelectorAll("ol.bars").forEach(function (list) {
      rove(Array.prototype.slice.call(list.querySelectorAll("li[tabindex]")), false);
    });
    document.querySelectorAll(".uptime-component, [data-days]").forEach(function (section) {
      rove(Array.prototype.slice.call(section.querySelectorAll("td.cell[tabindex]")), true);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
