(function () {
  "use strict";
  // The record detail panel's edits as diffs: the tool's own structuredPatch when the output has a
  // well-formed one, else a bounded line diff of the old and new text (report.js calls change and node
  // when it opens a record).
  var visibleText = window.novaReport.visibleText, el = window.novaReport.el;
  var DIFF_CELLS = 4000000, DIFF_LINES = 5000, CONTEXT = 3;  // compared line pairs; lines drawn; around changes
  var MARK = { ctx: " ", del: "-", add: "+" };
  function plain(value) { return value !== null && typeof value === "object" && !Array.isArray(value); }
  function isText(value) { return typeof value === "string"; }
  function splitLines(value) {  // a final newline ends the last line; it does not start another
    if (!isText(value) || value === "") { return []; }
    var lines = value.split("\n");
    if (lines[lines.length - 1] === "") { lines.pop(); }
    return lines;
  }
  function lineDiff(a, b, budget) {  // [[kind, line]]: a longest common subsequence of lines, within budget
    var codes = new Map(), code = function (line) {
      if (!codes.has(line)) { codes.set(line, codes.size); }
      return codes.get(line);
    };
    var x = Int32Array.from(a, code), y = Int32Array.from(b, code), ops = [];
    var start = 0, endA = a.length, endB = b.length;
    while (start < endA && start < endB && x[start] === y[start]) { start += 1; }
    while (endA > start && endB > start && x[endA - 1] === y[endB - 1]) { endA -= 1; endB -= 1; }
    var n = endA - start, m = endB - start, w = m + 1, i, j, after;
    for (i = 0; i < start; i += 1) { ops.push(["ctx", a[i]]); }
    if (n * m > budget.cells) {  // too big to compare: every old line removed, every new line added
      budget.rough = true;
      for (i = start; i < endA; i += 1) { ops.push(["del", a[i]]); }
      for (j = start; j < endB; j += 1) { ops.push(["add", b[j]]); }
    } else {  // after[i * w + j]: the length of a common subsequence of x[start + i ..] and y[start + j ..]
      budget.cells -= n * m;
      after = new Uint16Array((n + 1) * w);  // min(n, m) <= 2000 within DIFF_CELLS
      for (i = n - 1; i >= 0; i -= 1) {
        for (j = m - 1; j >= 0; j -= 1) {
          after[i * w + j] = x[start + i] === y[start + j] ? after[(i + 1) * w + j + 1] + 1 :
            Math.max(after[(i + 1) * w + j], after[i * w + j + 1]);
        }
      }
      for (i = 0, j = 0; i < n || j < m;) {
        if (i < n && j < m && x[start + i] === y[start + j]) { ops.push(["ctx", a[start + i]]); i += 1; j += 1; }
        else if (j === m || (i < n && after[(i + 1) * w + j] >= after[i * w + j + 1])) {
          ops.push(["del", a[start + i]]);
          i += 1;
        } else { ops.push(["add", b[start + j]]); j += 1; }
      }
    }
    for (i = endA; i < a.length; i += 1) { ops.push(["ctx", a[i]]); }
    return ops;
  }
  function folded(ops) {  // unchanged runs cut to CONTEXT lines around each change
    var lines = [], k = 0;
    while (k < ops.length) {
      var end = k;
      while (end < ops.length && ops[end][0] === "ctx") { end += 1; }
      var keepHead = k === 0 ? 0 : CONTEXT, keepTail = end === ops.length ? 0 : CONTEXT;
      if (end - k > keepHead + keepTail + 1) {
        lines.push.apply(lines, ops.slice(k, k + keepHead));
        lines.push(["gap", "\u22ef " + (end - k - keepHead - keepTail) + " unchanged lines"]);
        lines.push.apply(lines, ops.slice(end - keepTail, end));
      } else { lines.push.apply(lines, ops.slice(k, end)); }
      for (k = end; k < ops.length && ops[k][0] !== "ctx"; k += 1) { lines.push(ops[k]); }
    }
    return lines;
  }
  function patchLines(patch) {  // the tool's own structuredPatch, with line numbers; null unless well formed
    if (!Array.isArray(patch) || !patch.length || !patch.every(function (hunk) {
      return plain(hunk) && Array.isArray(hunk.lines) && hunk.lines.every(isText);
    })) { return null; }
    var lines = [], number = function (value) { return typeof value === "number" && isFinite(value) ? value : NaN; };
    var shown = function (value) { return isNaN(value) ? "?" : String(value); };
    patch.forEach(function (hunk) {
      var old = number(hunk.oldStart), now = number(hunk.newStart);
      lines.push(["hunk", "@@ -" + shown(old) + "," + shown(number(hunk.oldLines)) + " +" + shown(now) + "," +
        shown(number(hunk.newLines)) + " @@"]);
      hunk.lines.forEach(function (line) {
        var kind = { " ": "ctx", "-": "del", "+": "add" }[line.charAt(0)];
        if (!kind) { lines.push(["meta", line]); return; }
        lines.push([kind, line.slice(1), kind === "add" ? "" : shown(old++), kind === "del" ? "" : shown(now++)]);
      });
    });
    return lines;
  }
  function change(r) {  // the file change of an edit or write: {path, notes, lines: [[kind, text, old no, new no]]}
    var name = r.tool_name, input = plain(r.tool_input) ? r.tool_input : {};
    var output = plain(r.tool_output) ? r.tool_output : {};
    if (["Edit", "MultiEdit", "Write", "NotebookEdit"].indexOf(name) < 0) { return null; }
    var path = name === "NotebookEdit" ? input.notebook_path : input.file_path;
    var found = { path: isText(path) ? path : "(no file path)", notes: [], lines: patchLines(output.structuredPatch) };
    var budget = { cells: DIFF_CELLS, rough: false }, edits = Array.isArray(input.edits) ? input.edits : [input];
    if (r.is_error === true) { found.notes.push("The call failed: the file may not hold this change."); }
    if (found.lines) { found.notes.push("The change as the tool applied it, with the file's line numbers."); }
    else if (name === "Write") {
      if (!isText(input.content)) { return null; }
      var before = isText(output.originalFile) ? output.originalFile : "";
      found.notes.push(before ? "The file rewritten." : "The file written: every line is new.");
      found.lines = folded(lineDiff(splitLines(before), splitLines(input.content), budget));
    } else if (name === "NotebookEdit") {
      if (!isText(input.new_source) && input.edit_mode !== "delete") { return null; }
      found.notes.push("Cell " + (isText(input.cell_id) ? input.cell_id.slice(0, 200) : "?") + ", " +
        (isText(input.edit_mode) ? input.edit_mode.slice(0, 40) : "replace") + " (its old source is not recorded).");
      found.lines = input.edit_mode === "delete" ? [] : lineDiff([], splitLines(input.new_source), budget);
    } else {
      var usable = 0, add = function (line) { found.lines.push(line); };
      found.lines = [];
      edits.forEach(function (edit, k) {
        if (!plain(edit) || (!isText(edit.old_string) && !isText(edit.new_string))) {
          found.lines.push(["meta", "edit " + (k + 1) + ": no old_string or new_string recorded"]);
          return;
        }
        usable += 1;
        if (edits.length > 1 || edit.replace_all === true) {
          found.lines.push(["hunk", "@@ edit " + (k + 1) + " of " + edits.length +
            (edit.replace_all === true ? ", every occurrence" : "") + " @@"]);
        }
        folded(lineDiff(splitLines(edit.old_string), splitLines(edit.new_string), budget)).forEach(add);
      });
      if (!usable) { return null; }
    }
    if (budget.rough) { found.notes.push("Too large to compare line by line: old lines removed, new lines added."); }
    if (Array.isArray(r.truncated_fields) && r.truncated_fields.some(function (note) {
      return plain(note) && isText(note.field) && /^tool_(input|output)\b/.test(note.field);
    })) { found.notes.push("The recorder cut part of this change (see truncated_fields)."); }
    return found;
  }
  function diffNode(found) {
    var box = el("div", "diff"), lines = el("pre", "diff-lines");
    var numbered = found.lines.some(function (line) { return line.length > 2; });
    box.appendChild(el("div", "diff-file", visibleText(found.path)));
    found.notes.forEach(function (note) { box.appendChild(el("p", "diff-note", visibleText(note))); });
    found.lines.slice(0, DIFF_LINES).forEach(function (line) {
      var node = lines.appendChild(el("span", "dl d-" + line[0]));
      if (numbered) {
        node.appendChild(el("span", "ln", line.length > 2 ? String(line[2]) : ""));
        node.appendChild(el("span", "ln", line.length > 2 ? String(line[3]) : ""));
      }
      node.appendChild(document.createTextNode((MARK[line[0]] || "") + visibleText(line[1].replace(/\r/g, "\\r"))));
    });
    if (!found.lines.length) { lines.appendChild(el("span", "dl d-meta", "no line changed")); }
    box.appendChild(lines);
    if (found.lines.length > DIFF_LINES) {
      box.appendChild(el("p", "diff-note", "\u2026 " + (found.lines.length - DIFF_LINES) +
        " more lines not drawn (nova-session export has the record whole)"));
    }
    return box;
  }
  window.novaDiff = Object.freeze({change: change, node: diffNode});
}());
