// The workflow rule form: show the parameters of the chosen trigger, the value input of each condition's
// field (and only the comparisons that field allows), the inputs of each action's kind; add and remove
// rows here instead of posting the form back. Without this script the form still works: the server
// draws every state, and "Add"/"Remove" post the form and come back with the rows changed.
(function () {
  "use strict";
  const MANY = ["in", "not_in"];

  function show(el, visible) {
    el.hidden = !visible;
  }

  function refreshTrigger(form) {
    const trigger = form.querySelector("[data-role=trigger]").value;
    form.querySelectorAll("[data-trigger]").forEach((block) => show(block, block.dataset.trigger === trigger));
  }

  function refreshCondition(row) {
    const fieldSelect = row.querySelector("[data-role=field]");
    const opSelect = row.querySelector("[data-role=op]");
    const chosen = fieldSelect.selectedOptions[0];
    const field = fieldSelect.value;
    const allowed = chosen && chosen.dataset.ops ? chosen.dataset.ops.split(" ") : [];
    Array.from(opSelect.options).forEach((option) => {
      option.hidden = !allowed.includes(option.value);
      option.disabled = option.hidden;
    });
    if (allowed.length && !allowed.includes(opSelect.value)) {
      opSelect.value = allowed[0];
    }
    opSelect.disabled = !field;
    row.querySelectorAll("[data-field]").forEach((box) => show(box, box.dataset.field === field));
    show(row.querySelector("[data-takes-tag]"), field === "photo_count");
    // "is one of" takes several values: the chosen field's list becomes a multiple select.
    const many = MANY.includes(opSelect.value);
    row.querySelectorAll("select[data-many]").forEach((select) => {
      if (select.multiple !== many) {
        select.multiple = many;
        select.size = many ? Math.min(6, select.options.length) : 0;
      }
    });
  }

  function refreshAction(row) {
    const kind = row.querySelector("[data-role=kind]").value;
    const requirement = row.querySelector("[data-role=requirement]").value;
    const setField = row.querySelector("[data-role=set-field]").value;
    row.querySelectorAll("[data-kinds]").forEach((box) => {
      let visible = box.dataset.kinds.split(" ").includes(kind);
      if (visible && box.dataset.whenRequirement !== undefined) {
        visible = box.dataset.whenRequirement.split(" ").includes(requirement);
      }
      if (visible && box.dataset.whenSet !== undefined) {
        visible = box.dataset.whenSet.split(" ").includes(setField);
      }
      show(box, visible);
    });
  }

  function renumber(form) {
    form.querySelectorAll("#rule-actions [data-row=action]").forEach((row, i) => {
      const step = row.querySelector("[data-step]");
      if (step) step.textContent = `${i + 1}.`;
    });
    const conditions = form.querySelectorAll("#rule-conditions [data-row=condition]").length;
    const empty = form.querySelector("[data-empty=condition]");
    if (empty) show(empty, conditions === 0);
    form.querySelectorAll("[data-add]").forEach((button) => {
      const list = form.querySelector(`[data-rows=${button.dataset.add}]`);
      button.disabled = list.querySelectorAll("[data-row]").length >= Number(list.dataset.max);
    });
  }

  function refreshRow(row) {
    if (row.dataset.row === "condition") refreshCondition(row);
    else refreshAction(row);
  }

  function nextIndex(list) {
    let max = -1;
    list.querySelectorAll("[data-row]").forEach((row) => {
      const match = /^[ca]-(\d+)$/.exec(row.dataset.prefix);
      if (match) max = Math.max(max, Number(match[1]));
    });
    return max + 1;
  }

  function addRow(form, what) {
    const list = form.querySelector(`[data-rows=${what}]`);
    const template = document.getElementById(`${what}-template`);
    const index = nextIndex(list);
    const holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replaceAll("__i__", String(index));
    const row = holder.firstElementChild;
    list.appendChild(row);
    if (window.htmx) window.htmx.process(row);
    refreshRow(row);
    renumber(form);
    const first = row.querySelector("select");
    if (first) first.focus();
  }

  function customerPicked(select) {
    const box = select.closest(".rule-cust");
    const ids = box.querySelector("[data-role=customer-ids]");
    const names = box.querySelector("[data-role=customer-names]");
    const option = select.selectedOptions[0];
    if (!option || !option.value) return;
    const row = select.closest("[data-row]");
    const many = MANY.includes(row.querySelector("[data-role=op]").value);
    const current = ids.value.split(/[\s,;]+/).filter(Boolean);
    // data-picked: the line below already lists chosen customers (not the hint shown before any).
    if (many) {
      if (current.includes(option.value)) return;
      current.push(option.value);
      names.textContent = (names.dataset.picked ? names.textContent + ", " : "") + option.textContent;
    } else {
      current.splice(0, current.length, option.value);
      names.textContent = option.textContent;
    }
    ids.value = current.join(", ");
    names.dataset.picked = "1";
  }

  function init(form) {
    refreshTrigger(form);
    form.querySelectorAll("[data-row]").forEach(refreshRow);
    renumber(form);

    form.addEventListener("change", (event) => {
      const target = event.target;
      if (target.matches("[data-role=trigger]")) refreshTrigger(form);
      else if (target.matches("[data-role=customer-pick]")) customerPicked(target);
      else {
        const row = target.closest("[data-row]");
        if (row) refreshRow(row);
      }
    });
    form.addEventListener("click", (event) => {
      const add = event.target.closest("[data-add]");
      const remove = event.target.closest("[data-remove]");
      if (add) {
        event.preventDefault();
        addRow(form, add.dataset.add);
      } else if (remove) {
        event.preventDefault();
        remove.closest("[data-row]").remove();
        renumber(form);
      }
    });
    // Enter in the customer search looks the name up; it does not save the rule.
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches("[data-role=customer-q]")) {
        event.preventDefault();
      }
    });
    // Results of a customer search land in the select next to it: show it once it has options.
    form.addEventListener("htmx:afterSwap", (event) => {
      if (event.target.matches("[data-role=customer-pick]")) {
        show(event.target, event.target.options.length > 0);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("rule-form");
    if (form) init(form);
  });
})();
