(function () {
  "use strict";
  var body = document.body;
  window.addEventListener("error", function (e) { body.setAttribute("data-report-state", "error: " + e.message); });
  var embedded = document.getElementById("report-data"), data = JSON.parse(embedded.textContent);
  var H = data.row_height, LIMIT = data.field_limit;  // px per row of the list; characters shown of a value
  embedded.textContent = "";  // parsed: the text is not needed twice in memory
  var rows = data.rows, count = rows.length, source = null, starts = null, lowered = null, lowStarts = null, rowText = null;
  var tool = document.getElementById("f-tool"), verdict = document.getElementById("f-verdict");
  var flagged = document.getElementById("f-flag"), search = document.getElementById("f-search");
  var shown = document.getElementById("shown"), list = document.getElementById("timeline");
  var spacer = document.getElementById("spacer"), panel = document.getElementById("detail");
  var visible = [], selected = -1, anchors = {}, drawn = "", frame = 0;
  // Control characters, lone surrogates, bidi overrides and line separators written out, as the server does.
  var UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
  var ANSI = /\u001b\[[0-?]*[ -\/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -\/]*[@-~]/g;
  var SHOWN = ["type", "id", "timestamp", "timestamp_start", "timestamp_end", "duration_ms", "tool_name", "tool_input",
    "tool_output", "files_accessed", "nova_verdict", "nova_severity", "nova_rules_matched", "nova_scan_time_ms",
    "nova_rescan"];
  // row: [classes, anchor, id, turn, time, title, duration, bar %, verdict, summary]
  rows.forEach(function (row, i) { anchors[row[1]] = i; });
  function visibleText(text) {
    return text.replace(UNSAFE, function (found) {
      var code = found.charCodeAt(0);
      return (code < 256 ? "\\x" + ("0" + code.toString(16)).slice(-2) : "\\u" + ("000" + code.toString(16)).slice(-4));
    });
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function pad(number, width) { return ("000" + number).slice(-width); }
  function offset(time) {
    var when = time ? Date.parse(time) : NaN;
    if (isNaN(when)) { return ""; }
    if (data.start === null) {
      var d = new Date(when);
      return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." +
        pad(d.getUTCMilliseconds(), 3);
    }
    var delta = Math.max(0, when - data.start), minutes = Math.floor(delta / 60000);
    return "+" + pad(minutes, 2) + ":" + ("00" + ((delta - minutes * 60000) / 1000).toFixed(3)).slice(-6);
  }
  function inflate(done) {  // the records' JSON, one line each; starts[i] is where record i begins
    var node = document.getElementById("report-records"), packed = atob(node.textContent);
    var bytes = new Uint8Array(packed.length);
    node.textContent = "";
    for (var k = 0; k < packed.length; k += 1) { bytes[k] = packed.charCodeAt(k); }
    packed = null;
    new Response(new Response(bytes).body.pipeThrough(new DecompressionStream("deflate"))).text().then(function (text) {
      source = text;
      starts = lineStarts(source);
      done();
    }).catch(function (e) { body.setAttribute("data-report-state", "error: " + e); });
  }
  function lineStarts(text) {  // where each record's line begins; [count] is one past the end
    var found = new Float64Array(count + 1);
    for (var i = 1, at = 0; i < count; i += 1) { at = text.indexOf("\n", at) + 1; found[i] = at; }
    found[count] = text.length + 1;
    return found;
  }
  function record(i) {  // a record, with the latest rescan of it (nova-session scan) when there is one
    var r = JSON.parse(source.slice(starts[i], starts[i + 1] - 1));
    if (r && typeof r.id === "number" && Object.prototype.hasOwnProperty.call(data.rescans, String(r.id))) {
      r.nova_rescan = data.rescans[String(r.id)];
    }
    return r;
  }
  function owner(position, lines) {  // the record whose line holds that position
    var low = 0, high = count - 1;
    while (low < high) {
      var middle = (low + high + 1) >> 1;
      if (lines[middle] <= position) { low = middle; } else { high = middle - 1; }
    }
    return low;
  }
  function matches(q) {  // full text: the summary line and every field of the record
    // The query as the kernels write it inside a JSON string (the same escapes as JSON.stringify's).
    var result = new Uint8Array(count), needle = JSON.stringify(q).slice(1, -1), at = 0;
    if (lowered === null) {
      lowered = source.toLowerCase();  // may change lengths (U+0130): its own line starts
      lowStarts = lineStarts(lowered);
      rowText = rows.map(function (row) { return [row[2], row[5], row[8], row[9]].join(" ").toLowerCase(); });
    }
    while ((at = lowered.indexOf(needle, at)) >= 0) {
      var i = owner(at, lowStarts);
      result[i] = 1;
      at = lowStarts[i + 1];
    }
    for (var k = 0; k < count; k += 1) { if (!result[k] && rowText[k].indexOf(q) >= 0) { result[k] = 1; } }
    return result;
  }
  function fill(select, counts) {
    Object.keys(counts).forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name + " (" + counts[name] + ")";
      select.appendChild(option);
    });
  }
  function apply() {
    var t = tool.value, v = verdict.value, f = flagged.checked, q = search.value.toLowerCase();
    var found = q && source !== null ? matches(q) : null;
    visible = [];
    for (var i = 0; i < count; i += 1) {
      var row = rows[i];
      if ((!t || row[5] === t) && (!v || row[8] === v) && (!f || / (flag|err)( |$)/.test(row[0])) &&
          (!found || found[i])) { visible.push(i); }
    }
    shown.textContent = visible.length + " of " + count + " records shown";
    spacer.style.height = visible.length * H + "px";
    drawn = "";
    draw();
  }
  function draw() {
    frame = 0;
    var first = Math.max(0, Math.floor(list.scrollTop / H) - 20);
    var last = Math.min(visible.length, Math.ceil((list.scrollTop + (list.clientHeight || 600)) / H) + 20);
    var key = first + ":" + last + ":" + selected + ":" + visible.length;
    if (key === drawn) { return; }
    drawn = key;
    var fragment = document.createDocumentFragment();
    for (var k = first; k < last; k += 1) { fragment.appendChild(rowNode(visible[k], k)); }
    spacer.replaceChildren(fragment);
  }
  function rowNode(i, position) {
    var row = rows[i], node = el("div", "row " + row[0] + (i === selected ? " sel" : ""));
    node.style.top = position * H + "px";
    node.style.height = H + "px";
    node.setAttribute("data-index", String(i));
    node.appendChild(el("span", "id", row[2]));
    node.appendChild(el("span", "turn", row[3])).title = "the prompt that caused it";
    node.appendChild(el("span", "at", offset(row[4]))).title = row[4];
    node.appendChild(el("span", "title", row[5]));
    var duration = node.appendChild(el("span", "dur", row[6]));
    if (row[7]) { duration.appendChild(el("i")).style.width = row[7] + "%"; }
    node.appendChild(el("span", "verdict", row[8]));
    node.appendChild(el("span", "sum", row[9]));
    return node;
  }
  function text(value, terminal) {
    var shown = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    if (shown === undefined) { shown = String(value); }
    if (terminal) { shown = shown.replace(ANSI, "").replace(/\r\n/g, "\n"); }
    return visibleText(shown.length > LIMIT ? shown.slice(0, LIMIT) + "\n\u2026 cut (nova-session export has it all)" : shown);
  }
  function sections(r) {  // [title, value, kind?, folded?] as the report shows a record; kind true: terminal output
    if (r.type === "user_prompt" && typeof r.prompt === "string") {
      var fields = {};
      Object.keys(r).forEach(function (key) { if (key !== "prompt") { fields[key] = r[key]; } });
      return [["Prompt", r.prompt, "prose"], ["Record", fields]];
    }
    if (r.type !== "event") { return [["Record", r]]; }
    var edit = window.novaDiff.change(r), parts = edit ? [["Change", edit, "diff"], ["Input", r.tool_input, false, true]] :
      [["Input", r.tool_input]];
    var output = r.tool_output, pick = function (keys) {
      var chosen = {};
      keys.forEach(function (key) { if (Object.prototype.hasOwnProperty.call(r, key)) { chosen[key] = r[key]; } });
      return chosen;
    };
    if (r.is_error === true) { parts.push(["Error", r.error]); }
    if ((r.tool_name === "Bash" || r.tool_name === "BashOutput") && output && typeof output === "object" &&
        !Array.isArray(output) && (typeof output.stdout === "string" || typeof output.stderr === "string")) {
      var rest = {};
      Object.keys(output).forEach(function (key) {
        if ((key !== "stdout" && key !== "stderr") || typeof output[key] !== "string") { rest[key] = output[key]; }
      });
      if (typeof output.stdout === "string") { parts.push(["Output (stdout)", output.stdout, true]); }
      if (output.stderr) { parts.push(["stderr", output.stderr, true]); }
      if (Object.keys(rest).length) { parts.push(["Output fields", rest]); }
    } else {
      parts.push(["Output", output, r.tool_name === "Bash" || r.tool_name === "BashOutput",
        edit !== null && r.is_error !== true]);
    }
    if (Array.isArray(r.files_accessed) && r.files_accessed.length) { parts.push(["Files", r.files_accessed]); }
    parts.push(["Verdict", pick(["nova_verdict", "nova_severity", "nova_rules_matched", "nova_scan_time_ms"])]);
    if (r.nova_rescan && typeof r.nova_rescan === "object") {
      parts.push(["Rescan (nova-session scan, every tier)", r.nova_rescan]);
    }
    parts.push(["Timing", pick(["timestamp_start", "timestamp_end", "duration_ms"])]);
    var other = {};
    Object.keys(r).forEach(function (key) { if (SHOWN.indexOf(key) < 0) { other[key] = r[key]; } });
    if (Object.keys(other).length) { parts.push(["Other fields", other]); }
    return parts;
  }
  function partNodes(part) {  // a heading and the value as text; a folded part is a <details> to open
    var body;
    if (part[2] === "diff") { body = window.novaDiff.node(part[1]); }
    else if (part[2] === "prose") { body = el("div", "prose", text(part[1])); }
    else if (part[0] === "Files") {
      body = el("ul");
      part[1].forEach(function (name) { body.appendChild(el("li", "", text(name))); });
    } else { body = el("pre", part[2] ? "terminal" : "", text(part[1], part[2])); }
    if (!part[3]) { return [el("h3", "", part[0]), body]; }
    var fold = el("details", "raw");
    fold.appendChild(el("summary", "", part[0]));
    fold.appendChild(body);
    return [fold];
  }
  function open(i, scroll) {
    var row = rows[i], nodes = [el("h2", "", [row[2], row[5], row[4]].join(" "))];
    selected = i;
    var link = el("a", "", "#" + row[1]), copy = el("button", "", "copy link"), p = el("p", "", "Link to this record: ");
    link.href = "#" + row[1];
    copy.type = "button";
    copy.addEventListener("click", function () {
      var url = location.href.split("#")[0] + "#" + row[1];
      if (navigator.clipboard) { navigator.clipboard.writeText(url); }
    });
    p.appendChild(link);
    p.appendChild(document.createTextNode(" "));
    p.appendChild(copy);
    nodes.push(p);
    sections(record(i)).forEach(function (part) { nodes.push.apply(nodes, partNodes(part)); });
    panel.replaceChildren.apply(panel, nodes);
    panel.hidden = false;
    panel.setAttribute("data-record", row[1]);
    if (scroll) {
      var position = visible.indexOf(i);
      if (position < 0) {
        tool.value = verdict.value = search.value = "";
        flagged.checked = false;
        apply();
        position = visible.indexOf(i);
      }
      list.scrollTop = Math.max(0, position * H - list.clientHeight / 3);
    }
    drawn = "";
    draw();
  }
  function fromHash() {
    var hash = location.hash.slice(1);
    try { hash = decodeURIComponent(hash); } catch (e) { return; }
    if (hash.indexOf("search=") === 0) { search.value = hash.slice(7); apply(); }
    else if (hash === "attention") { flagged.checked = true; apply(); }
    else if (Object.prototype.hasOwnProperty.call(anchors, hash)) { open(anchors[hash], true); }
  }
  function move(delta) {  // the keyboard: select the next or previous row shown, open it, keep it in view
    if (!visible.length) { return; }
    var position = visible.indexOf(selected);
    position = position < 0 ? (delta > 0 ? 0 : visible.length - 1) : Math.max(0, Math.min(visible.length - 1, position + delta));
    var i = visible[position];
    history.replaceState(null, "", "#" + rows[i][1]);
    open(i, false);
    if (position * H < list.scrollTop) { list.scrollTop = position * H; }
    else if ((position + 1) * H > list.scrollTop + list.clientHeight) { list.scrollTop = (position + 1) * H - list.clientHeight; }
  }
  function key(event) {  // arrows and j/k move, Enter opens, Escape closes the details; never while typing
    var target = event.target, name = event.key;
    if (event.ctrlKey || event.metaKey || event.altKey || list.offsetParent === null || source === null ||
        /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) || target.isContentEditable ||
        (name === "Enter" && /^(A|BUTTON)$/.test(target.tagName)) || target.getAttribute("role") === "tab") { return; }
    if (name === "ArrowDown" || name === "j") { move(1); }
    else if (name === "ArrowUp" || name === "k") { move(-1); }
    else if (name === "Enter") { move(0); }
    else if (name === "Escape" && !panel.hidden) {
      if (panel.contains(target)) { list.focus(); }  // focus is not lost with the panel
      panel.hidden = true;
    }
    else { return; }
    event.preventDefault();
  }
  fill(tool, data.tools);
  fill(verdict, data.verdicts);
  [tool, verdict, flagged].forEach(function (control) { control.addEventListener("change", apply); });
  var typing = 0;
  search.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(apply, 150); });
  list.addEventListener("scroll", function () { if (!frame) { frame = requestAnimationFrame(draw); } });
  window.addEventListener("resize", function () { drawn = ""; draw(); });
  spacer.addEventListener("click", function (event) {
    var node = event.target.closest(".row");
    if (node) {
      var i = Number(node.getAttribute("data-index"));
      history.replaceState(null, "", "#" + rows[i][1]);
      open(i, false);
    }
  });
  document.addEventListener("keydown", key);
  window.novaReport = Object.freeze({visibleText: visibleText, el: el});  // for the views' and diffs' scripts, which follow
  if (count !== data.records) { throw new Error("embedded " + count + " of " + data.records + " records"); }
  search.disabled = true;
  apply();  // the list is drawn at once; search and details wait for the records
  body.setAttribute("data-report-state", "rows");
  body.setAttribute("data-rows-ms", String(Math.round(performance.now())));
  inflate(function () {
    search.disabled = false;
    window.addEventListener("hashchange", fromHash);
    fromHash();
    body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    body.setAttribute("data-report-state", "ready");
  });
}());
