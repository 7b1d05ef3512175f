// The segment builder: a tree of AND/OR groups and conditions, kept as JSON in the hidden #id_definition.
// The fields, operators and choices come from the server's condition registry (#segment-fields), so a
// condition another app registers shows up here with no change to this file. Every change fires
// "definition-changed", on which htmx asks the server for the live count.
(function () {
  const root = document.getElementById("segment-builder");
  if (!root) return;
  const fields = JSON.parse(document.getElementById("segment-fields").textContent);
  const t = JSON.parse(document.getElementById("builder-strings").textContent);
  const hidden = document.getElementById("id_definition");
  const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
  let state = JSON.parse(document.getElementById("segment-definition").textContent || "{}");
  if (!state || !state.op) state = { op: "and", conditions: [] };

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    children.forEach((c) => node.appendChild(c));
    return node;
  }

  function changed() {
    hidden.value = JSON.stringify(state);
    document.body.dispatchEvent(new CustomEvent("definition-changed", { bubbles: true }));
  }

  function rerender() {
    root.replaceChildren(renderGroup(state, null));
    changed();
  }

  function defaultValue(field, op) {
    const shape = field.operators.find((o) => o.key === op).value;
    if (shape === "none") return null;
    if (shape === "list") return [];
    if (shape === "pair") return ["", ""];
    return "";
  }

  function newCondition() {
    const field = fields[0];
    const op = field.operators[0].key;
    return { field: field.key, operator: op, value: defaultValue(field, op) };
  }

  function renderGroup(group, parent) {
    const box = el("div", { class: "builder-group", "data-op": group.op });
    const op = el("select", { class: "group-op", onchange: (e) => { group.op = e.target.value; changed(); } }, [
      el("option", { value: "and", text: t.all }), el("option", { value: "or", text: t.any }),
    ]);
    op.value = group.op;
    const head = el("div", { class: "builder-head" }, [op]);
    if (parent) {
      head.appendChild(el("button", { type: "button", class: "button link remove-group", text: t.remove,
        onclick: () => { parent.conditions.splice(parent.conditions.indexOf(group), 1); rerender(); } }));
    }
    box.appendChild(head);
    group.conditions.forEach((child) => {
      box.appendChild("op" in child ? renderGroup(child, group) : renderCondition(child, group));
    });
    box.appendChild(el("div", { class: "builder-actions" }, [
      el("button", { type: "button", class: "button add-condition", text: t.addCondition,
        onclick: () => { group.conditions.push(newCondition()); rerender(); } }),
      el("button", { type: "button", class: "button add-group", text: t.addGroup,
        onclick: () => { group.conditions.push({ op: "and", conditions: [newCondition()] }); rerender(); } }),
    ]));
    return box;
  }

  function renderCondition(cond, group) {
    const field = byKey[cond.field] || fields[0];
    const row = el("div", { class: "builder-condition", "data-field": field.key });
    const fieldSelect = el("select", { class: "cond-field", onchange: (e) => {
      const f = byKey[e.target.value];
      cond.field = f.key; cond.operator = f.operators[0].key; cond.value = defaultValue(f, cond.operator);
      rerender();
    } });
    const groups = {};
    fields.forEach((f) => {
      if (!groups[f.group]) { groups[f.group] = el("optgroup", { label: f.group }); fieldSelect.appendChild(groups[f.group]); }
      groups[f.group].appendChild(el("option", { value: f.key, text: f.label }));
    });
    fieldSelect.value = field.key;
    const opSelect = el("select", { class: "cond-operator", onchange: (e) => {
      cond.operator = e.target.value; cond.value = defaultValue(field, cond.operator); rerender();
    } }, field.operators.map((o) => el("option", { value: o.key, text: o.label })));
    opSelect.value = cond.operator;
    row.append(fieldSelect, opSelect, renderValue(cond, field));
    row.appendChild(el("button", { type: "button", class: "button link remove-condition", text: t.remove,
      onclick: () => { group.conditions.splice(group.conditions.indexOf(cond), 1); rerender(); } }));
    return row;
  }

  function inputType(field, shape) {
    if (shape === "days") return "number";
    if (field.kind === "date") return "date";
    if (field.kind === "number") return "number";
    return "text";
  }

  function renderValue(cond, field) {
    const shape = field.operators.find((o) => o.key === cond.operator).value;
    const wrap = el("span", { class: "cond-value" });
    const set = (v) => { cond.value = v; changed(); };
    const num = (v) => (v === "" ? "" : (field.integer || shape === "days" ? parseInt(v, 10) : v));
    if (shape === "none") return wrap;
    if (shape === "list" && field.choices && field.closed) {
      const select = el("select", { multiple: "multiple", class: "cond-input", size: Math.min(6, field.choices.length || 1),
        onchange: (e) => set(Array.from(e.target.selectedOptions).map((o) => field.choices.find((c) => String(c[0]) === o.value)[0])) },
        field.choices.map(([value, label]) => el("option", { value: String(value), text: label })));
      Array.from(select.options).forEach((o) => { o.selected = (cond.value || []).map(String).includes(o.value); });
      wrap.appendChild(select);
      return wrap;
    }
    if (shape === "list") {
      const listId = `choices-${field.key}`;
      const input = el("input", { type: "text", class: "cond-input", list: listId, placeholder: t.commaHint,
        value: (cond.value || []).join(","),
        oninput: (e) => set(e.target.value.split(/[,，]/).map((s) => s.trim()).filter(Boolean)) });
      wrap.appendChild(input);
      if (field.choices) wrap.appendChild(el("datalist", { id: listId }, field.choices.map(([v]) => el("option", { value: v }))));
      return wrap;
    }
    const type = inputType(field, shape);
    if (shape === "pair") {
      const pair = Array.isArray(cond.value) ? cond.value : ["", ""];
      [0, 1].forEach((i) => wrap.appendChild(el("input", { type, class: "cond-input", value: pair[i] ?? "",
        oninput: (e) => { pair[i] = type === "number" ? num(e.target.value) : e.target.value; set(pair); } })));
      return wrap;
    }
    wrap.appendChild(el("input", { type, class: "cond-input", value: cond.value ?? "",
      oninput: (e) => set(type === "number" ? num(e.target.value) : e.target.value) }));
    return wrap;
  }

  rerender();
  // This script runs before htmx has wired #live-count up (both are deferred; htmx waits for DOMContentLoaded),
  // so the event of that first render reaches no listener: ask again once the page has loaded.
  window.addEventListener("load", changed);
})();
