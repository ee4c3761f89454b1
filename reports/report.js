/* report.html filters: tenant id text, status, rule. Reads only data-* attributes and
   toggles `hidden`; the state lives in the URL fragment (#q=..&status=..&rule=..) so a
   filtered view can be linked to. Without JavaScript the page reads as is. */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form || !window.URLSearchParams) { return; }
  var q = document.getElementById("f-q");
  var status = document.getElementById("f-status");
  var rule = document.getElementById("f-rule");
  var count = document.getElementById("f-count");
  var none = document.getElementById("f-none");
  var tenants = document.querySelectorAll("#tenants > .tenant");
  var total = tenants.length;

  function has(list, word) {
    return (" " + list + " ").indexOf(" " + word + " ") !== -1;
  }

  function matches(d, text, st, ru) {
    if (text && d.tenant.toLowerCase().indexOf(text) === -1) { return false; }
    if (st === "problem" ? d.status === "pass" : (st && d.status !== st)) { return false; }
    // With Status "pass", a rule picks the tenants that pass it; otherwise those failing it.
    return !ru || (st === "pass" ? !has(d.rules, ru) : has(d.rules, ru));
  }

  function apply() {
    var text = q.value.trim().toLowerCase(), st = status.value, ru = rule.value, shown = 0;
    for (var i = 0; i < total; i++) {
      var t = tenants[i], ok = matches(t.dataset, text, st, ru);
      t.hidden = !ok;
      if (!ok) { continue; }
      shown++;
      var rows = t.querySelectorAll("[data-rule]");
      for (var j = 0; j < rows.length; j++) {
        rows[j].hidden = !!ru && rows[j].getAttribute("data-rule") !== ru;
      }
    }
    count.textContent = "Showing " + shown + " of " + total + " tenants";
    none.hidden = shown !== 0;
  }

  function toHash() {
    var p = new URLSearchParams();
    if (q.value.trim()) { p.set("q", q.value.trim()); }
    if (status.value) { p.set("status", status.value); }
    if (rule.value) { p.set("rule", rule.value); }
    var h = p.toString();
    try { history.replaceState(null, "", h ? "#" + h : location.pathname + location.search); } catch (e) { /* file: URL quirks */ }
  }

  function select(el, value) {
    for (var i = 0; i < el.options.length; i++) {
      if (el.options[i].value === value) { el.value = value; return; }
    }
    el.value = "";
  }

  function fromHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    q.value = p.get("q") || "";
    select(status, p.get("status") || "");
    select(rule, p.get("rule") || "");
    apply();
  }

  var timer = 0;
  q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { apply(); toHash(); }, 120);
  });
  status.addEventListener("change", function () { apply(); toHash(); });
  rule.addEventListener("change", function () { apply(); toHash(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.addEventListener("reset", function () {
    setTimeout(function () { apply(); toHash(); }, 0);
  });
  window.addEventListener("hashchange", fromHash);

  function openAll(open) {
    for (var i = 0; i < total; i++) {
      if (!tenants[i].hidden) { tenants[i].open = open; }
    }
  }
  document.getElementById("f-open").addEventListener("click", function () { openAll(true); });
  document.getElementById("f-close").addEventListener("click", function () { openAll(false); });

  document.documentElement.className += " js";
  form.hidden = false;
  fromHash();
}());
