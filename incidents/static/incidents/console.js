/* The incident console's "Post an update" form, made quick to use and hard to get wrong.
   A file (not inline) so that it runs under the Content-Security-Policy; the form works
   without it. See docs/architecture.md, 'The operator console'. */
(function () {
  "use strict";
  const section = document.getElementById("post-update");
  if (!section) return;
  const form = section.closest("form");
  const closing = (section.dataset.closing || "").split(" ");
  const starting = (section.dataset.starting || "").split(" ");
  const body = section.querySelector("textarea[name=update_body]");
  const closingBodies = {
    resolved: "This incident has been resolved.",
    completed: "The scheduled maintenance has been completed.",
  };

  /* 1. Say what "Unchanged" means for the chosen status; offer the usual closing text. */
  function relabel(event) {
    const checked = section.querySelector("input[name=update_status]:checked");
    const status = checked ? checked.value : "";
    let label = "Unchanged";
    if (closing.includes(status)) label = "Let the resolve rule decide";
    else if (starting.includes(status)) label = "Under maintenance (default)";
    section.querySelectorAll("table.component-statuses select:not(.set-all)").forEach(function (select) {
      const unchanged = select.querySelector('option[value=""]');
      if (unchanged && unchanged.textContent !== "—") unchanged.textContent = label;
    });
    if (!event) return;  // on load: never fill anything in by itself
    if (body && !body.value.trim() && closingBodies[status]) {
      body.value = closingBodies[status];
      body.dataset.filled = "closing";
    } else if (body && body.dataset.filled === "closing" && !closingBodies[status]) {
      if (Object.values(closingBodies).includes(body.value)) body.value = "";
      delete body.dataset.filled;
    }
  }
  section.querySelectorAll("input[name=update_status]").forEach(function (radio) {
    radio.addEventListener("change", relabel);
  });
  relabel(null);

  /* 2. Templates fill the form in place. What the operator typed or chose is kept: a
     template fills only empty fields, and fields it filled itself. */
  const data = document.getElementById("incident-templates");
  const templates = data ? JSON.parse(data.textContent) : [];
  const note = section.querySelector(".template-note");
  function fillable(element) {
    return element && (!element.value.trim() || element.dataset.filled === "template" ||
                       element.dataset.filled === "closing");
  }
  function applyTemplate(template) {
    let kept = 0;
    const title = form.querySelector("input[name=name]");
    [[title, template.title], [body, template.body]].forEach(function (pair) {
      const [element, value] = pair;
      if (!element || !value) return;
      if (fillable(element)) { element.value = value; element.dataset.filled = "template"; }
      else if (element.value !== value) kept += 1;
    });
    const statusChanged = section.querySelector("input[name=update_status][data-touched]");
    if (template.status && !statusChanged) {
      const radio = section.querySelector('input[name=update_status][value="' + template.status + '"]');
      if (radio) { radio.checked = true; relabel(null); }
    }
    Object.entries(template.components).forEach(function (entry) {
      const select = form.querySelector('select[name="' + entry[0] + '"]');
      if (!select) return;
      if (select.value === "" || select.dataset.filled === "template") {
        select.value = entry[1];
        select.dataset.filled = "template";
      } else if (select.value !== entry[1]) {
        kept += 1;
      }
      const details = select.closest("details");
      if (details) details.open = true;
    });
    section.querySelectorAll(".templates a").forEach(function (link) {
      link.classList.toggle("current", link.dataset.template === String(template.id));
    });
    if (note) {
      note.textContent = kept === 0 ? "Template filled in." :
        "Template filled in; what you had typed or chosen was kept (" + kept +
        (kept === 1 ? " field)." : " fields).");
    }
  }
  section.querySelectorAll(".templates a[data-template]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      const template = templates.find(function (t) { return String(t.id) === link.dataset.template; });
      if (!template) return;  // follow the link: the server fills the form instead
      event.preventDefault();
      applyTemplate(template);
    });
  });
  form.addEventListener("input", function (event) {
    if (event.target.dataset) delete event.target.dataset.filled;  // typed by hand: keep it
  });
  form.addEventListener("change", function (event) {
    const target = event.target;
    if (target.name === "update_status" && event.isTrusted) target.dataset.touched = "1";
    if (target.matches("select:not(.set-all)")) delete target.dataset.filled;
  });

  /* 3. Components: a filter box, and "set all" for each group. */
  const filterRow = section.querySelector(".component-filter-row");
  const filter = section.querySelector(".component-filter");
  if (filterRow && filter) {
    filterRow.hidden = false;
    filter.addEventListener("input", function () {
      const words = filter.value.trim().toLowerCase();
      section.querySelectorAll("tr.component-row").forEach(function (row) {
        row.hidden = Boolean(words) && !row.dataset.name.includes(words);
      });
      section.querySelectorAll("tbody[data-group]").forEach(function (group) {
        const shown = group.querySelector("tr.component-row:not([hidden])");
        group.hidden = !shown;
      });
      if (words) section.querySelectorAll("details.other-components").forEach(function (d) { d.open = true; });
    });
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();  // Enter in the filter must not post
    });
  }
  section.querySelectorAll(".set-all-cell, .set-all-row").forEach(function (cell) { cell.hidden = false; });
  section.querySelectorAll("select.set-all").forEach(function (setAll) {
    setAll.addEventListener("change", function () {
      if (!setAll.value) return;
      const value = setAll.value === "__unchanged__" ? "" : setAll.value;
      // A group's "set all" sets its rows; "all affected components" every row of its table.
      const scope = setAll.dataset.scope === "table" ? setAll.closest("table") : setAll.closest("tbody");
      scope.querySelectorAll("tr.component-row:not([hidden]) select").forEach(function (select) {
        select.value = value;
        delete select.dataset.filled;
      });
      setAll.value = "";  // back to "Set all…": the rows show what was set
    });
  });

  /* 4. One click, one update: a double click must not post twice. */
  form.addEventListener("submit", function () {
    form.querySelectorAll("input[type=submit]").forEach(function (button) {
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();
