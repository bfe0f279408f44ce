/* statusportal: optional progressive enhancements. The pages work fully without it.
   - "Show my time zone": rewrites <time datetime data-fmt> in the reader's own zone, so the
     cached page stays the same for every reader, and regroups lists grouped by day or
     month ([data-group-by]: the past incidents of the status page, the history) by the
     reader's dates. The choice is remembered locally. */
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
  // Grouped lists ([data-group-by="day"|"month"]): sections keyed by data-group
  // ("2026-12-02", "2026-12") holding items (data-at, the time they are grouped by).
  var DAY = 86400000;
  function keyIn(date, unit) {
    var p = {};
    new Intl.DateTimeFormat("en-US", { year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    return unit === "month" ? p.year + "-" + p.month : p.year + "-" + p.month + "-" + p.day;
  }
  function keyTime(key) { var d = key.split("-"); return Date.UTC(+d[0], d[1] - 1, +(d[2] || 1)); }
  function groupLabel(key, unit) {
    var options = unit === "month" ? { month: "long", year: "numeric" } : { month: "short", day: "numeric", year: "numeric" };
    options.timeZone = "UTC";
    return new Intl.DateTimeFormat("en-US", options).format(new Date(keyTime(key)));
  }
  // The keys to show, newest first. Days: as many as the page shows, ending on the
  // reader's today; months: those of the page. Both stretched to keep every item.
  function keys(group, byKey) {
    var unit = group.unit, found = Object.keys(byKey), out = [];
    if (unit === "month") {
      var all = group.sections.map(function (s) { return s.getAttribute("data-group"); }).concat(found);
      var months = all.map(function (k) { var d = k.split("-"); return +d[0] * 12 + (d[1] - 1); });
      for (var m = Math.max.apply(null, months); m >= Math.min.apply(null, months); m--) {
        var month = m % 12 + 1;
        out.push(Math.floor(m / 12) + "-" + (month < 10 ? "0" : "") + month);
      }
      return out;
    }
    var today = keyIn(new Date(), "day");
    var first = keyTime(today) - (group.sections.length - 1) * DAY;
    found.forEach(function (k) { first = Math.min(first, keyTime(k)); });
    for (var t = keyTime(today); t >= first; t -= DAY) out.push(new Date(t).toISOString().slice(0, 10));
    return out;
  }
  // A section as the server writes it (templates/status/index.html, history.html).
  function section(unit, key, items) {
    var el = document.createElement("section"), title, empty;
    el.setAttribute("data-group", key);
    if (unit === "month") {
      el.className = "month";
      el.setAttribute("aria-labelledby", "month-local-" + key);
      title = document.createElement("h2");
      title.className = "month-title";
      title.id = "month-local-" + key;
    } else {
      el.className = "day";
      el.setAttribute("aria-label", groupLabel(key, unit));
      title = document.createElement("h3");
      title.className = "day-title";
    }
    title.textContent = groupLabel(key, unit);
    el.appendChild(title);
    if (items.length && unit === "month") {
      var list = document.createElement("ul");
      list.className = "card history-list";
      list.setAttribute("role", "list");
      items.forEach(function (item) { list.appendChild(item); });
      el.appendChild(list);
    } else if (items.length) {
      items.forEach(function (item) { el.appendChild(item); });
    } else {
      empty = document.createElement("p");
      if (unit === "month") {
        empty.className = "card empty";
        empty.textContent = "No incidents reported this month.";
      } else {
        empty.className = "muted";
        empty.textContent = "No incidents reported" + (key === keyIn(new Date(), "day") ? " today." : ".");
      }
      el.appendChild(empty);
    }
    return el;
  }
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-group-by]")).map(function (box) {
    var sections = Array.prototype.slice.call(box.querySelectorAll("section[data-group]"));
    var items = [];
    sections.forEach(function (s) {
      s.querySelectorAll("[data-at]").forEach(function (el) { items.push({ el: el, home: el.parentNode }); });
    });
    return { unit: box.getAttribute("data-group-by"), sections: sections, items: items, made: [] };
  });
  function regroup(group, local) {
    group.made.forEach(function (s) { s.remove(); });
    group.made = [];
    group.items.forEach(function (item) { item.home.appendChild(item.el); });
    group.sections.forEach(function (s) { s.hidden = local; });
    if (!local || !group.sections.length) return;
    var byKey = {};
    group.items.forEach(function (item) {
      var key = keyIn(new Date(item.el.getAttribute("data-at")), group.unit);
      (byKey[key] = byKey[key] || []).push(item.el);
    });
    var last = group.sections[group.sections.length - 1];
    keys(group, byKey).forEach(function (key) {
      var made = section(group.unit, key, byKey[key] || []);
      last.parentNode.insertBefore(made, group.made.length ? group.made[group.made.length - 1].nextSibling : last.nextSibling);
      group.made.push(made);
    });
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
