(function () {
  "use strict";
  // The tabs (ARIA tablist; the URL's hash names the tab) and the views drawn in them from the
  // deflated JSON in #report-views, parsed when a view's tab is first opened, drawn a page at a time.
  var visibleText = window.novaReport.visibleText, PAGE = 100, SUBAGENTS = 500;  // rows a page; subagents drawn
  var tablist = document.querySelector("[role=tablist]"), tabs = [].slice.call(tablist.querySelectorAll("[role=tab]"));
  var data = null, loading = null, drawn = {};
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = visibleText(String(text)); }
    return node;
  }
  function link(id) {  // a record's link: only ever "#r-" and an integer
    if (typeof id !== "number" || !Number.isInteger(id)) { return el("span", "", "-"); }
    var a = el("a", "", "#" + id);
    a.href = "#r-" + id;
    return a;
  }
  function links(ids) {  // ids, a negative last number counting those left out
    var span = el("span", "ids");
    ids.forEach(function (id) {
      if (id < 0) { span.appendChild(el("span", "more", "\u2026 and " + (-id) + " more")); }
      else { span.appendChild(link(id)); }
      span.appendChild(document.createTextNode(" "));
    });
    return span;
  }
  function many(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }
  function count(ids) { return ids.reduce(function (n, id) { return n + (id < 0 ? -id : 1); }, 0); }
  function ms(value) {
    if (typeof value !== "number") { return ""; }
    return value < 10000 ? value + " ms" : (value / 1000).toFixed(1) + " s";
  }
  function load(done) {  // the views' JSON, inflated once
    if (data !== null) { done(); return; }
    if (loading === null) {
      loading = [];
      var node = document.getElementById("report-views"), packed = atob(node.textContent);
      var bytes = new Uint8Array(packed.length);
      for (var k = 0; k < packed.length; k += 1) { bytes[k] = packed.charCodeAt(k); }
      node.textContent = "";
      new Response(new Response(bytes).body.pipeThrough(new DecompressionStream("deflate"))).text().then(function (t) {
        data = JSON.parse(t);
        loading.forEach(function (f) { f(); });
      }).catch(function (e) { document.body.setAttribute("data-report-state", "error: " + e); });
    }
    loading.push(done);
  }
  // A table drawn a page at a time, with a filter on each item's text.
  function pager(panel, items, head, cells, text, note) {
    var bar = el("div", "pager"), filter = el("input"), info = el("span", "shown");
    var previous = el("button", "", "\u2190 previous"), next = el("button", "", "next \u2192");
    var table = el("table", "view"), body = el("tbody"), shown = items, page = 0, lowered = null;
    filter.type = "search";
    filter.placeholder = "filter";
    filter.setAttribute("aria-label", "filter this list");
    previous.type = next.type = "button";
    var row = el("tr");
    head.forEach(function (name) { row.appendChild(el("th", "", name)); });
    table.appendChild(el("thead")).appendChild(row);
    table.appendChild(body);
    [filter, previous, next, info].forEach(function (node) { bar.appendChild(node); });
    function draw() {
      var first = page * PAGE, last = Math.min(shown.length, first + PAGE), fragment = document.createDocumentFragment();
      for (var k = first; k < last; k += 1) {
        var tr = el("tr");
        cells(shown[k]).forEach(function (cell) {
          var td = tr.appendChild(el("td"));
          if (cell instanceof Node) { td.appendChild(cell); } else { td.textContent = visibleText(String(cell)); }
        });
        fragment.appendChild(tr);
      }
      body.replaceChildren(fragment);
      info.textContent = (shown.length ? first + 1 : 0) + "\u2013" + last + " of " + shown.length +
        (shown.length === items.length ? "" : " (filtered from " + items.length + ")");
      previous.disabled = page === 0;
      next.disabled = last >= shown.length;
    }
    filter.addEventListener("input", function () {
      var q = filter.value.toLowerCase();
      if (lowered === null) { lowered = items.map(function (item) { return text(item).toLowerCase(); }); }
      shown = q ? items.filter(function (item, k) { return lowered[k].indexOf(q) >= 0; }) : items;
      page = 0;
      draw();
    });
    previous.addEventListener("click", function () { page -= 1; draw(); });
    next.addEventListener("click", function () { page += 1; draw(); });
    panel.replaceChildren(el("p", "note", note), bar, table);
    draw();
  }
  function agentName(n) {
    return n ? "[agent " + (data.subagents[n - 1][1] ? data.subagents[n - 1][1] + " " : "") + data.subagents[n - 1][0] + "]" : "main";
  }
  var VIEWS = {
    files: function (panel) {  // [path, reads, writes, other, flags, ids]
      pager(panel, data.files, ["path", "read", "written", "other", "calls"], function (f) {
        var path = el("span", "path");
        path.appendChild(el("code", "", f[0]));
        [[2, "sensitive"], [1, "outside the project"], [4, "never finished"]].forEach(function (flag) {
          if (f[4] & flag[0]) { path.appendChild(el("span", "badge b" + flag[0], flag[1])); }
        });
        return [path, f[1], f[2], f[3], links(f[5])];
      }, function (f) { return f[0]; }, data.files.length + " files, the sensitive and those outside the project first; " +
        "each with the calls that touched it.");
    },
    commands: function (panel) {  // [id, command, outcome, duration, agent]
      pager(panel, data.commands, ["call", "outcome", "duration", "agent", "command"], function (c) {
        var outcome = data.outcomes[c[2]];
        return [link(c[0]), el("span", "outcome o-" + outcome, outcome), ms(c[3]), agentName(c[4]), el("code", "cmd", c[1])];
      }, function (c) { return c[1] + " " + data.outcomes[c[2]]; }, data.commands.length +
        " Bash commands in the order they ran (failed: an error; denied: refused; unfinished: never closed).");
    },
    network: function (panel) {  // [kind, target, ids]
      pager(panel, data.network, ["kind", "target", "calls", "ids"], function (n) {
        return [n[0], el("code", "", n[1]), count(n[2]), links(n[2])];
      }, function (n) { return n[0] + " " + n[1]; }, data.network.length + " places: URLs fetched, web searches, " +
        "hosts named by network commands (curl, wget, git, pip, ...), MCP servers. Shown as text, never as links.");
    },
    prompts: function (panel) {  // [id, text]
      pager(panel, data.prompts, ["prompt", "text"], function (p) {
        return [link(p[0]), el("pre", "prompt", p[1])];
      }, function (p) { return p[1]; }, data.prompts.length + " prompts, as text.");
    },
    subagents: function (panel) {  // main: [calls, starting calls]; subagents: [id, type, ids, started by]
      var root = el("ul", "tree"), main = root.appendChild(el("li")), children = el("ul");
      main.appendChild(el("b", "", "main agent"));
      main.appendChild(document.createTextNode(" " + many(data.main[0], "call") +
        (data.main[1].length ? "; started subagents with " : "")));
      main.appendChild(links(data.main[1]));
      main.appendChild(children);
      data.subagents.slice(0, SUBAGENTS).forEach(function (a) {
        var item = children.appendChild(el("li"));
        item.appendChild(el("b", "", a[1] || "(no type)"));
        item.appendChild(el("code", "", " " + a[0]));
        item.appendChild(document.createTextNode(" " + many(count(a[2]), "call") + "; started by "));
        item.appendChild(a[3] === null ? el("span", "", "(not found)") : link(a[3]));
        item.appendChild(el("div", "calls")).appendChild(links(a[2]));
      });
      if (data.subagents.length > SUBAGENTS) {
        children.appendChild(el("li", "more", "\u2026 and " + (data.subagents.length - SUBAGENTS) + " more (nova-session show --json has them all)"));
      }
      panel.replaceChildren(el("p", "note", many(data.subagents.length, "subagent") +
        " under the main agent, each with the Task/Agent call that started it and its own calls."), root);
    }
  };
  function show(name, focus) {
    var found = false;
    tabs.forEach(function (tab) {
      var on = tab.id === "t-" + name, panel = document.getElementById(tab.getAttribute("aria-controls"));
      found = found || on;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
      if (on && focus) { tab.focus(); }
    });
    if (!found) { return; }
    if (name === "timeline") { window.dispatchEvent(new Event("resize")); }  // the list draws what is now in view
    if (VIEWS[name] && !drawn[name]) {
      drawn[name] = true;
      load(function () { VIEWS[name](document.getElementById("tab-" + name)); });
    }
  }
  function fromHash() {
    var hash = location.hash.slice(1);
    if (/^tab-[a-z]+$/.test(hash)) { show(hash.slice(4)); }
    else if (/^r-|^search=|^attention$/.test(hash)) { show("timeline"); }
  }
  function select(tab, focus) {
    var name = tab.id.slice(2);
    show(name, focus);
    history.replaceState(null, "", "#tab-" + name);
  }
  tablist.addEventListener("click", function (event) {
    var tab = event.target.closest("[role=tab]");
    if (tab) { event.preventDefault(); select(tab, false); }
  });
  tablist.addEventListener("keydown", function (event) {  // the ARIA tabs pattern: arrows, Home and End select
    var at = tabs.indexOf(event.target), to = -1;
    if (at < 0) { return; }
    if (event.key === "ArrowRight") { to = (at + 1) % tabs.length; }
    else if (event.key === "ArrowLeft") { to = (at + tabs.length - 1) % tabs.length; }
    else if (event.key === "Home") { to = 0; }
    else if (event.key === "End") { to = tabs.length - 1; }
    else if (event.key === " ") { to = at; }
    if (to >= 0) { event.preventDefault(); select(tabs[to], true); }
  });
  document.addEventListener("keydown", function (event) {  // "/" searches the timeline from any tab
    var target = event.target;
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey ||
        /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) || target.isContentEditable) { return; }
    if (document.getElementById("tab-timeline").hidden) { select(document.getElementById("t-timeline"), false); }
    event.preventDefault();
    document.getElementById("f-search").focus();
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
}());
