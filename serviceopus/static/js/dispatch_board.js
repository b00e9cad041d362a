// The dispatch board, in plain JS. The server renders the day once; this file
// - lays each row's blocks out in tracks (overlapping visits stack instead of hiding each other),
// - drags: a block or a tray card dropped on a row POSTs dispatch:move (or dispatch:place_job for a
//   waiting job) with the version the page has; the server runs the same checks as everywhere else and
//   answers with the visit as it now is (200), the problems and whether this user may override (409),
//   the current state when someone else changed it first (409 "stale"), or field errors (422),
// - polls dispatch:changes with a cursor and applies each changed visit by version, so an answer read
//   twice (the poll overlaps by a second) or our own move echoed back changes nothing,
// - refreshes the exceptions panel and the red marks on blocks on every poll (time alone makes a
//   visit late), shows quick info on click or hover, filters rows by name or skill.
(() => {
  "use strict";
  const root = document.querySelector("[data-dispatch]");
  if (!root) return;

  const SNAP = 15; // minutes
  const day = root.dataset.day;
  const pollMs = Math.max(250, parseInt(root.dataset.pollMs, 10) || 5000);
  const style = getComputedStyle(root);
  const h0 = parseInt(style.getPropertyValue("--h0"), 10) || 0;
  const span = parseInt(style.getPropertyValue("--span"), 10) || 24 * 60;
  const rowsBox = root.querySelector("[data-rows]");
  const scroller = root.querySelector("[data-scroller]");
  const live = document.querySelector("[data-live]");
  const dialog = document.getElementById("conflict-dialog");
  const csrfToken = () => (root.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const urlFor = (template, id) => template.replace(/\/0\/(?=[^/]*\/?$)/, `/${id}/`);
  let cursor = root.dataset.cursor;

  // visit id → the newest version this page has shown (kept after a visit leaves the day, so an older
  // copy read again by the overlapping poll does not bring it back).
  const versions = new Map();
  root.querySelectorAll("[data-v]").forEach((el) => {
    const id = Number(el.dataset.v);
    versions.set(id, Math.max(versions.get(id) || 0, Number(el.dataset.ver)));
  });

  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (minutes) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
  const rowOf = (techId) => rowsBox.querySelector(`.drow[data-tech="${Number(techId)}"]`);
  const rowName = (techId) => {
    const row = rowOf(techId);
    return row ? row.querySelector(".n").textContent : "another technician";
  };

  function announce(text, kind) {
    if (!live) return;
    const toast = document.createElement("div");
    toast.className = `toast toast-${kind || "success"}`;
    toast.setAttribute("role", "status");
    toast.textContent = text;
    live.append(toast);
    while (live.children.length > 3) live.firstElementChild.remove();
    setTimeout(() => toast.remove(), kind === "error" ? 9000 : 5000);
  }

  function durationText(minutes) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return [h ? `${h} h` : "", m ? `${m} min` : ""].filter(Boolean).join(" ") || "—";
  }

  // ---- building blocks and tray cards from a visit's data (the same markup the server prints) -------------
  function label(v) {
    const t = document.createElement("span");
    t.className = "t";
    const b = document.createElement("b");
    b.textContent = v.number;
    if (v.locked) {
      const lock = document.createElement("span");
      lock.className = "lock";
      lock.setAttribute("role", "img");
      lock.setAttribute("aria-label", "Locked for day planning");
      lock.title = "Locked for day planning";
      lock.textContent = "🔒";
      t.append(lock);
    }
    t.append(b);
    if (v.eta) {
      const eta = document.createElement("span");
      eta.className = "eta";
      eta.textContent = `ETA ${v.eta}`;
      t.append(" ", eta);
    }
    t.append(` ${v.customer}`);
    return t;
  }

  function markExceptions(el, kinds) {
    el.classList.toggle("has-ex", kinds.length > 0);
    if (kinds.length) el.dataset.ex = kinds.join(" ");
    else delete el.dataset.ex;
  }

  function makeBlock(v, isLead) {
    const el = document.createElement("div");
    el.className = `vb st-${v.status}${isLead ? "" : " helper"}`;
    el.draggable = true;
    el.tabIndex = 0;
    el.dataset.v = v.id;
    el.dataset.ver = v.version;
    el.dataset.job = v.job;
    el.style.cssText = `--s:${v.s};--d:${v.d};--ws:${v.ws};--we:${v.we}`;
    if (v.eta) el.title = `ETA ${v.eta}`; // a short block cuts its label off
    const win = document.createElement("i");
    win.className = "win";
    el.append(win, label(v));
    markExceptions(el, v.ex || []);
    return el;
  }

  function makeTrayCard(v) {
    const el = document.createElement("div");
    el.className = `titem st-${v.status}`;
    el.draggable = true;
    el.tabIndex = 0;
    el.dataset.v = v.id;
    el.dataset.ver = v.version;
    el.dataset.job = v.job;
    el.dataset.d = v.d;
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.textContent = [v.when, durationText(v.d), v.status === "unscheduled" ? `visit ${v.visit_number}` : ""].filter(Boolean).join(" · ");
    el.append(label(v), sub);
    markExceptions(el, v.ex || []);
    return el;
  }

  // ---- layout: overlapping blocks of a row go on separate tracks ------------------------------------
  function layoutLane(lane) {
    const blocks = [...lane.querySelectorAll(".vb:not(.ghost)")];
    blocks.sort((a, b) => a.style.getPropertyValue("--s") - b.style.getPropertyValue("--s") || a.dataset.v - b.dataset.v);
    const ends = [];
    let minutes = 0;
    for (const el of blocks) {
      const s = Number(el.style.getPropertyValue("--s"));
      const d = Number(el.style.getPropertyValue("--d"));
      let track = ends.findIndex((end) => end <= s);
      if (track < 0) track = ends.push(0) - 1;
      ends[track] = s + d;
      el.style.setProperty("--track", track);
      minutes += d;
    }
    lane.style.setProperty("--tracks", Math.max(1, ends.length));
    const load = lane.parentElement.querySelector("[data-load]");
    if (load) load.textContent = minutes ? `${(Math.round(minutes / 6) / 10).toString()} h` : "";
  }

  function refreshTrayCounts() {
    root.querySelectorAll("[data-tray-list]").forEach((list) => {
      const count = root.querySelector(`[data-count-for="${list.dataset.trayList}"]`);
      if (count) count.textContent = list.children.length;
    });
  }

  // ---- applying a visit's state -------------------------------------------------------------------
  // Put the visit where its data says: each crew member's row, the tray, or nowhere (another day,
  // cancelled). Returns the lanes it touched.
  function place(v) {
    const touched = new Set();
    root.querySelectorAll(`[data-v="${v.id}"]`).forEach((el) => {
      const lane = el.closest("[data-lane]");
      if (lane) touched.add(lane);
      el.remove();
    });
    const job = root.querySelector(`[data-tray-list="jobs"] [data-job="${v.job}"]`);
    if (job) job.remove(); // it has a visit now
    if (v.status === "cancelled") {
      // gone
    } else if (v.status === "unscheduled") {
      root.querySelector('[data-tray-list="drafts"]').append(makeTrayCard(v));
    } else if (v.day === day) {
      const crew = v.lead ? [v.lead, ...v.helpers] : [];
      if (!crew.length && v.status !== "completed") root.querySelector('[data-tray-list="unassigned"]').append(makeTrayCard(v));
      crew.forEach((techId) => {
        const row = rowOf(techId);
        if (!row) return; // an inactive technician, or filtered out by the server
        const lane = row.querySelector("[data-lane]");
        lane.append(makeBlock(v, techId === v.lead));
        touched.add(lane);
      });
    }
    touched.forEach(layoutLane);
    refreshTrayCounts();
    return touched;
  }

  // Apply a visit from the poll, only if it is newer than what the page shows.
  function apply(v) {
    const known = versions.get(v.id);
    if (known !== undefined && v.version <= known) return false;
    versions.set(v.id, v.version);
    place(v);
    return true;
  }

  // The server's answer to our own write always wins (it is the newest state).
  function force(v) {
    if (!v) return;
    versions.set(v.id, Math.max(v.version, versions.get(v.id) || 0));
    place(v);
  }

  // ---- exceptions ---------------------------------------------------------------------------------
  function renderExceptions(items, counts) {
    const byVisit = new Map();
    items.forEach((e) => byVisit.set(e.visit, [...(byVisit.get(e.visit) || []), e.kind]));
    root.querySelectorAll(".has-ex").forEach((el) => {
      if (!byVisit.has(Number(el.dataset.v))) markExceptions(el, []);
    });
    byVisit.forEach((kinds, id) => root.querySelectorAll(`[data-v="${id}"]`).forEach((el) => markExceptions(el, kinds)));

    const list = root.querySelector("[data-ex-list]");
    const rows = items.map((e) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "ex-item";
      button.dataset.focus = e.visit;
      const tag = document.createElement("span");
      tag.className = `ek k-${e.kind}`;
      tag.textContent = e.label;
      const b = document.createElement("b");
      b.textContent = e.number;
      const sub = document.createElement("span");
      sub.className = "sub";
      sub.textContent = e.message;
      button.append(tag, " ", b, ` ${e.customer}`, sub);
      li.append(button);
      return li;
    });
    if (!rows.length) {
      const li = document.createElement("li");
      li.className = "muted ex-none";
      li.textContent = "None — every visit is on track.";
      rows.push(li);
    }
    list.replaceChildren(...rows);
    const total = root.querySelector("[data-ex-total]");
    total.textContent = items.length;
    total.classList.toggle("pill-ok", items.length === 0);
    root.querySelector("[data-ex-counts]").replaceChildren(
      ...counts.map((c) => {
        const span = document.createElement("span");
        span.className = `ek k-${c.kind}`;
        span.textContent = `${c.label} ${c.count}`;
        return span;
      }),
    );
  }

  function focusVisit(id) {
    const el = rowsBox.querySelector(`[data-v="${id}"]`) || root.querySelector(`[data-v="${id}"]`);
    if (!el) return false;
    const row = el.closest(".drow");
    if (row && row.hidden) row.hidden = false;
    el.scrollIntoView({ block: "center", inline: "center", behavior: "smooth" });
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
    el.focus({ preventScroll: true });
    return true;
  }

  root.addEventListener("click", (event) => {
    const item = event.target.closest("[data-focus]");
    if (item) focusVisit(item.dataset.focus);
  });

  // ---- live updates -------------------------------------------------------------------------------
  const nowLine = root.querySelector("[data-now]");
  function showNow(minute) {
    if (!nowLine) return;
    nowLine.hidden = !(minute >= h0 && minute <= h0 + span);
    nowLine.style.setProperty("--now", minute);
  }
  if (nowLine) showNow(Number(nowLine.style.getPropertyValue("--now")));

  let polling = true;
  // The server recomputes the day's exceptions when something changed; with no change, only when
  // asked, which the board does every EXCEPTIONS_MS (time alone makes a visit at risk or late).
  const EXCEPTIONS_MS = 30000;
  let exceptionsAt = Date.now();
  async function poll() {
    if (!polling) return;
    try {
      const wantExceptions = Date.now() - exceptionsAt >= EXCEPTIONS_MS ? "&exceptions=1" : "";
      const response = await fetch(`${root.dataset.changesUrl}?day=${encodeURIComponent(day)}&since=${encodeURIComponent(cursor)}${wantExceptions}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.status === 403) {
        polling = false;
        return;
      }
      if (response.ok && (response.headers.get("content-type") || "").includes("json")) {
        const data = await response.json();
        if (data.reload) {
          window.location.reload();
          return;
        }
        data.visits.forEach(apply);
        if (data.exceptions) {
          renderExceptions(data.exceptions, data.counts);
          exceptionsAt = Date.now();
        }
        showNow(data.now);
        cursor = data.cursor;
        root.dataset.cursor = cursor;
        root.dataset.polled = String(Number(root.dataset.polled || 0) + 1);
      }
    } catch (err) {
      // Offline for a moment: try again at the next tick.
    }
    setTimeout(poll, pollMs);
  }
  setTimeout(poll, pollMs);

  // ---- filter rows --------------------------------------------------------------------------------
  const nameFilter = document.querySelector("[data-filter-name]");
  const skillFilter = document.querySelector("[data-filter-skill]");
  function filterRows() {
    const text = (nameFilter.value || "").trim().toLowerCase();
    const skill = skillFilter.value;
    rowsBox.querySelectorAll(".drow").forEach((row) => {
      const byName = !text || row.dataset.name.includes(text);
      const bySkill = !skill || row.dataset.skills.split(" ").includes(skill);
      row.hidden = !(byName && bySkill);
    });
  }
  if (nameFilter) nameFilter.addEventListener("input", filterRows);
  if (skillFilter) skillFilter.addEventListener("change", filterRows);

  // ---- quick info ---------------------------------------------------------------------------------
  const popover = document.getElementById("popover");
  let hoverTimer = null;
  let quickFor = null;

  function placePopover(anchor) {
    const rect = anchor.getBoundingClientRect();
    const width = popover.offsetWidth || 340;
    const height = popover.offsetHeight || 240;
    let left = Math.min(rect.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - width - 8);
    left = Math.max(8 + window.scrollX, left);
    let top = rect.bottom + window.scrollY + 6;
    if (rect.bottom + height + 12 > window.innerHeight && rect.top > height + 12) top = rect.top + window.scrollY - height - 6;
    popover.style.left = `${left}px`;
    popover.style.top = `${top}px`;
  }

  async function showQuick(el) {
    if (!popover) return;
    const id = el.dataset.v;
    quickFor = id;
    try {
      const response = await fetch(urlFor(root.dataset.quickUrl, id), { credentials: "same-origin" });
      if (!response.ok || quickFor !== id) return;
      popover.innerHTML = await response.text();
      popover.hidden = false;
      popover.dataset.visit = id;
      placePopover(el);
    } catch (err) {
      // no popover this time
    }
  }
  function hideQuick() {
    quickFor = null;
    if (popover) popover.hidden = true;
  }

  root.addEventListener("click", (event) => {
    const el = event.target.closest(".vb[data-v], .titem[data-v]");
    if (el) showQuick(el);
  });
  root.addEventListener("keydown", (event) => {
    const el = event.target.closest && event.target.closest(".vb[data-v], .titem[data-v]");
    if (el && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      showQuick(el);
    }
  });
  rowsBox.addEventListener("mouseover", (event) => {
    const el = event.target.closest(".vb[data-v]");
    clearTimeout(hoverTimer);
    if (el && !dragging) hoverTimer = setTimeout(() => showQuick(el), 600);
  });
  rowsBox.addEventListener("mouseout", () => clearTimeout(hoverTimer));
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-popover-close]")) hideQuick();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideQuick();
  });

  // ---- drag and drop ------------------------------------------------------------------------------
  let dragging = null; // { el, visit, job, fromTech, grab (minutes from the block's start), d }
  let ghost = null;

  function minuteAt(lane, clientX) {
    const rect = lane.getBoundingClientRect();
    const raw = h0 + ((clientX - rect.left) / rect.width) * span - (dragging ? dragging.grab : 0);
    const snapped = Math.round(raw / SNAP) * SNAP;
    return Math.max(0, Math.min(24 * 60 - SNAP, snapped));
  }

  function showGhost(lane, minute, d) {
    if (!ghost) {
      ghost = document.createElement("div");
      ghost.className = "vb ghost";
      ghost.innerHTML = '<span class="drop-time"></span>';
    }
    if (ghost.parentElement !== lane) lane.append(ghost);
    ghost.style.cssText = `--s:${minute};--d:${d};--track:0`;
    ghost.querySelector(".drop-time").textContent = hhmm(minute);
  }
  function clearGhost() {
    if (ghost) ghost.remove();
    ghost = null;
    root.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  }

  root.addEventListener("dragstart", (event) => {
    const el = event.target.closest && event.target.closest("[data-v], [data-job]");
    if (!el || !root.contains(el)) return;
    const lane = el.closest("[data-lane]");
    let grab = 0;
    if (lane) {
      const rect = el.getBoundingClientRect();
      grab = Math.max(0, ((event.clientX - rect.left) / lane.getBoundingClientRect().width) * span);
    }
    const d = lane ? Number(el.style.getPropertyValue("--d")) : Number(el.dataset.d) || 60;
    dragging = {
      el,
      visit: el.dataset.v ? Number(el.dataset.v) : null,
      job: el.dataset.v ? null : Number(el.dataset.job),
      fromTech: lane ? Number(lane.closest("[data-tech]").dataset.tech) : null,
      grab,
      d,
    };
    hideQuick();
    clearTimeout(hoverTimer);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", el.dataset.v || `job-${el.dataset.job}`);
    requestAnimationFrame(() => el.classList.add("dragging"));
  });
  root.addEventListener("dragend", () => {
    if (dragging) dragging.el.classList.remove("dragging");
    dragging = null;
    if (ghost && !ghost.classList.contains("saving")) clearGhost();
  });
  root.addEventListener("dragover", (event) => {
    const lane = event.target.closest && event.target.closest("[data-lane]");
    if (!lane || !dragging) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    root.querySelectorAll(".drop-target").forEach((el) => el !== lane && el.classList.remove("drop-target"));
    lane.classList.add("drop-target");
    showGhost(lane, minuteAt(lane, event.clientX), dragging.d);
  });
  root.addEventListener("dragleave", (event) => {
    const lane = event.target.closest && event.target.closest("[data-lane]");
    if (lane && !lane.contains(event.relatedTarget)) {
      lane.classList.remove("drop-target");
      if (ghost && ghost.parentElement === lane && !ghost.classList.contains("saving")) clearGhost();
    }
  });
  root.addEventListener("drop", (event) => {
    const lane = event.target.closest && event.target.closest("[data-lane]");
    if (!lane || !dragging) return;
    event.preventDefault();
    const drop = { ...dragging, toTech: Number(lane.closest("[data-tech]").dataset.tech), minute: minuteAt(lane, event.clientX) };
    dragging.el.classList.remove("dragging");
    dragging = null;
    showGhost(lane, drop.minute, drop.d);
    submitDrop(drop, "");
  });

  // Dropping a block on the tray takes that technician off the visit (it keeps its time).
  const tray = root.querySelector("[data-tray]");
  if (tray) {
    tray.addEventListener("dragover", (event) => {
      if (!dragging || !dragging.visit || !dragging.fromTech) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      tray.classList.add("drop-target");
    });
    tray.addEventListener("dragleave", (event) => {
      if (!tray.contains(event.relatedTarget)) tray.classList.remove("drop-target");
    });
    tray.addEventListener("drop", async (event) => {
      tray.classList.remove("drop-target");
      if (!dragging || !dragging.visit || !dragging.fromTech) return;
      event.preventDefault();
      event.stopPropagation();
      const drop = dragging;
      drop.el.classList.remove("dragging");
      dragging = null;
      const body = new FormData();
      body.append("version", versions.get(drop.visit) || drop.el.dataset.ver);
      body.append("from_tech", drop.fromTech);
      body.append("unassign", "1");
      const what = drop.el.querySelector("b") ? drop.el.querySelector("b").textContent : "The visit";
      let response = null;
      let data = {};
      try {
        response = await fetch(urlFor(root.dataset.moveUrl, drop.visit), {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        });
        data = await response.json();
      } catch (err) {
        data = {};
      }
      if (response && response.ok && data.visit) {
        force(data.visit);
        announce(`${what}: ${rowName(drop.fromTech)} taken off the visit.`);
        return;
      }
      if (data.visit) force(data.visit);
      announce(`${what} was not changed: ${data.message || "the server could not be reached"}`, "error");
    });
  }

  // Quick info's "Move to…" form: what a drag does, from the keyboard (same endpoint, same checks).
  if (popover) {
    popover.addEventListener("submit", (event) => {
      const form = event.target.closest && event.target.closest("[data-move-form]");
      if (!form) return;
      event.preventDefault();
      const id = Number(form.dataset.visit);
      const el = root.querySelector(`[data-v="${id}"]`);
      const [h, m] = (form.elements.start.value || "").split(":").map(Number);
      if (!el || Number.isNaN(h) || Number.isNaN(m)) {
        announce("Choose a technician and a time.", "error");
        return;
      }
      hideQuick();
      const fromTech = form.dataset.from ? Number(form.dataset.from) : null;
      submitDrop({ el, visit: id, job: null, fromTech, toTech: Number(form.elements.to_tech.value), minute: h * 60 + m, d: Number(form.dataset.d) }, "");
    });
  }

  // POST the drop; `reason` is a manager's override reason (second attempt after a conflict).
  async function submitDrop(drop, reason) {
    const body = new FormData();
    body.append("start", `${day}T${hhmm(drop.minute)}`);
    body.append("to_tech", drop.toTech);
    if (drop.fromTech) body.append("from_tech", drop.fromTech);
    if (reason) body.append("override_reason", reason);
    let url;
    if (drop.visit) {
      body.append("version", versions.get(drop.visit) || drop.el.dataset.ver);
      url = urlFor(root.dataset.moveUrl, drop.visit);
    } else {
      url = urlFor(root.dataset.placeUrl, drop.job);
    }
    const what = drop.el.querySelector("b") ? drop.el.querySelector("b").textContent : "The visit";
    if (ghost) ghost.classList.add("saving");
    let response = null;
    let data = {};
    try {
      response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
      data = await response.json();
    } catch (err) {
      data = {};
    }
    clearGhost();
    if (response && response.ok && data.visit) {
      force(data.visit);
      const v = data.visit;
      announce(`${v.number} ${drop.visit ? "moved" : "scheduled"}: ${rowName(drop.toTech)} at ${v.when}.`);
      const moved = rowsBox.querySelector(`.drow[data-tech="${drop.toTech}"] [data-v="${v.id}"]`);
      if (moved) moved.classList.add("flash");
      return;
    }
    if (response && response.status === 409 && data.problems) {
      askOverride(drop, what, data);
      return;
    }
    if (response && response.status === 409 && data.visit) {
      force(data.visit); // someone else changed it first: show it as it is now
      announce(`${what}: ${data.message} The board shows it as it is now.`, "error");
      return;
    }
    const fields = data.fields ? Object.values(data.fields).join(" ") : "";
    const message = data.message ? `${data.message} ${fields}`.trim() : response ? `error ${response.status}` : "the server could not be reached";
    announce(`${what} was not moved: ${message}`, "error");
  }

  function askOverride(drop, what, data) {
    if (!dialog || typeof dialog.showModal !== "function") {
      announce(`${what} was not moved: ${data.message}`, "error");
      return;
    }
    dialog.querySelector("[data-conflict-what]").textContent = what;
    dialog.querySelector("[data-conflict-message]").textContent = `Dropped on ${rowName(drop.toTech)} at ${hhmm(drop.minute)}. These checks failed:`;
    dialog.querySelector("[data-conflict-problems]").replaceChildren(
      ...data.problems.map((p) => {
        const li = document.createElement("li");
        li.textContent = p.message;
        return li;
      }),
    );
    if (data.message.startsWith("Only a manager")) {
      const li = document.createElement("li");
      li.textContent = "Only a manager may override.";
      dialog.querySelector("[data-conflict-problems]").append(li);
    }
    const reason = dialog.querySelector("textarea[name=override_reason]");
    reason.value = "";
    dialog.querySelector("[data-override]").hidden = !data.can_override;
    dialog.querySelector("[data-override-button]").hidden = !data.can_override;
    dialog.querySelector("[data-no-override]").hidden = data.can_override;
    reason.required = false;
    dialog.returnValue = "";
    const onClose = () => {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "override" && reason.value.trim()) submitDrop(drop, reason.value.trim());
      else announce(`${what} stays where it was.`, "warning");
    };
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    if (data.can_override) reason.focus();
  }
  // An override needs a reason: keep the dialog open until one is typed.
  if (dialog) {
    dialog.querySelector("[data-override-button]").addEventListener("click", (event) => {
      const reason = dialog.querySelector("textarea[name=override_reason]");
      if (!reason.value.trim()) {
        event.preventDefault();
        reason.setCustomValidity("Say why these checks may be overridden.");
        reason.reportValidity();
      }
    });
    dialog.querySelector("textarea[name=override_reason]").addEventListener("input", (event) => event.target.setCustomValidity(""));
  }

  // ---- start-up -----------------------------------------------------------------------------------
  rowsBox.querySelectorAll("[data-lane]").forEach(layoutLane);
  const focus = new URLSearchParams(window.location.search).get("focus");
  if (focus) focusVisit(focus);
  else if (nowLine && !nowLine.hidden && scroller) {
    // Today: start scrolled so that the current hour is in view.
    const lane = rowsBox.querySelector("[data-lane]");
    if (lane) scroller.scrollLeft = Math.max(0, ((Number(nowLine.style.getPropertyValue("--now")) - h0) / span) * lane.offsetWidth - 120);
  }
  root.dataset.ready = "true";
})();
